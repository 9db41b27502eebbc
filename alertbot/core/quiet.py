"""Quiet hours: a local-time window ("22:00-07:00", may wrap midnight) in which reminders wait."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

OFF_WORDS = {"", "off", "none", "关", "关闭", "无"}
_WINDOW = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*[-–~至到]\s*(\d{1,2}):(\d{2})\s*$")


class QuietHoursError(ValueError):
    """Not a window like 22:00-07:00."""


@dataclass(frozen=True, slots=True)
class QuietHours:
    start: time
    end: time

    @classmethod
    def parse(cls, text: str | None) -> QuietHours | None:
        """The window, or None for "no quiet hours" ('' or off)."""
        if text is None or text.strip().casefold() in OFF_WORDS:
            return None
        match = _WINDOW.match(text)
        if match is None:
            raise QuietHoursError(f"{text!r} is not a window like 22:00-07:00")
        h1, m1, h2, m2 = (int(g) for g in match.groups())
        if h1 > 23 or h2 > 23 or m1 > 59 or m2 > 59:
            raise QuietHoursError(f"{text!r} is not a valid time of day")
        if (h1, m1) == (h2, m2):
            return None
        return cls(time(h1, m1), time(h2, m2))

    def __str__(self) -> str:
        return f"{self.start:%H:%M}-{self.end:%H:%M}"

    def contains(self, moment: time) -> bool:
        if self.start < self.end:
            return self.start <= moment < self.end
        return moment >= self.start or moment < self.end

    def release(self, moment: datetime, zone: ZoneInfo) -> datetime:
        """`moment` itself if it is outside the window, else the window's end (in the same instant's zone)."""
        local = moment.astimezone(zone)
        if not self.contains(local.time().replace(tzinfo=None)):
            return moment
        end = datetime.combine(local.date(), self.end, tzinfo=zone)
        if end <= local:
            end = datetime.combine(local.date() + timedelta(days=1), self.end, tzinfo=zone)
        return end.astimezone(moment.tzinfo)
