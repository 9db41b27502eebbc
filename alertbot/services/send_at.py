"""A later sending time as an official types it ('18:30', '12-01 08:00', '2026-12-01 08:00'), and its limits."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from alertbot.core.errors import ScheduleError
from alertbot.services.formatting import TIME_FORMAT

MIN_SCHEDULE_AHEAD = timedelta(minutes=1)
MAX_SCHEDULE_AHEAD = timedelta(days=30)
_PATTERNS = (TIME_FORMAT, "%m-%d %H:%M", "%H:%M")  # the fullest first: what alertbot writes, it reads


def check_send_at(send_at: datetime, now: datetime) -> None:
    """A later sending time must be at least a minute and at most 30 days after `now`."""
    if send_at.tzinfo is None:
        raise ScheduleError("the sending time needs a time zone", problem="zone")
    if send_at < now + MIN_SCHEDULE_AHEAD:
        raise ScheduleError("the sending time must be at least a minute from now", problem="past")
    if send_at > now + MAX_SCHEDULE_AHEAD:
        raise ScheduleError("the sending time must be within 30 days", problem="far")


def parse_send_at(text: str, zone: ZoneInfo, now: datetime) -> datetime:
    """'18:30' (today, or tomorrow if past), '12-01 08:00' (this year) or '2026-12-01 08:00', in `zone`."""
    local_now = now.astimezone(zone)
    cleaned = " ".join(text.replace("T", " ").split())
    for pattern in _PATTERNS:
        try:
            parsed = datetime.strptime(cleaned, pattern)  # noqa: DTZ007 - the zone is set just below
        except ValueError:
            continue
        if pattern == "%H:%M":
            moment = local_now.replace(hour=parsed.hour, minute=parsed.minute, second=0, microsecond=0)
            if moment <= local_now:
                moment += timedelta(days=1)
            return moment
        year = parsed.year if pattern.startswith("%Y") else local_now.year
        return parsed.replace(year=year, tzinfo=zone)
    raise ScheduleError(f"{text!r} is not a time like 18:30 or 2026-12-01 08:00", problem="format")
