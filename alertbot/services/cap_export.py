"""A warning or follow-up as a CAP 1.2 alert: what other warning systems and aggregators read.

One `<info>` per language with the texts as they were sent (the system's exercise banner and severity label
taken off, Telegram's markup turned into plain text): the first line is the headline, the bullet points the
instruction, the rest the description. A warning made from a CAP message gives back its own headline,
description and instruction. One `<area>` per district, with its geocode. Follow-ups are an Update (All clear
with responseType AllClear) or a Cancel (Sent in error), referencing the warning and its earlier follow-ups.
"""

from __future__ import annotations

import html
import re
from datetime import datetime

from alertbot.config import AppConfig
from alertbot.content import cap
from alertbot.content.i18n import Translator
from alertbot.content.templates import MessageTemplates, TemplateSpec
from alertbot.core.domain import LANGUAGES, Broadcast, BroadcastKind, BroadcastStatus, Language
from alertbot.core.errors import BroadcastNotFoundError
from alertbot.services.districts import DistrictDirectory
from alertbot.storage.broadcasts import BroadcastRepository

CAP_LANGUAGES: dict[Language, str] = {"zh": "zh-CN", "en": "en-US"}
IMPORTED_TEMPLATE = "cap_alert"
_TAG = re.compile(r"<[^>]+>")
_LEADING_SYMBOLS = re.compile(r"^[^\w(（\"“]+")
BULLET = "•"


def plain_text(telegram_html: str) -> str:
    """Telegram HTML as plain text: tags removed, entities decoded, white space of each line tidied."""
    text = html.unescape(_TAG.sub("", telegram_html))
    return "\n".join(line.rstrip() for line in text.strip().splitlines())


def split_text(text: str) -> tuple[str, str, str]:
    """(headline, description, instruction) of a plain text: the first line without its leading symbol, the
    other lines, and the bullet points."""
    lines = text.splitlines()
    headline = _LEADING_SYMBOLS.sub("", lines[0]).strip() if lines else ""
    bullets = [line for line in lines[1:] if line.lstrip().startswith(BULLET)]
    rest = [line for line in lines[1:] if not line.lstrip().startswith(BULLET)]
    description = re.sub(r"\n{3,}", "\n\n", "\n".join(rest)).strip()
    return headline, description, "\n".join(bullets).strip()


