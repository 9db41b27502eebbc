"""Five-field cron to an APScheduler trigger."""

from __future__ import annotations

import pytest


def test_cron_weekdays_are_standard_and_the_trigger_always_advances() -> None:
    from datetime import UTC, datetime, timedelta
    from zoneinfo import ZoneInfo

    from alertbot.core.cron import CronError, parse_cron

    shanghai = ZoneInfo("Asia/Shanghai")
    sunday = datetime(2026, 11, 29, 12, 0, tzinfo=shanghai)
    monday = parse_cron("0 9 * * 1", shanghai).get_next_fire_time(None, sunday)
    assert monday is not None and monday.weekday() == 0  # cron's 1 is Monday (APScheduler's own 1 is Tuesday)
    for sunday_number in ("0", "7"):
        fire = parse_cron(f"0 9 * * {sunday_number}", shanghai).get_next_fire_time(None, sunday)
        assert fire is not None and fire.weekday() == 6
    with pytest.raises(CronError):
        parse_cron("0 9 * *", shanghai)
    # the second 01:30 of the night clocks go back: the next fire time must still move forward
    new_york = ZoneInfo("America/New_York")
    trigger = parse_cron("30 1 * * *", new_york)
    second = datetime(2026, 11, 1, 6, 30, tzinfo=UTC)
    following = trigger.get_next_fire_time(second, second + timedelta(seconds=1))
    assert following is not None and following > second
