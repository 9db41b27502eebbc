"""APScheduler 3 drives the campaigns: one cron job per enabled campaign, rebuilt from config at start.

The scheduler is derived state (memory job store, nothing pickled): each job only calls
`CampaignService.run_due(campaign_id, now)`; the database's unique occurrence key makes each occurrence
exactly-once across restarts and instances. At start, missed occurrences are caught up; a periodic job
sends the follow-ups that have come due.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.interval import IntervalTrigger

from alertbot.core.clock import utcnow
from alertbot.services.campaigns import CampaignService

log = logging.getLogger(__name__)

FOLLOW_UP_CHECK_SECONDS = 60


class CampaignScheduler:
    def __init__(self, campaigns: CampaignService, clock: Callable[[], datetime] | None = None) -> None:
        self._campaigns = campaigns
        self._clock = clock or utcnow
        self._scheduler: AsyncIOScheduler | None = None

    @property
    def scheduler(self) -> AsyncIOScheduler | None:
        return self._scheduler

    async def start(self) -> None:
        """Catch up what was missed, then schedule every enabled campaign in its time zone."""
        campaigns = self._campaigns
        for result in await campaigns.catch_up(self._clock()):
            log.info("catch-up at start: occurrence %s %s", result.occurrence_at.isoformat(), result.status)
        scheduler = AsyncIOScheduler(timezone=campaigns.zone)
        grace = int(campaigns.grace.total_seconds())
        for campaign_id, campaign in campaigns.campaigns.items():
            if not campaign.enabled:
                continue
            scheduler.add_job(
                self._due, trigger=campaigns.triggers[campaign_id], args=[campaign_id], id=f"campaign:{campaign_id}",
                misfire_grace_time=grace, coalesce=True, max_instances=1, replace_existing=True,
            )  # fmt: skip
        scheduler.add_job(
            self._follow_ups, trigger=IntervalTrigger(seconds=FOLLOW_UP_CHECK_SECONDS, timezone=campaigns.zone),
            id="campaign-follow-ups", coalesce=True, max_instances=1, next_run_time=self._clock(),
        )  # fmt: skip
        scheduler.start()
        self._scheduler = scheduler

    async def stop(self) -> None:
        if self._scheduler is not None:
            self._scheduler.shutdown(wait=False)
            self._scheduler = None

    async def _due(self, campaign_id: str) -> None:
        try:
            result = await self._campaigns.run_due(campaign_id, self._clock())
            if result is not None:
                log.info("campaign %s at %s: %s", campaign_id, result.occurrence_at.isoformat(), result.status)
        except Exception:
            log.exception("campaign %s failed", campaign_id)

    async def _follow_ups(self) -> None:
        try:
            await self._campaigns.send_follow_ups(self._clock())
        except Exception:
            log.exception("campaign follow-ups failed")
