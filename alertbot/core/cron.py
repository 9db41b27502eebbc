"""Standard five-field cron, as people write it, turned into an APScheduler 3 CronTrigger.

APScheduler 3 numbers weekdays from Monday = 0, while cron numbers them from Sunday = 0 (and 7). Weekday
numbers are therefore translated to names before the trigger is built, so `0 9 * * 1` means Monday.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from apscheduler.triggers.cron import CronTrigger

WEEKDAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat", "sun")
_NUMBER = re.compile(r"\d+")


class CronError(ValueError):
    """Not a valid five-field cron expression."""


class MonotonicCronTrigger(CronTrigger):
    """A CronTrigger whose next fire time always lies after the previous one.

    When daylight saving time ends, APScheduler 3's CronTrigger, asked for the time after the second
    instance of a repeated wall-clock time (01:30 EST after 01:30 EDT), answers that same instant again;
    APScheduler's own loop then never advances. Here the search moves forward until it does.
    """

    def get_next_fire_time(self, previous_fire_time: datetime | None, now: datetime) -> datetime | None:
        result = super().get_next_fire_time(previous_fire_time, now)
        step = timedelta(minutes=1)
        while result is not None and previous_fire_time is not None and result <= previous_fire_time:
            # APScheduler starts from previous_fire_time itself when given one: search from a later instant
            result = super().get_next_fire_time(None, previous_fire_time + step)
            step *= 2
        return result


def _weekday_names(field: str) -> str:
    parts = []
    for part in field.split(","):
        base, _, step = part.partition("/")
        if base in ("*", "?"):
            if step:  # "*/2": every second day from Sunday
                parts.append(",".join(WEEKDAYS[d] for d in range(0, 7, int(step))))
            else:
                parts.append("*")
            continue
        if step:
            start, _, end = base.partition("-")
            first, last = int(start), int(end) if end else 6
            parts.append(",".join(WEEKDAYS[d] for d in range(first, last + 1, int(step))))
            continue

        def name(match: re.Match[str]) -> str:
            number = int(match.group())
            if number > 7:
                raise CronError(f"weekday {number} is out of range 0-7")
            return WEEKDAYS[number]

        parts.append(_NUMBER.sub(name, base))
    return ",".join(parts)


def parse_cron(expression: str, zone: ZoneInfo) -> CronTrigger:
    """A CronTrigger in `zone` for a standard cron expression; CronError names what is wrong."""
    fields = expression.split()
    if len(fields) != 5:
        raise CronError(f"{expression!r}: a schedule has five fields (minute hour day month weekday)")
    minute, hour, day, month, weekday = fields
    try:
        return MonotonicCronTrigger(
            minute=minute, hour=hour, day=day, month=month, day_of_week=_weekday_names(weekday), timezone=zone
        )
    except (ValueError, TypeError) as error:
        raise CronError(f"{expression!r}: {error}") from None
