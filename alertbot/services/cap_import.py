"""A CAP 1.2 message from another system (a detector, the gas company's SCADA, the provincial platform) as
alertbot's warning or follow-up, under an API key's official and the usual rules.

Its areas map to districts by geocode (`[[districts]] geocode`, any valueName) or by district name in
`areaDesc`; an area that maps to none is refused, naming it. Its `<info>` in Chinese and in English become the
texts of each language (one of them serves both when the other is missing). An Alert becomes a warning with the
generic imported template; an Update or Cancel that references a message alertbot sent (or imported) becomes its
follow-up (Update, All clear for responseType AllClear, Sent in error for a Cancel). Test, System and Draft
messages, Acks and Errors are recorded and never sent; each (sender, identifier) is acted on once.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Literal

from alertbot.content import cap
from alertbot.core.domain import LANGUAGES, Broadcast, Language, Severity
from alertbot.core.errors import AlertError
from alertbot.services.alerts import FOLLOW_UP_TEMPLATES, AlertService, Preview
from alertbot.services.cap_export import IMPORTED_TEMPLATE, CapExporter
from alertbot.services.districts import DistrictDirectory
from alertbot.services.drafts import AlertDraft
from alertbot.storage.api import CapImportRepository

Mode = Literal["draft", "send"]
Outcome = Literal["queued", "pending_approval", "draft", "not_sent", "duplicate"]
NOT_FOR_THE_PUBLIC = ("Test", "System", "Draft")
SEVERITIES = {"Extreme": Severity.EXTREME, "Severe": Severity.SEVERE, "Moderate": Severity.MODERATE,
              "Minor": Severity.MINOR}  # fmt: skip
DraftOffer = Callable[[int, AlertDraft], Awaitable[Preview]]
"""Shows a draft to an official in the chat, with the preview and the confirm buttons (the Telegram layer)."""


class CapImportError(AlertError):
    """A valid CAP message alertbot cannot act on: `element` names what."""

    key = "cap-import-refused"

    def __init__(self, element: str, problem: str) -> None:
        super().__init__(f"{element}: {problem}", element=element, problem=problem)
        self.element, self.problem = element, problem


@dataclass(frozen=True)
class ImportResult:
    outcome: Outcome
    broadcast: Broadcast | None = None
    preview: Preview | None = None
    reason: str | None = None
    notes: list[str] = field(default_factory=list)


class CapImporter:
    def __init__(
        self,
        alerts: AlertService,
        exporter: CapExporter,
        districts: DistrictDirectory,
        imports: CapImportRepository,
        offer: DraftOffer | None = None,
    ) -> None:
        self._alerts = alerts
        self._exporter = exporter
        self._districts = districts
        self._imports = imports
        self.offer = offer  # set by the app once the bot exists

    async def import_alert(self, alert: cap.Alert, *, official_id: int, mode: Mode, key_name: str) -> ImportResult:
        """Act on the message once: draft, queue (or ask for approval), or record it as not for the public."""
        if not await self._imports.claim(alert.sender, alert.identifier, cap.format_datetime(alert.sent), key_name):
            earlier = await self._imports.get(alert.sender, alert.identifier)
            broadcast = await self._alerts.get(earlier.broadcast_id) if earlier and earlier.broadcast_id else None
            return ImportResult("duplicate", broadcast, reason=earlier.outcome if earlier else None)
        try:
            result = await self._act(alert, official_id, mode)
        except BaseException:
            await self._imports.release(alert.sender, alert.identifier)  # nothing made: it may come again
            raise
        broadcast_id = result.broadcast.id if result.broadcast else None
        await self._imports.settle(alert.sender, alert.identifier, result.outcome, broadcast_id)
        return result

    async def _act(self, alert: cap.Alert, official_id: int, mode: Mode) -> ImportResult:
        if alert.status in NOT_FOR_THE_PUBLIC:
            return ImportResult("not_sent", reason=f"status {alert.status}: never sent to the public")
        if alert.msg_type in ("Ack", "Error"):
            return ImportResult("not_sent", reason=f"msgType {alert.msg_type}: nothing to send")
        draft = await self.draft(alert, official_id)
        if mode == "draft":
            if self.offer is None:
                raise CapImportError("alert", "drafts are shown in the chat, which this process does not run")
            return ImportResult("draft", preview=await self.offer(official_id, draft))
        confirmation = await self._alerts.confirm(official_id, draft, force_duplicate=True)
        return ImportResult(
            "queued" if confirmation.outcome == "queued" else "pending_approval", confirmation.broadcast
        )

    async def draft(self, alert: cap.Alert, official_id: int) -> AlertDraft:
        """The warning or follow-up draft this message asks for (checked again, fully, by preview/confirm)."""
        infos = self._infos(alert)
        exercise = alert.status == "Exercise"
        if alert.msg_type in ("Update", "Cancel"):
            return await self._follow_up(alert, infos, official_id)
        first_index, first = next(iter(infos.values()))
        severity = SEVERITIES.get(first.severity)
        if severity is None:
            raise CapImportError(f"alert/info[{first_index}]/severity", f"{first.severity} cannot be sent as a warning")
        return AlertDraft(
            IMPORTED_TEMPLATE, variables=self._texts(infos), districts=self._areas(alert), severity=severity,
            exercise=exercise, origin=_reference(alert),
        )  # fmt: skip

    @staticmethod
    def _texts(infos: dict[Language, tuple[int, cap.Info]]) -> dict[str, str]:
        """The imported template's variables: each language's texts (one serving both when the other is
        missing), and the message's CAP codes as they came."""
        variables: dict[str, str] = {}
        for language in LANGUAGES:
            _, info = infos.get(language) or next(iter(infos.values()))
            variables[f"headline_{language}"] = info.headline or info.event
            variables[f"description_{language}"] = info.description or ""
            variables[f"instruction_{language}"] = info.instruction or ""
        _, first = next(iter(infos.values()))
        variables |= {
            "contact": first.contact or "", "sender_name": first.sender_name or "", "event": first.event,
            "category": " ".join(first.categories), "response_type": " ".join(first.response_types),
            "urgency": first.urgency, "certainty": first.certainty,
        }  # fmt: skip
        return variables

    async def _follow_up(
        self, alert: cap.Alert, infos: dict[Language, tuple[int, cap.Info]], official_id: int
    ) -> AlertDraft:
        """A Cancel is Sent in error (the warning withdrawn, the standard correction sent); an Update (All clear
        included) says the message's own texts to those the warning reached."""
        original = await self._referenced(alert)
        template = "sent_in_error" if alert.msg_type == "Cancel" else "update"
        assert template in FOLLOW_UP_TEMPLATES
        draft = await self._alerts.follow_up_draft(official_id, original.id, template)  # (checks scope)
        if template == "sent_in_error":
            return AlertDraft(draft.template_id, follows_id=draft.follows_id, origin=_reference(alert))
        return AlertDraft(IMPORTED_TEMPLATE, self._texts(infos), follows_id=draft.follows_id, origin=_reference(alert))

    async def _referenced(self, alert: cap.Alert) -> Broadcast:
        """The warning the message follows up on: the latest referenced message alertbot sent or imported."""
        imported = await self._imports.broadcasts_of([(r.sender, r.identifier) for r in alert.references])
        for reference in reversed(alert.references):
            broadcast_id = self._exporter.broadcast_id(reference.sender, reference.identifier)
            if broadcast_id is None:
                broadcast_id = imported.get((reference.sender, reference.identifier))
            broadcast = await self._alerts.get(broadcast_id) if broadcast_id is not None else None
            if broadcast is not None:
                if broadcast.follows_id is not None:  # a follow-up of it: follow up on the warning itself
                    original = await self._alerts.get(broadcast.follows_id)
                    assert original is not None
                    return original
                return broadcast
        raise CapImportError("alert/references", "references no message alertbot sent or imported")

    def _infos(self, alert: cap.Alert) -> dict[Language, tuple[int, cap.Info]]:
        """The first info of each of alertbot's languages (zh-*, en-*), with its 1-based position."""
        found: dict[Language, tuple[int, cap.Info]] = {}
        for index, info in enumerate(alert.infos, start=1):
            primary = info.language.split("-")[0].lower()
            if primary in LANGUAGES:
                found.setdefault(primary, (index, info))
        if not found:
            where = "alert/info[1]/language" if alert.infos else "alert/info"
            languages = ", ".join(i.language for i in alert.infos) or "none"
            raise CapImportError(where, f"no <info> in Chinese or English (languages: {languages})")
        return found

    def _areas(self, alert: cap.Alert) -> tuple[str, ...]:
        """The districts of every area of every info; an area naming none is refused."""
        by_geocode = {d.geocode: d.id for d in self._districts if d.geocode}
        found: list[str] = []
        for i, info in enumerate(alert.infos, start=1):
            if info.language.split("-")[0].lower() not in LANGUAGES:
                continue
            if not info.areas:
                raise CapImportError(f"alert/info[{i}]/area", "a warning needs at least one area")
            for a, area in enumerate(info.areas, start=1):
                matches = [by_geocode[g.value] for g in area.geocodes if g.value in by_geocode]
                if not matches:
                    named = self._districts.find(area.description)
                    matches = [named] if named else []
                if not matches:
                    raise CapImportError(
                        f"alert/info[{i}]/area[{a}]",
                        f"{area.description!r} is none of the configured districts (by geocode or name)",
                    )
                found.extend(d for d in matches if d not in found)
        return tuple(d for d in self._districts.ids if d in found)


def _reference(alert: cap.Alert) -> str:
    return f"{alert.sender},{alert.identifier},{cap.format_datetime(alert.sent)}"