class CapExporter:
    def __init__(
        self,
        config: AppConfig,
        templates: MessageTemplates,
        translator: Translator,
        districts: DistrictDirectory,
        broadcasts: BroadcastRepository,
    ) -> None:
        self._config = config
        self._catalog = templates.catalog
        self._translator = translator
        self._districts = districts
        self._broadcasts = broadcasts

    def identifier(self, broadcast_id: int) -> str:
        return f"{self._config.cap.identifier_prefix}-{broadcast_id}"

    def broadcast_id(self, sender: str, identifier: str) -> int | None:
        """The broadcast an identifier of ours names (None: not one of ours)."""
        prefix = f"{self._config.cap.identifier_prefix}-"
        if sender != self._config.cap.sender or not identifier.startswith(prefix):
            return None
        number = identifier.removeprefix(prefix)
        return int(number) if number.isdigit() else None

    def sent(self, broadcast: Broadcast) -> datetime:
        return broadcast.created_at.astimezone(self._config.bot.zone).replace(microsecond=0)

    def reference(self, broadcast: Broadcast) -> cap.Reference:
        return cap.Reference(self._config.cap.sender, self.identifier(broadcast.id), self.sent(broadcast))

    async def issued(self, broadcast_id: int) -> Broadcast:
        """The warning or follow-up with this id that went out; anything else is not found."""
        broadcast = await self._broadcasts.get(broadcast_id)
        if (
            broadcast is None
            or broadcast.kind is BroadcastKind.REMINDER
            or broadcast.status not in (BroadcastStatus.QUEUED, BroadcastStatus.DONE)
        ):
            raise BroadcastNotFoundError(f"no warning or follow-up #{broadcast_id} was sent", id=broadcast_id)
        return broadcast

    async def alert(self, broadcast: Broadcast) -> cap.Alert:
        """The CAP 1.2 alert of a warning or follow-up (see `issued`)."""
        original = None
        references: tuple[cap.Reference, ...] = ()
        if broadcast.follows_id is not None:
            original = await self._broadcasts.get(broadcast.follows_id)
            assert original is not None  # a follow-up's original is never deleted
            earlier = [f for f in await self._broadcasts.follow_ups(original.id) if f.id < broadcast.id]
            references = tuple(self.reference(b) for b in [original, *earlier])
        spec = self._catalog.get(broadcast.template_id)
        about = self._catalog.get(original.template_id) if original is not None else spec
        msg_type = "Alert"
        if original is not None:
            msg_type = "Cancel" if broadcast.template_id == "sent_in_error" else "Update"
        return cap.Alert(
            identifier=self.identifier(broadcast.id),
            sender=self._config.cap.sender,
            sent=self.sent(broadcast),
            status="Exercise" if broadcast.exercise else "Actual",
            msg_type=msg_type,
            scope="Public",
            note=f"{spec.title['en']} ({spec.id})",
            references=references,
            infos=tuple(self._info(broadcast, spec, about, language, original) for language in LANGUAGES),
        )

    def _info(
        self, broadcast: Broadcast, spec: TemplateSpec, about: TemplateSpec, language: Language,
        original: Broadcast | None,
    ) -> cap.Info:  # fmt: skip
        headline, description, instruction = self.texts(broadcast, language)
        # a warning made from a CAP message keeps the codes it came with; its follow-ups take them over
        own = broadcast.variables if broadcast.template_id == IMPORTED_TEMPLATE else {}
        first = original or broadcast
        kept = first.variables if first.template_id == IMPORTED_TEMPLATE else {}
        response = own.get("response_type") or spec.cap_response_type or about.cap_response_type
        severity = broadcast.severity or (original.severity if original else None)
        return cap.Info(
            language=CAP_LANGUAGES[language],
            categories=tuple((kept.get("category") or about.cap_category or "Other").split()),
            event=kept.get("event") or about.cap_event or about.title["en"],
            response_types=tuple(response.split()) if response else (),
            urgency=own.get("urgency") or spec.cap_urgency or about.cap_urgency or "Unknown",
            severity=severity.value.capitalize() if severity else "Unknown",
            certainty=own.get("certainty") or spec.cap_certainty or about.cap_certainty or "Unknown",
            expires=self.sent(broadcast) + self._config.cap.expires_after,
            sender_name=own.get("sender_name") or self._config.cap.sender_name,
            headline=headline[:160] or None,
            description=description or None,
            instruction=instruction or None,
            contact=own.get("contact") or self._config.cap.contact,
            areas=tuple(self._area(d, language) for d in broadcast.districts if d in self._districts),
        )

    def texts(self, broadcast: Broadcast, language: Language) -> tuple[str, str, str]:
        """(headline, description, instruction) in `language`, as the broadcast said them."""
        if broadcast.template_id == IMPORTED_TEMPLATE:
            v = broadcast.variables
            return tuple(v.get(f"{part}_{language}", "") for part in ("headline", "description", "instruction"))  # type: ignore[return-value]
        return split_text(plain_text(self._body(broadcast, language)))

    def _body(self, broadcast: Broadcast, language: Language) -> str:
        """The text sent in `language`, without the exercise banners and severity label the system added."""
        text = broadcast.texts.get(language) or next(iter(broadcast.texts.values()), "")
        if broadcast.exercise:
            banner = self._translator(language, "alert-exercise-banner")
            text = text.removeprefix(banner + "\n\n").removesuffix("\n\n" + banner)
        if broadcast.severity is not None:
            text = text.removeprefix(self._translator(language, f"alert-severity-{broadcast.severity.value}") + "\n\n")
        return text

    def _area(self, district_id: str, language: Language) -> cap.Area:
        district = next(d for d in self._districts if d.id == district_id)
        geocodes = (cap.Geocode(self._config.cap.geocode_name, district.geocode),) if district.geocode else ()
        return cap.Area(description=self._districts.name(district_id, language), geocodes=geocodes)
