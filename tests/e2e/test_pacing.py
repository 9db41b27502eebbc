"""One pace per bot token: the Pacer's guarantees, and every request of the real bot going through it."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path

from alertbot.delivery.pacing import BULK, URGENT, WINDOW_SECONDS, Pacer
from alertbot.sandbox.botapi import FakeBotAPI
from alertbot.sandbox.botapi.state import ApiError, max_in_window
from alertbot.services.drafts import AlertDraft
from tests import stalls
from tests.harness import Person, make_config, running_bot, seed_residents, wait_until_done

OFFICER = 1001
LEAK = {"location": "北二马路 12 号", "hotline": "96177"}


async def test_no_window_holds_more_than_the_rate_even_after_catching_up() -> None:
    pacer = Pacer(20)
    times: list[float] = []
    for index in range(50):
        if index == 10:
            await asyncio.sleep(0.4)  # fell behind: the bucket refills and wants to catch up
        await pacer.slot()
        await pacer.depart()
        times.append(time.monotonic())
    assert max_in_window(times, WINDOW_SECONDS) <= 20


async def test_urgent_requests_take_the_next_slot_before_bulk_ones() -> None:
    pacer = Pacer(10)
    for _ in range(2):  # use up the burst, so the next slot is a tenth of a second away
        await pacer.slot()
    order: list[str] = []

    async def take(name: str, priority: int) -> None:
        await pacer.slot(priority)
        order.append(name)

    bulk = [asyncio.create_task(take(f"bulk{i}", BULK)) for i in range(3)]
    await asyncio.sleep(0.01)
    urgent = asyncio.create_task(take("urgent", URGENT))
    await asyncio.gather(*bulk, urgent)
    assert order[0] == "urgent", order


async def test_a_pause_holds_every_slot_until_it_ends() -> None:
    pacer = Pacer(30)
    pacer.pause(0.3)
    started = time.monotonic()
    await pacer.slot(URGENT)
    assert time.monotonic() - started >= 0.29


def gas_leak(district: str) -> AlertDraft:
    return AlertDraft(template_id="gas_leak", variables=LEAK, districts=(district,))


async def test_progress_edits_and_reports_share_the_token_pace_with_the_broadcast(
    api: FakeBotAPI, db_path: Path
) -> None:
    """Telegram counts edits too: a broadcast at the free limit plus progress edits must not exceed it."""
    api.set_rate_limit(global_per_sec=30, per_chat_per_sec=1, group_per_min=20, count_edits=True)
    config = make_config(api, db_path, dispatch={"rate": 30, "progress_interval": "1s"})
    async with running_bot(config) as bot:
        await seed_residents(bot.database, range(2000, 2240), ("hunnan",))
        confirmation = await bot.services.alerts.confirm(OFFICER, gas_leak("hunnan"), report_chat_id=OFFICER)
        await wait_until_done(bot, confirmation.broadcast.id, timeout=30)
        await api.wait_until(lambda: any("✅" in (m.get("text") or "") for m in api.messages(OFFICER)), timeout=5)
    edits = len(api.calls("editMessageText"))
    print(f"{edits} progress edits; max {api.max_in_window()} counted requests in a second; {api.rate_limited} 429s")
    assert edits >= 3, "the test needs progress edits during the broadcast"
    assert api.rate_limited == 0, f"{api.floods}; {stalls.describe()}"
    assert api.max_in_window() <= 30


async def test_a_reply_to_someone_who_just_wrote_does_not_wait_for_a_flood_pause(
    api: FakeBotAPI, db_path: Path, person: Callable[..., Person]
) -> None:
    config = make_config(api, db_path, dispatch={"rate": 30})
    async with running_bot(config) as bot:
        await seed_residents(bot.database, range(3000, 3010), ("hunnan",))
        api.fail_next("sendMessage", ApiError.too_many_requests(6), chat_id=3000)
        await bot.services.alerts.confirm(OFFICER, gas_leak("hunnan"))
        for _ in range(100):  # the double's wait_until wakes on its own changes only: poll the bot
            if bot.outbox.pacer.paused_for > 0:
                break
            await asyncio.sleep(0.05)
        started = time.monotonic()
        reply = await person(4242).say("/help", timeout=5)
        waited = time.monotonic() - started
        assert reply["text"]
        assert bot.outbox.pacer.paused_for > 1, f"the pause should still be on (the reply took {waited:.2f} s)"
    assert waited < 3, f"the reply waited {waited:.1f} s for the token's flood pause"


async def test_a_reply_refused_for_flooding_its_chat_is_sent_again_after_the_wait(
    api: FakeBotAPI, db_path: Path, person: Callable[..., Person]
) -> None:
    # Telegram allows short bursts in one chat, then answers 429: someone typing fast in the /alert flow (as the
    # sandbox's browser test does) got "Sorry, something went wrong" and lost the step.
    async with running_bot(make_config(api, db_path)):
        officer = person(OFFICER, "en")
        await officer.say("/help")
        api.fail_next("sendMessage", ApiError.too_many_requests(1), chat_id=OFFICER)
        started = time.monotonic()
        reply = await officer.say("/alert", timeout=5)
        assert "Choose a template" in reply["text"] or api.buttons(reply), reply["text"]
        assert 1 <= time.monotonic() - started < 3
        await asyncio.sleep(0.3)
        assert [m["text"] for m in officer.messages if "went wrong" in (m["text"] or "")] == []


async def test_paid_and_free_paces_have_their_own_buckets_and_share_a_pause() -> None:
    pacer = Pacer(10, paid_rate=100)
    free: list[float] = []
    paid: list[float] = []

    async def send(paid_pace: bool, times: list[float], count: int) -> None:
        for _ in range(count):
            await pacer.slot(paid=paid_pace)
            await pacer.depart(paid=paid_pace)
            times.append(time.monotonic())

    started = time.monotonic()
    await asyncio.gather(send(False, free, 10), send(True, paid, 100))
    paid_took = paid[-1] - started
    assert paid_took < 1.3, f"paid requests waited behind free ones: {paid_took:.2f} s"
    assert max_in_window(free, WINDOW_SECONDS) <= 10  # the free pace stays free
    assert max_in_window(free + paid, WINDOW_SECONDS) <= 100  # and both fit the token's paid limit
    pacer.pause(0.3)  # a 429 on either holds both
    paused = time.monotonic()
    await pacer.slot(paid=True)
    assert time.monotonic() - paused >= 0.29
