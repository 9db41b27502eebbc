"""Warnings from compose to queue: validation, the exact preview, confirmation, approval, follow-ups.

Every entry point takes the acting official's Telegram id and checks, here and not only in the chat,
that they are an official, that the districts are theirs, and (for approvals) that they are a
supervisor other than the requester. Everything officials do, including refused attempts, is audited.

What a draft is (`drafts`), how its text is checked and rendered (`alert_texts`), why an action is
refused (`core.errors`) and how a later sending time is read (`send_at`) live beside this module.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

from alertbot.config import OfficialConfig
from alertbot.content.templates import TemplateSpec
from alertbot.core.clock import utcnow
from alertbot.core.domain import (
    LANGUAGES,
    PRIORITY,
    Broadcast,
    BroadcastKind,
    BroadcastStatus,
    DeliveryCounts,
    DeliveryState,
    Language,
    Severity,
)
from alertbot.core.errors import (
    APPROVAL_REFUSALS,
    ApprovalError,
    BroadcastNotFoundError,
    DistrictError,
    NoRecipientsError,
    NotAnOfficialError,
    OutOfScopeError,
    ScheduleError,
    UnknownDistrictError,
    UnknownTemplateError,
)
from alertbot.services.alert_texts import AlertTexts
from alertbot.services.base import QueueingService, ServiceContext
from alertbot.services.channels import ChannelDirectory
from alertbot.services.drafts import AlertDraft
from alertbot.services.estimates import Estimate, estimate
from alertbot.services.officials import ALL_DISTRICTS
from alertbot.services.send_at import check_send_at, parse_send_at
from alertbot.services.unit_of_work import UnitOfWork
from alertbot.storage.broadcasts import BroadcastRepository, NewBroadcast
from alertbot.storage.channel_posts import ChannelPostRepository

FOLLOW_UP_TEMPLATES = ("update", "all_clear", "sent_in_error")
SENT_IN_ERROR = "sent_in_error"


@dataclass(frozen=True)
class ChannelReach:
    """A channel post the warning will make: the channel, its language, its members (None: not known)."""

    channel: str
    language: Language
    members: int | None
    usable: bool | None  # None: not looked up
    problem: str | None = None  # why the bot cannot post there


@dataclass(frozen=True)
class Preview:
    draft: AlertDraft  # completed: districts resolved, severity and issued_at set
    spec: TemplateSpec
    texts: dict[Language, str]  # exactly what each language group receives
    recipients: dict[Language, int]
    needs_approval: bool
    channels: tuple[ChannelReach, ...] = ()  # posted before any direct message
    estimate: Estimate | None = None  # until the last direct message

    @property
    def total(self) -> int:
        return sum(self.recipients.values())

    def reach(self, language: Language) -> int:
        """Channel members of this language (those known)."""
        return sum(c.members or 0 for c in self.channels if c.language == language)


@dataclass(frozen=True)
class Confirmation:
    outcome: Literal["queued", "pending_approval", "duplicate"]
    broadcast: Broadcast


@dataclass(frozen=True)
class DeliveryReport:
    broadcast: Broadcast
    counts: DeliveryCounts
    failures: list[tuple[int, str, str | None]]


class AlertService(QueueingService):
    def __init__(
        self,
        context: ServiceContext,
        repository: BroadcastRepository,
        channels: ChannelDirectory | None = None,
        channel_posts: ChannelPostRepository | None = None,
    ) -> None:
        super().__init__(context)
        self._repo = repository
        self._channels = channels or ChannelDirectory(())
        self._posts = channel_posts
        self._texts = AlertTexts(context.config, context.templates, context.translator, context.districts)

    # -- who may do what ----------------------------------------------------------------------

    async def official(self, actor_id: int, attempted: str) -> OfficialConfig:
        """The official behind `actor_id`; anyone else is refused, and the attempt audited."""
        official = self.officials.get(actor_id)
        if official is None:
            await self.audit.record("refused", actor_id=actor_id, attempted=attempted, reason="not an official")
            raise NotAnOfficialError(f"{actor_id} is not an official")
        return official

    def scope(self, official: OfficialConfig) -> list[str]:
        """The district ids an official may address, in configured order."""
        if ALL_DISTRICTS in official.districts:
            return self.districts.ids
        return [d for d in self.districts.ids if d in official.districts]

    async def toggle_district(
        self, official: OfficialConfig, draft: AlertDraft, district: str, language: Language
    ) -> AlertDraft:
        """The draft with `district` added or taken out (or all the official's districts, for '*'); a district
        outside the official's scope (a forged button) is refused and audited."""
        scope, chosen = self.scope(official), set(draft.districts)
        if district == ALL_DISTRICTS and ALL_DISTRICTS in official.districts:
            chosen = set() if set(scope) <= chosen else set(scope)
        elif district in scope:
            chosen ^= {district}
        else:
            await self.audit.record(
                "refused", actor_id=official.telegram_id, actor_name=official.name,
                attempted=f"districts {district}", reason="out of scope",
            )  # fmt: skip
            name = self.districts.name(district, language) if district in self.districts else district
            raise OutOfScopeError(f"{district} is outside the districts of {official.telegram_id}", districts=name)
        return dataclasses.replace(draft, districts=tuple(d for d in scope if d in chosen))

    def warning_templates(self) -> list[TemplateSpec]:
        return [t for t in self.templates.catalog.templates if t.kind == "warning"]

    # -- compose and preview --------------------------------------------------------------------

    async def preview(self, actor_id: int, draft: AlertDraft) -> Preview:
        """Validate the draft completely and render it exactly as it would be sent (audited: compose)."""
        preview = await self._prepare(actor_id, draft)
        final = preview.draft
        await self.audit.record(
            "compose", actor_id=actor_id, actor_name=self._name(actor_id), broadcast_id=final.follows_id,
            template=final.template_id, districts=list(final.districts), audience=str(final.audience),
            severity=final.severity.value if final.severity else None, exercise=final.exercise,
            recipients=preview.total,
        )  # fmt: skip
        return preview

    def _name(self, actor_id: int) -> str | None:
        official = self.officials.get(actor_id)
        return official.name if official else None

    async def _prepare(self, actor_id: int, draft: AlertDraft) -> Preview:
        official = await self.official(actor_id, "preview")
        original = await self._original(official, draft.follows_id) if draft.follows_id else None
        spec = self._texts.template(draft.template_id, follow_up=original is not None, imported=bool(draft.origin))
        variables = self._texts.variables(spec, draft.variables)
        if original is not None:
            addressed = draft.following(original)
        else:
            districts = await self._districts(official, draft.districts)
            severity = draft.severity or (Severity(spec.severity) if spec.severity else Severity.SEVERE)
            addressed = dataclasses.replace(draft, districts=districts, severity=severity)
        issued_at = draft.issued_at or utcnow().replace(second=0, microsecond=0)
        completed = dataclasses.replace(addressed, variables=variables, issued_at=issued_at)
        texts = {lang: self._texts.render(spec, lang, completed, original) for lang in LANGUAGES}
        if completed.exercise:
            recipients = _count_languages((await self._exercise_chats()).values())
        elif original is not None:
            recipients = await self._repo.follow_up_counts(original.id)
        else:
            recipients = await self._repo.recipient_counts(completed.districts, completed.audience)
        # The two-person rule holds for follow-ups too: an Update or All clear of an extreme (or
        # every-district) warning reaches the same people with new text. Only "Sent in error" goes at once:
        # it stops a mistake, says nothing new, and is audited like everything else.
        needs_approval = spec.id != SENT_IN_ERROR and (
            (completed.severity is not None and completed.severity.value in self._config.alerts.approval_severities)
            or set(completed.districts) == set(self.districts.ids)
        )
        counts: dict[Language, int] = {lang: recipients.get(lang, 0) for lang in LANGUAGES}
        channels = await self._channel_reach(completed, original)
        eta = estimate(
            self._config.dispatch, completed.severity, sum(counts.values()), await self._repo.due_by_priority(),
            exercise=completed.exercise,
        )  # fmt: skip
        return Preview(completed, spec, texts, counts, needs_approval, channels, eta)

    async def _channel_reach(self, draft: AlertDraft, original: Broadcast | None) -> tuple[ChannelReach, ...]:
        """The channels a warning goes to (its districts'), or a follow-up (where its original was posted)."""
        if draft.exercise:
            return ()
        if original is not None:
            posts = await self._posts.of(original.id) if self._posts else []
            targets = [(p.channel, as_language(p.language)) for p in posts if p.state is DeliveryState.SENT]
        else:
            targets = self.districts.channels(draft.districts)
        reach = []
        for channel, language in targets:
            status = await self._channels.status(channel)
            if status is None:
                reach.append(ChannelReach(channel, language, None, None))
            else:
                reach.append(ChannelReach(channel, language, status.members, status.usable, status.problem))
        return tuple(reach)

    async def _districts(self, official: OfficialConfig, wanted: tuple[str, ...]) -> tuple[str, ...]:
        if not wanted:
            raise DistrictError("choose at least one district", districts="")
        scope = self.scope(official)
        if ALL_DISTRICTS in wanted:
            if ALL_DISTRICTS not in official.districts:
                await self.audit.record(
                    "refused", actor_id=official.telegram_id, actor_name=official.name,
                    attempted="all districts", reason="out of scope",
                )  # fmt: skip
                raise OutOfScopeError("sending to every district needs the scope '*'", districts="*")
            return tuple(scope)
        try:
            ids = self.districts.resolve(wanted)
        except UnknownDistrictError as error:
            raise DistrictError(
                f"unknown district {', '.join(error.unknown)}", districts=", ".join(error.unknown)
            ) from None
        outside = [d for d in ids if d not in scope]
        if outside:
            await self.audit.record(
                "refused", actor_id=official.telegram_id, actor_name=official.name,
                attempted=f"districts {', '.join(outside)}", reason="out of scope",
            )  # fmt: skip
            raise OutOfScopeError(f"district {', '.join(outside)} is outside your scope", districts=", ".join(outside))
        return tuple(d for d in self.districts.ids if d in ids)

    async def _exercise_chats(self) -> dict[int, str]:
        """Officials and the configured test chats, with their stored language (else the default)."""
        chats = list(dict.fromkeys([*self.officials.ids, *self._config.alerts.test_chats]))
        stored = await self._repo.languages_of(chats)
        return {chat: stored.get(chat, self._config.bot.default_language) for chat in chats}

    async def _original(self, official: OfficialConfig, broadcast_id: int) -> Broadcast:
        original = await self._repo.get(broadcast_id)
        if original is None or original.status not in (BroadcastStatus.QUEUED, BroadcastStatus.DONE):
            raise BroadcastNotFoundError(f"no sent broadcast #{broadcast_id}", id=broadcast_id)
        await self._check_scope(official, original, "follow-up")
        return original

    async def visible(self, actor_id: int, broadcast_id: int, attempted: str) -> Broadcast:
        """A broadcast the official may read (its status, its CAP document): one of their districts'. Anyone
        else, or a broadcast outside their districts, is refused and audited; a missing one is not found."""
        official = await self.official(actor_id, attempted)
        broadcast = await self._repo.get(broadcast_id)
        if broadcast is None:
            raise BroadcastNotFoundError(f"no broadcast #{broadcast_id}", id=broadcast_id)
        await self._check_scope(official, broadcast, attempted)
        return broadcast

    async def _check_scope(self, official: OfficialConfig, broadcast: Broadcast, attempted: str) -> None:
        """Refuse (and audit) `attempted` on a broadcast outside the official's districts."""
        if not self.officials.covers(official, broadcast.districts):
            await self.audit.record(
                "refused", actor_id=official.telegram_id, actor_name=official.name,
                broadcast_id=broadcast.id, attempted=attempted, reason="out of scope",
            )  # fmt: skip
            raise OutOfScopeError(f"broadcast #{broadcast.id} is outside your scope", districts="")

    def check_send_at(self, send_at: datetime) -> None:
        """A later sending time must be at least a minute and at most 30 days ahead."""
        check_send_at(send_at, utcnow())

    def parse_send_at(self, text: str) -> datetime:
        """'18:30' (today, or tomorrow if past), '12-01 08:00' or '2026-12-01 08:00', in the bot's time zone."""
        return parse_send_at(text, self._config.bot.zone, utcnow())

    # -- confirm, approve ------------------------------------------------------------------------

    async def confirm(
        self,
        actor_id: int,
        draft: AlertDraft,
        *,
        force_duplicate: bool = False,
        report_chat_id: int | None = None,
        send_at: datetime | None = None,
    ) -> Confirmation:
        """Queue the broadcast (or ask for approval). Broadcast and deliveries are one transaction.

        With `send_at`, the deliveries are queued now but not due before then; until it comes, the
        broadcast can be cancelled like any other (`cancel`).
        """
        preview = await self._prepare(actor_id, draft)
        official = await self.official(actor_id, "confirm")
        final = preview.draft
        if preview.total == 0:
            raise NoRecipientsError("no subscriber matches these districts and audience")
        if send_at is not None:
            self.check_send_at(send_at)
            if final.follows_id is not None:
                raise ScheduleError("follow-ups go out at once", problem="follow-up")
        key = final.dedupe_key(send_at)
        is_follow_up = final.follows_id is not None
        if is_follow_up and final.template_id == SENT_IN_ERROR:
            # first stop what of the original is not sent yet: the correction then goes to exactly
            # those who received (or are receiving) it
            assert final.follows_id is not None
            # (an Update of it still awaiting approval is withdrawn with it: it must not go out later)
            stopped = await self._repo.withdraw(final.follows_id, reason="sent in error", with_follow_ups=True)
            await self.audit.record(
                "cancel", actor_id=official.telegram_id, actor_name=official.name,
                broadcast_id=final.follows_id, cancelled_deliveries=stopped, reason="sent in error",
            )  # fmt: skip
        queue = not preview.needs_approval
        expires = None if queue else utcnow() + self._config.alerts.approval_timeout
        action = "request_approval" if not queue else ("follow_up" if is_follow_up else "send")
        if send_at is not None and queue:
            action = "schedule"
        exercise_chats = await self._exercise_chats() if final.exercise else None
        async with UnitOfWork(self._database) as uow:  # the broadcast, its deliveries and its audit entry
            broadcast, created = await self._repo.create(
                NewBroadcast(
                    kind=BroadcastKind.FOLLOW_UP if is_follow_up else BroadcastKind.WARNING,
                    template_id=final.template_id,
                    variables=dict(final.variables),
                    districts=final.districts,
                    audience=final.audience,
                    severity=final.severity,
                    priority=PRIORITY[final.severity],
                    exercise=final.exercise,
                    titles={lang: preview.spec.title[lang] for lang in LANGUAGES},
                    texts=dict(preview.texts.items()),
                    created_by=official.telegram_id,
                    dedupe_key=key,
                    follows_id=final.follows_id,
                    report_chat_id=report_chat_id,
                    expires_at=expires,
                    scheduled_for=send_at.astimezone(UTC) if send_at else None,
                    channels=() if is_follow_up else tuple((c.channel, c.language) for c in preview.channels),
                ),
                queue=queue,
                exercise_chats=exercise_chats,
                duplicate_since=None if force_duplicate else utcnow() - self._config.alerts.duplicate_window,
                connection=uow.connection,
            )
            if created:
                await self.audit.record(
                    action, actor_id=official.telegram_id, actor_name=official.name, broadcast_id=broadcast.id,
                    template=final.template_id, districts=list(final.districts), audience=str(final.audience),
                    severity=final.severity.value if final.severity else None, exercise=final.exercise,
                    recipients=broadcast.recipients if queue else preview.total, follows=final.follows_id,
                    send_at=send_at.isoformat() if send_at else None, cap=final.origin, connection=uow.connection,
                )  # fmt: skip
        if not created:
            return Confirmation("duplicate", broadcast)
        if queue:
            await self._queued.notify(broadcast)
        return Confirmation("queued" if queue else "pending_approval", broadcast)

    async def decide(self, actor_id: int, broadcast_id: int, *, approve: bool) -> Broadcast:
        """A supervisor (in scope, not the requester) approves or rejects a pending request."""
        verb = "approve" if approve else "reject"
        official = await self.official(actor_id, verb)
        broadcast = await self._repo.get(broadcast_id)

        async def refuse(code: str) -> ApprovalError:
            reason = APPROVAL_REFUSALS[code]
            await self.audit.record(
                "refused", actor_id=official.telegram_id, actor_name=official.name,
                broadcast_id=broadcast_id, attempted=verb, reason=reason,
            )  # fmt: skip
            # `reason` is a code the UI catalogs translate (alert-approval-refused selects on it)
            return ApprovalError(f"cannot {verb} #{broadcast_id}: {reason}", reason=code)

        if broadcast is None:
            raise await refuse("missing")
        if official.role != "supervisor":
            raise await refuse("not-supervisor")
        if official.telegram_id == broadcast.created_by:
            raise await refuse("own-request")
        if not self.officials.covers(official, broadcast.districts):
            raise await refuse("out-of-scope")
        exercise_chats = await self._exercise_chats() if broadcast.exercise else None
        async with UnitOfWork(self._database) as uow:  # the decision, the deliveries and the audit entry
            decided = await self._repo.decide(broadcast_id, official.telegram_id, approve=approve,
                                              exercise_chats=exercise_chats, connection=uow.connection)  # fmt: skip
            if decided is not None:
                await self.audit.record(
                    verb, actor_id=official.telegram_id, actor_name=official.name, broadcast_id=broadcast_id,
                    requester=broadcast.created_by, recipients=decided.recipients, connection=uow.connection,
                )  # fmt: skip
        if decided is None:  # (refused after the unit of work: the refusal is audited in its own transaction)
            raise await refuse("decided")
        if approve:
            await self._queued.notify(decided)
        return decided

    async def expire_requests(self) -> list[Broadcast]:
        expired = await self._repo.expire_approvals()
        for broadcast in expired:
            await self.audit.record("expire", actor_id=None, broadcast_id=broadcast.id, requester=broadcast.created_by)
        return expired

    async def follow_up_draft(self, actor_id: int, original_id: int, template_id: str) -> AlertDraft:
        """A draft of `update`, `all_clear` or `sent_in_error` for the chats that received the original."""
        if template_id not in FOLLOW_UP_TEMPLATES:
            raise UnknownTemplateError(f"{template_id!r} is not a follow-up", template=template_id)
        official = await self.official(actor_id, f"follow-up {template_id}")
        original = await self._original(official, original_id)
        return AlertDraft(template_id).following(original)

    async def cancel(self, actor_id: int, broadcast_id: int) -> int:
        """Stop a broadcast: what is not sent yet is not sent (an official in scope). Returns how many."""
        official = await self.official(actor_id, "cancel")
        broadcast = await self._repo.get(broadcast_id)
        if broadcast is None:
            raise BroadcastNotFoundError(f"no broadcast #{broadcast_id}", id=broadcast_id)
        await self._check_scope(official, broadcast, "cancel")
        # one transaction: a request awaiting approval can no longer be approved, nothing unsent goes out
        stopped = await self._repo.withdraw(broadcast_id, reason=f"cancelled by {official.telegram_id}")
        await self.audit.record(
            "cancel", actor_id=official.telegram_id, actor_name=official.name, broadcast_id=broadcast_id,
            cancelled_deliveries=stopped,
        )  # fmt: skip
        return stopped

    async def report(self, broadcast_id: int) -> DeliveryReport:
        broadcast = await self._repo.get(broadcast_id)
        if broadcast is None:
            raise BroadcastNotFoundError(f"no broadcast #{broadcast_id}", id=broadcast_id)
        return DeliveryReport(broadcast, await self._repo.counts(broadcast_id), await self._repo.failures(broadcast_id))

    async def get(self, broadcast_id: int) -> Broadcast | None:
        return await self._repo.get(broadcast_id)


def as_language(value: str) -> Language:
    return "zh" if value == "zh" else "en"


def _count_languages(languages: Iterable[str]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for language in languages:
        counts[language] = counts.get(language, 0) + 1
    return counts
