"""A campaign scheduled every minute, with the real `alertbot run` process killed with SIGKILL between two
minutes and restarted after the next boundary has passed: every minute's reminder arrives, once.

The scheduler itself is under test, so it waits for real boundaries on a running clock. Each process's clock is
set (libfaketime) to second 40 of a minute, so a boundary comes round in 20 s, not in up to a minute: the first
process's a little ahead of this host's, the second's at second 40 of the minute after the one it was killed
in, as if it had been down that much longer; that minute's boundary passes while nobody runs.
"""

from __future__ import annotations

import asyncio
import itertools
import re
import signal
import time
from datetime import UTC, datetime
from pathlib import Path

from alertbot.config import load_config
from alertbot.sandbox.botapi import FakeBotAPI
from alertbot.services.container import build_services
from tests.harness import alertbot_process, faketime, seed_residents, write_config

RESIDENTS = (41_000, 41_001, 41_002)
MINUTELY = """
[[campaigns]]
id = "minutely"
template = "winter_co"
schedule = "* * * * *"
audience = "all"
districts = ["heping"]
variables = { hotline = "96177" }
"""
ISSUED = re.compile(r"(\d{4}-\d{2}-\d{2} \d{2}:\d{2})")


def minutes_received(api: FakeBotAPI, chat_id: int) -> list[str]:
    return [m for message in api.messages(chat_id) for m in ISSUED.findall(message["text"])]


def clock_reading(moment: float) -> tuple[dict[str, str], float]:
    """A process environment whose clock reads `moment` (a Unix time, not in the past) now, and its offset."""
    offset = round(moment - time.time())
    return faketime(f"+{offset}s"), offset


def second_40_of(minute: int) -> float:
    """The Unix time of second 40 of the `minute`-th minute since the epoch."""
    return minute * 60 + 40.0


async def test_every_minute_once_across_a_kill_9_between_two_minutes(api: FakeBotAPI, tmp_path: Path) -> None:
    config_path = write_config(tmp_path, api, tmp_path / "bot.db", 'bot.quiet_hours = ""')
    config_path.write_text(config_path.read_text(encoding="utf-8") + MINUTELY, encoding="utf-8")
    services = await build_services(load_config(config_path))
    try:
        await seed_residents(services.database, RESIDENTS, ("heping",))
    finally:
        await services.database.close()

    def everyone_has(count: int) -> bool:
        return all(len(minutes_received(api, chat)) >= count for chat in RESIDENTS)

    clock, offset = clock_reading(second_40_of(int(time.time() // 60) + 1))
    async with alertbot_process(config_path, api, clock) as first:
        # the minute it starts in is caught up at once; the next one comes at its boundary, 20 s later
        await api.wait_until(lambda: everyone_has(2), timeout=90)
        await asyncio.sleep(2)  # every answer recorded: the kill is between two minutes, not in a send
        first.send_signal(signal.SIGKILL)
        await first.wait()
    killed_in = int((time.time() + offset) // 60)  # the minute, by the killed process's clock
    seen = len(minutes_received(api, RESIDENTS[0]))

    # restarted at second 40 of the next minute (by the same running clock): its boundary passed while nobody ran
    clock, offset = clock_reading(second_40_of(killed_in + 1))
    async with alertbot_process(config_path, api, clock) as second:
        await api.wait_until(lambda: everyone_has(seen + 2), timeout=90)
        await asyncio.sleep(1)
        second.send_signal(signal.SIGINT)
        await asyncio.wait_for(second.wait(), timeout=30)

    for chat in RESIDENTS:
        received = minutes_received(api, chat)
        assert len(received) == len(set(received)), f"a minute was repeated: {received}"
        stamps = sorted(datetime.strptime(m, "%Y-%m-%d %H:%M").replace(tzinfo=UTC) for m in received)
        gaps = [(b - a).total_seconds() for a, b in itertools.pairwise(stamps)]
        assert gaps and all(g == 60 for g in gaps), f"a minute was lost: {received}"
        assert len(received) >= 4
