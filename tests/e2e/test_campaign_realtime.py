"""A campaign scheduled every minute, on the real clock, with the real `alertbot run` process killed with
SIGKILL across a minute boundary and restarted: every minute's reminder arrives, once.

This is the one test that waits for real time (about two minutes): the scheduler itself is under test.
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
from tests.harness import alertbot_process, seed_residents, write_config

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


async def until_second(second: float) -> None:
    """Sleep until the wall clock's seconds reach `second` (in the current or the next minute)."""
    now = time.time()
    wait = (second - now % 60) % 60
    await asyncio.sleep(wait)


async def test_every_minute_once_across_a_kill_9_at_the_minute_boundary(api: FakeBotAPI, tmp_path: Path) -> None:
    config_path = write_config(tmp_path, api, tmp_path / "bot.db", 'bot.quiet_hours = ""')
    config_path.write_text(config_path.read_text(encoding="utf-8") + MINUTELY, encoding="utf-8")
    services = await build_services(load_config(config_path))
    try:
        await seed_residents(services.database, RESIDENTS, ("heping",))
    finally:
        await services.database.close()

    async with alertbot_process(config_path, api) as first:
        # the minute it starts in is caught up at once; wait for one more minute to come round
        await api.wait_until(lambda: len(minutes_received(api, RESIDENTS[0])) >= 2, timeout=90)
        await until_second(55)
        first.send_signal(signal.SIGKILL)
        await first.wait()
    killed_at = datetime.now(UTC)
    await until_second(8)  # down across the boundary: that minute's occurrence passes while nobody runs
    assert datetime.now(UTC).minute != killed_at.minute

    async with alertbot_process(config_path, api) as second:
        seen = len(minutes_received(api, RESIDENTS[0]))
        await api.wait_until(lambda: len(minutes_received(api, RESIDENTS[0])) >= seen + 2, timeout=90)
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
