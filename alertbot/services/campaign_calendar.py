"""When a campaign's reminders are due: its scheduled times in the bot's zone, its season, and when a
person's quiet hours let a reminder through.

Every method takes the time it is asked about, so tests drive the calendar with a controlled clock.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from apscheduler.triggers.cron import CronTrigger

from alertbot.config import AppConfig, CampaignConfig
from alertbot.core.cron import parse_cron
from alertbot.core.quiet import QuietHours

DST_OVERLAP = timedelta(hours=2)  # the longest repeated wall-clock stretch when clocks go back
SEASON_SEARCH_LIMIT = 2000  # fire times inspected when looking for the next in-season run


class CampaignCalendar:
    """The configured campaigns (by id) and their triggers (by id), read once from the config."""

    def __init__(self, config: AppConfig) -> None:
        self._config = config
        self.zone = config.bot.zone
        self.campaigns = {c.id: c for c in config.campaigns}
        self.triggers: dict[str, CronTrigger] = {c.id: parse_cron(c.schedule, self.zone) for c in config.campaigns}

    @property
    def grace(self) -> timedelta:
        return self._config.scheduler.grace

    def fire_times(self, campaign_id: str, after: datetime, until: datetime) -> list[datetime]:
        """Scheduled times in (after, until], oldest first, in UTC.

        A wall-clock time that happens twice (the hour repeated when daylight saving time ends) counts
        once: APScheduler yields both instants, but "01:30 every day" means one reminder that day. A time
        skipped by the spring change is moved forward by APScheduler, so it still happens once.
        """
        trigger = self.triggers[campaign_id]
        times: list[datetime] = []
        seen: set[datetime] = set()  # wall-clock times already scheduled
        # start early enough to see the first instance of a repeated hour that ends just after `after`
        moment = trigger.get_next_fire_time(None, after - DST_OVERLAP)
        while moment is not None and moment <= until:
            wall = moment.astimezone(self.zone).replace(tzinfo=None)
            if wall not in seen and moment > after:
                times.append(moment.astimezone(UTC))
            seen.add(wall)
            moment = trigger.get_next_fire_time(moment, moment + timedelta(seconds=1))
        return times

    def latest_due(self, campaign_id: str, now: datetime) -> datetime | None:
        """The latest scheduled time at or before `now`, within the grace period."""
        times = self.fire_times(campaign_id, now - self.grace, now)
        return times[-1] if times else None

    def in_season(self, campaign: CampaignConfig, moment: datetime) -> bool:
        if campaign.season is None:
            return True
        local = moment.astimezone(self.zone)
        return campaign.season.contains(local.month, local.day)

    def next_run(self, campaign_id: str, now: datetime) -> datetime | None:
        """The next scheduled time that falls in the campaign's season."""
        campaign, trigger = self.campaigns[campaign_id], self.triggers[campaign_id]
        moment = trigger.get_next_fire_time(None, now)
        for _ in range(SEASON_SEARCH_LIMIT):
            if moment is None or self.in_season(campaign, moment):
                return moment.astimezone(UTC) if moment else None
            moment = trigger.get_next_fire_time(moment, moment + timedelta(seconds=1))
        return None

    def release(self, moment: datetime) -> Callable[[str | None], datetime]:
        """When someone with these quiet hours (None: the default) may receive a reminder sent at `moment`."""

        def release(quiet: str | None) -> datetime:
            try:
                window = QuietHours.parse(self._config.bot.quiet_hours if quiet is None else quiet)
            except ValueError:
                window = QuietHours.parse(self._config.bot.quiet_hours)
            return window.release(moment, self.zone) if window else moment

        return release
