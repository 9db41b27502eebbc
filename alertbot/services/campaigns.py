"""Seasonal reminder campaigns: each occurrence is recorded under (campaign, time) once, then queued.

The scheduler (APScheduler, in `alertbot.delivery.scheduler`) only says "it is time"; this service decides
what that means, and every method takes the current time as an argument so tests drive it with a controlled
clock.
An occurrence is recorded and its broadcast and deliveries are written in one transaction, so a restart
or a second instance that reaches the same occurrence finds it recorded and sends nothing.

When reminders are due lives in `campaign_calendar`, what they say in `reminder_texts`.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal

from alertbot.config import CampaignConfig
from alertbot.core.domain import LANGUAGES, REMINDER_PRIORITY, Audience, Broadcast, BroadcastKind, Language
from alertbot.core.errors import CampaignError
from alertbot.services.base import QueueingService, ServiceContext
from alertbot.services.campaign_calendar import CampaignCalendar
from alertbot.services.officials import ALL_DISTRICTS
from alertbot.services.reminder_texts import ReminderTexts
from alertbot.services.unit_of_work import UnitOfWork
from alertbot.storage.broadcasts import BroadcastRepository, FanOut, NewBroadcast
from alertbot.storage.campaigns import CampaignCounts, CampaignRepository, Occurrence
from alertbot.storage.tables import broadcasts as broadcasts_table

log = logging.getLogger(__name__)

SYSTEM_ACTOR = 0  # created_by of scheduled reminders
CATCH_UP_LOOKBACK = timedelta(days=1)
DEDUPE_KEY_LENGTH: int = broadcasts_table.c.dedupe_key.type.length  # type: ignore[attr-defined]

FireStatus = Literal["sent", "duplicate", "out_of_season", "paused", "disabled", "missed"]


def occurrence_key(campaign_id: str, at: datetime) -> str:
    """The dedupe key of an occurrence's reminder: "campaign:" and a hash of (campaign, time), cut to the
    column's width, so it fits whatever the campaign id. Exactly once is the occurrence's unique key's job
    (campaign_occurrences); this only has to be deterministic and fit."""
    digest = hashlib.sha256(f"{campaign_id}\n{at.astimezone(UTC).isoformat()}".encode()).hexdigest()
    return f"campaign:{digest}"[:DEDUPE_KEY_LENGTH]


class _AlreadySent(Exception):
    """Raised inside a transaction to roll it back: the follow-up exists already."""


@dataclass(frozen=True)
class FireResult:
    status: FireStatus
    occurrence_at: datetime
    broadcast: Broadcast | None = None


@dataclass(frozen=True)
class CampaignView:
    campaign: CampaignConfig
    paused: bool
    next_run: datetime | None
    counts: CampaignCounts


@dataclass(frozen=True)
class Acknowledgement:
    new: bool
    language: Language
    text: str  # the reminder as the person received it


class CampaignService(QueueingService):
    def __init__(
        self,
        context: ServiceContext,
        repository: CampaignRepository,
        broadcasts: BroadcastRepository,
    ) -> None:
        super().__init__(context)
        self._repo = repository
        self._broadcasts = broadcasts
        self.calendar = CampaignCalendar(context.config)
        self.zone, self.campaigns, self.triggers = self.calendar.zone, self.calendar.campaigns, self.calendar.triggers
        self._texts = ReminderTexts(context.templates, context.translator, context.districts, self.zone)
        self._texts.check(context.config.campaigns)

    # -- time (see CampaignCalendar) ------------------------------------------------------------------

    @property
    def grace(self) -> timedelta:
        return self.calendar.grace

    def fire_times(self, campaign_id: str, after: datetime, until: datetime) -> list[datetime]:
        """Scheduled times in (after, until], oldest first, in UTC; a repeated wall-clock hour counts once."""
        return self.calendar.fire_times(campaign_id, after, until)

    def latest_due(self, campaign_id: str, now: datetime) -> datetime | None:
        """The latest scheduled time at or before `now`, within the grace period."""
        return self.calendar.latest_due(campaign_id, now)

    def in_season(self, campaign: CampaignConfig, moment: datetime) -> bool:
        return self.calendar.in_season(campaign, moment)

    def next_run(self, campaign_id: str, now: datetime) -> datetime | None:
        """The next scheduled time that falls in the campaign's season."""
        return self.calendar.next_run(campaign_id, now)

    # -- occurrences --------------------------------------------------------------------------------

    def render(self, campaign_id: str, language: Language, at: datetime) -> str:
        """The reminder exactly as the campaign would send it at `at`."""
        return self._texts.render(self.campaigns[campaign_id], language, at)

    def _district_ids(self, campaign: CampaignConfig) -> tuple[str, ...]:
        if ALL_DISTRICTS in campaign.districts:
            return tuple(self.districts.ids)
        return tuple(campaign.districts)

    async def fire(
        self,
        campaign_id: str,
        at: datetime,
        *,
        now: datetime | None = None,
        manual_by: int | None = None,
    ) -> FireResult:
        """Record the occurrence at `at` and queue its reminders, exactly once per (campaign, time)."""
        campaign = self.campaigns[campaign_id]
        at = at.astimezone(UTC).replace(second=0, microsecond=0)
        now = now or at
        if manual_by is None:
            if not campaign.enabled:
                return FireResult("disabled", at)
            for status, applies in (
                ("out_of_season", not self.calendar.in_season(campaign, at)),
                ("paused", campaign_id in await self._repo.paused()),
            ):
                if applies:
                    await self._repo.record_occurrence(campaign_id, at, status)
                    return FireResult(status, at)  # type: ignore[arg-type]
        spec = self.templates.catalog.get(campaign.template)
        texts: dict[Language, str] = {language: self._texts.render(campaign, language, at) for language in LANGUAGES}
        async with UnitOfWork(self._database) as uow:
            occurrence_id = await self._repo.claim_occurrence(uow.connection, campaign_id, at, "sent", manual_by)
            if occurrence_id is None:
                return FireResult("duplicate", at)
            broadcast, _ = await self._broadcasts.create(
                NewBroadcast(
                    kind=BroadcastKind.REMINDER, template_id=campaign.template, variables=dict(campaign.variables),
                    districts=self._district_ids(campaign), audience=Audience.parse(campaign.audience),
                    severity=None, priority=REMINDER_PRIORITY, exercise=False,
                    titles={language: spec.title[language] for language in LANGUAGES}, texts=dict(texts.items()),
                    created_by=manual_by or SYSTEM_ACTOR, dedupe_key=occurrence_key(campaign_id, at),
                    occurrence_id=occurrence_id, ack=campaign.ack,
                ),
                queue=True,
                fan_out=FanOut(not_before=self.calendar.release(now)),
                connection=uow.connection,
            )  # fmt: skip
            follow_up_due = at + campaign.follow_up_after if campaign.ack and campaign.follow_up_after else None
            await self._repo.link_broadcast(uow.connection, occurrence_id, broadcast.id, follow_up_due)
        log.info("campaign %s occurrence %s queued to %d", campaign_id, at.isoformat(), broadcast.recipients)
        await self._queued.notify(broadcast)
        return FireResult("sent", at, broadcast)

    async def run_due(self, campaign_id: str, now: datetime) -> FireResult | None:
        """What the scheduler calls at a fire time: the latest due occurrence, if not recorded yet."""
        at = self.calendar.latest_due(campaign_id, now)
        return await self.fire(campaign_id, at, now=now) if at is not None else None

    async def catch_up(self, now: datetime) -> list[FireResult]:
        """At start: send the latest occurrence missed within the grace period; record older ones missed."""
        results: list[FireResult] = []
        grace = self.calendar.grace
        for campaign in self.campaigns.values():
            if not campaign.enabled:
                continue
            since = now - max(grace, CATCH_UP_LOOKBACK)
            known = await self._repo.known_times(campaign.id, since)
            unknown = [t for t in self.calendar.fire_times(campaign.id, since, now) if t not in known]
            if not unknown:
                continue
            latest = unknown[-1]
            for moment in unknown[:-1]:
                await self._repo.record_occurrence(campaign.id, moment, "missed")
            if now - latest <= grace:
                results.append(await self.fire(campaign.id, latest, now=now))
            else:
                await self._repo.record_occurrence(campaign.id, latest, "missed")
                results.append(FireResult("missed", latest))
        return results

    async def send_follow_ups(self, now: datetime) -> list[Broadcast]:
        """One follow-up per due occurrence, to those who received it and have not confirmed."""
        sent: list[Broadcast] = []
        for occurrence in await self._repo.due_follow_ups(now):
            original = await self._broadcasts.get(occurrence.broadcast_id) if occurrence.broadcast_id else None
            if original is None:
                continue
            texts: dict[Language, str] = {
                language: self._texts.follow_up(language, original.texts[language]) for language in LANGUAGES
            }
            try:
                broadcast = await self._follow_up(occurrence, original, texts, now)
            except _AlreadySent:  # another instance sent it first; its transaction is rolled back
                continue
            sent.append(broadcast)
            await self._queued.notify(broadcast)
        return sent

    async def _follow_up(
        self, occurrence: Occurrence, original: Broadcast, texts: dict[Language, str], now: datetime
    ) -> Broadcast:
        async with UnitOfWork(self._database) as uow:
            broadcast, _ = await self._broadcasts.create(
                NewBroadcast(
                    kind=BroadcastKind.REMINDER, template_id=original.template_id, variables=original.variables,
                    districts=original.districts, audience=original.audience, severity=None,
                    priority=REMINDER_PRIORITY, exercise=False, titles=dict(original.titles),
                    texts=dict(texts.items()), created_by=SYSTEM_ACTOR, dedupe_key=f"follow-up:{occurrence.id}",
                    follows_id=original.id, occurrence_id=occurrence.id, ack=True,
                ),
                queue=True,
                fan_out=FanOut(not_before=self.calendar.release(now), skip_acknowledged_of=occurrence.id),
                connection=uow.connection,
            )  # fmt: skip
            if not await self._repo.claim_follow_up(uow.connection, occurrence.id, broadcast.id):
                raise _AlreadySent
        return broadcast

    async def acknowledge(self, occurrence_id: int, chat_id: int) -> Acknowledgement:
        """Record that this person confirmed (once); only someone who received the reminder may."""
        occurrence = await self._repo.get(occurrence_id)
        broadcast_ids = (
            [b for b in (occurrence.broadcast_id, occurrence.follow_up_broadcast_id) if b] if occurrence else []
        )
        language = await self._repo.received(broadcast_ids, chat_id) if broadcast_ids else None
        if occurrence is None or language is None:
            raise CampaignError(f"chat {chat_id} did not receive occurrence {occurrence_id}", "campaign-ack-refused")
        new = await self._repo.acknowledge(occurrence_id, chat_id)
        original = await self._broadcasts.get(broadcast_ids[0])
        assert original is not None
        lang: Language = "zh" if language == "zh" else "en"
        return Acknowledgement(new=new, language=lang, text=original.texts.get(lang, ""))

    # -- officials ------------------------------------------------------------------------------

    async def may_run(self, actor_id: int, campaign_id: str) -> CampaignConfig:
        """The campaign, if this official may run it now (asked before the confirm tap); else refused, audited."""
        await self._official_in_scope(actor_id, campaign_id, "run")
        return self.campaigns[campaign_id]

    async def _official_in_scope(self, actor_id: int, campaign_id: str, attempted: str) -> str:
        official = self.officials.get(actor_id)
        campaign = self.campaigns.get(campaign_id)
        reason = None
        if official is None:
            reason = "not an official"
        elif campaign is None:
            reason = "unknown campaign"
        elif not self.officials.covers(official, self._district_ids(campaign)):
            reason = "out of scope"
        if reason is not None:
            await self.audit.record(
                "refused", actor_id=actor_id, actor_name=official.name if official else None,
                attempted=f"{attempted} {campaign_id}", reason=reason,
            )  # fmt: skip
            key = {"not an official": "alert-not-official", "unknown campaign": "campaign-unknown"}.get(
                reason, "campaign-out-of-scope"
            )
            raise CampaignError(f"cannot {attempted} campaign {campaign_id}: {reason}", key, campaign=campaign_id)
        assert official is not None
        return official.name

    async def views(self, now: datetime) -> list[CampaignView]:
        paused = await self._repo.paused()
        return [
            CampaignView(c, c.id in paused, self.next_run(c.id, now) if c.enabled else None,
                         await self._repo.counts(c.id))
            for c in self.campaigns.values()
        ]  # fmt: skip

    async def set_paused(self, actor_id: int, campaign_id: str, paused: bool) -> None:
        name = await self._official_in_scope(actor_id, campaign_id, "pause" if paused else "resume")
        await self._repo.set_paused(campaign_id, paused, actor_id)
        await self.audit.record("pause" if paused else "resume", actor_id=actor_id, actor_name=name,
                                 campaign=campaign_id)  # fmt: skip

    async def preview(self, actor_id: int, campaign_id: str, now: datetime) -> dict[Language, str]:
        name = await self._official_in_scope(actor_id, campaign_id, "preview")
        await self.audit.record("preview", actor_id=actor_id, actor_name=name, campaign=campaign_id)
        return {language: self.render(campaign_id, language, now) for language in LANGUAGES}

    async def run_now(self, actor_id: int, campaign_id: str, now: datetime) -> FireResult:
        """Send an occurrence now, whatever the schedule, season or pause (the official decided)."""
        name = await self._official_in_scope(actor_id, campaign_id, "run")
        result = await self.fire(campaign_id, now, now=now, manual_by=actor_id)
        await self.audit.record(
            "run", actor_id=actor_id, actor_name=name, broadcast_id=result.broadcast.id if result.broadcast else None,
            campaign=campaign_id, status=result.status,
            recipients=result.broadcast.recipients if result.broadcast else 0,
        )  # fmt: skip
        return result

    async def occurrences(self, campaign_id: str | None = None) -> list[Occurrence]:
        return await self._repo.occurrences(campaign_id)

    async def ack_rate_by_district(self, campaign_id: str) -> dict[str, tuple[int, int]]:
        return await self._repo.ack_rate_by_district(campaign_id)

    async def subscribers_by_district_and_kind(self) -> dict[str, dict[str, int]]:
        return await self._repo.subscribers_by_district_and_kind()
