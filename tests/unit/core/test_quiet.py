"""Quiet hours: the local-time window and when a reminder may go out."""

from __future__ import annotations

import pytest


def test_quiet_hours_windows() -> None:
    from datetime import datetime
    from zoneinfo import ZoneInfo

    from alertbot.core.quiet import QuietHours, QuietHoursError

    zone = ZoneInfo("Asia/Shanghai")
    night = QuietHours.parse("22:00-07:00")
    assert night is not None and str(night) == "22:00-07:00"
    assert night.release(datetime(2026, 12, 1, 23, 0, tzinfo=zone), zone) == datetime(2026, 12, 2, 7, 0, tzinfo=zone)
    assert night.release(datetime(2026, 12, 1, 6, 59, tzinfo=zone), zone) == datetime(2026, 12, 1, 7, 0, tzinfo=zone)
    assert night.release(datetime(2026, 12, 1, 7, 0, tzinfo=zone), zone) == datetime(2026, 12, 1, 7, 0, tzinfo=zone)
    lunch = QuietHours.parse("12:00-13:30")
    assert lunch is not None and lunch.release(datetime(2026, 12, 1, 12, 5, tzinfo=zone), zone).hour == 13
    assert QuietHours.parse("off") is None and QuietHours.parse("") is None
    with pytest.raises(QuietHoursError):
        QuietHours.parse("25:00-07:00")
