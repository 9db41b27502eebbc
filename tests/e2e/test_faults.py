"""The fault-injection suite: the real bot, the Bot API test double and real databases, while things break.

Each scenario asserts what alertbot promises under it: every reachable recipient reached (for a
withdrawn broadcast: nobody after the withdrawal), duplicates within the in-flight bound, the queue
drained, no request over the token's limit, and a correct delivery report.

Run alone with `uv run pytest -m faults`. Sizes are small (a few hundred recipients at the free rate of
30 msg/s) so the suite fits CI; the figures each test measures are printed (`-s` shows them).
"""

from __future__ import annotations

import asyncio
import random
import subprocess
import sys
import time
from collections import Counter
from collections.abc import AsyncIterator, Iterable
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from sqlalchemy.engine import make_url

from alertbot.app import Application
from alertbot.config import AppConfig
from alertbot.core.domain import Severity
from alertbot.sandbox.botapi import FakeBotAPI
from alertbot.sandbox.botapi.state import ApiError
from alertbot.services.drafts import AlertDraft
from alertbot.storage import Database
from tests import stalls
from tests.harness import (
    REPO,
    faketime,
    fresh_postgres,
    make_config,
    process_environment,
    running_bot,
    seed_residents,
    wait_until_done,
    write_config,
)
from tests.tcp_proxy import TcpProxy

pytestmark = pytest.mark.faults

OFFICER, SUPERVISOR = 1001, 1002
RATE = 30
LEAK = {"location": "北二马路 12 号", "hotline": "96177"}


def gas_leak(*districts: str, **changes: Any) -> AlertDraft:
    return AlertDraft(**({"template_id": "gas_leak", "variables": LEAK, "districts": districts} | changes))


def limited(api: FakeBotAPI) -> None:
    """Telegram's limits, edits counted: 30 msg/s over any second, 1/s per chat."""
    api.set_rate_limit(global_per_sec=RATE, per_chat_per_sec=1, group_per_min=20, count_edits=True)


def bot_config(api: FakeBotAPI, url: str, **dispatch: Any) -> AppConfig:
    return make_config(api, url, dispatch={"rate": RATE, "progress_interval": "3s", **dispatch})


def in_flight_bound(bot: Application) -> int:
    """What may be sent twice after a fault: requests in flight, a claim batch, unrecorded answers."""
    outbox = bot.outbox
    return outbox.in_flight_limit + outbox.max_unrecorded + max(1, int(bot.config.dispatch.rate * 0.2))


def received(api: FakeBotAPI, chats: Iterable[int]) -> Counter[int]:
    return Counter({chat: len(api.messages(chat)) for chat in chats})


async def assert_delivered(bot: Application, api: FakeBotAPI, broadcast_id: int, chats: range, *, bound: int) -> int:
    """Everyone reached, duplicates bounded, the queue drained, the limit kept, the report right."""
    counts = received(api, chats)
    missing = [chat for chat, n in counts.items() if n == 0]
    duplicates = sum(n - 1 for n in counts.values() if n > 1)
    assert not missing, f"{len(missing)} recipients never reached, e.g. {missing[:5]}"
    assert duplicates <= bound, f"{duplicates} duplicates > in-flight bound {bound}"
    assert await bot.services.outbox.queue_depth() == {}, "queue not drained"
    flood = [(m, p.get("chat_id"), str(e)) for m, p, e in api.errors if e.error_code == 429]
    over = f"{api.rate_limited} requests over the token's limit: {flood[:5]}; {api.floods[:5]}; {stalls.describe()}"
    assert api.rate_limited == 0, over
    assert api.max_in_window() <= RATE
    report = await bot.services.alerts.report(broadcast_id)
    assert report.counts.sent == len(chats) and report.counts.failed == 0, report.counts
    return duplicates


async def wait_for_sent(api: FakeBotAPI, chats: range, at_least: int, timeout: float = 60) -> None:
    await api.wait_until(lambda: sum(1 for c in chats if api.messages(c)) >= at_least, timeout=timeout)


async def kill_connections(url: str) -> int:
    """pg_terminate_backend for every connection to the bot's database; how many were killed."""
    name = make_url(url).database
    admin = await asyncpg.connect(url)
    try:
        return len(
            await admin.fetch(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()",
                name,
            )
        )
    finally:
        await admin.close()


# -- the database -------------------------------------------------------------------------------


async def test_every_postgresql_connection_killed_twice_during_a_broadcast(api: FakeBotAPI) -> None:
    limited(api)
    chats = range(100_000, 100_600)
    async with fresh_postgres() as url, running_bot(bot_config(api, url)) as bot:
        await seed_residents(bot.database, chats, ("hunnan",))
        confirmation = await bot.services.alerts.confirm(OFFICER, gas_leak("hunnan"))
        killed = []
        for mark in (150, 400):
            await wait_for_sent(api, chats, mark)
            killed.append(await kill_connections(url))
        await wait_until_done(bot, confirmation.broadcast.id, timeout=90)
        duplicates = await assert_delivered(bot, api, confirmation.broadcast.id, chats, bound=in_flight_bound(bot))
        print(f"connections killed {killed}; 600 reached, {duplicates} duplicates, max {api.max_in_window()}/s")
        assert all(killed), "the test killed no connection"


async def test_database_gone_mid_broadcast_then_back_finishes_without_restart(api: FakeBotAPI) -> None:
    """All connections dropped and new ones refused for 8 s: the broadcast finishes once it is back."""
    limited(api)
    chats = range(110_000, 110_450)
    async with fresh_postgres() as url:
        real = make_url(url)
        async with TcpProxy(real.host or "127.0.0.1", real.port or 5432) as proxy:
            proxied = real.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
            async with running_bot(bot_config(api, proxied)) as bot:
                await seed_residents(bot.database, chats, ("hunnan",))
                confirmation = await bot.services.alerts.confirm(OFFICER, gas_leak("hunnan"))
                await wait_for_sent(api, chats, 100)
                proxy.cut()
                await asyncio.sleep(8)
                during = sum(received(api, chats).values())
                proxy.restore()
                back = time.monotonic()
                await wait_until_done(bot, confirmation.broadcast.id, timeout=60)
                finished = time.monotonic() - back
                duplicates = await assert_delivered(
                    bot, api, confirmation.broadcast.id, chats, bound=in_flight_bound(bot)
                )
                last_error = bot.outbox.health.last_error or bot.outbox.recorder_health.last_error
        remaining = (450 - during) / RATE
        print(
            f"database away 8 s ({proxy.refused} connections refused); finished {finished:.1f} s after it came back "
            f"(the rest needs {remaining:.1f} s at {RATE}/s); {duplicates} duplicates; last error: {last_error}"
        )
        assert proxy.refused > 0 and last_error is not None, "the outage did not reach the bot"
        assert finished < 60


async def test_sqlite_write_locked_longer_than_the_busy_timeout(api: FakeBotAPI, tmp_path: Path) -> None:
    limited(api)
    chats = range(120_000, 120_450)
    db_path = tmp_path / "bot.db"
    async with running_bot(bot_config(api, f"sqlite:///{db_path}")) as bot:
        await seed_residents(bot.database, chats, ("hunnan",))
        confirmation = await bot.services.alerts.confirm(OFFICER, gas_leak("hunnan"))
        await wait_for_sent(api, chats, 100)
        locker = await asyncio.create_subprocess_exec(  # holds the write lock 12 s (busy timeout: 10 s)
            sys.executable, "-c", LOCK_SCRIPT, str(db_path), "12", stdout=asyncio.subprocess.PIPE
        )
        assert locker.stdout is not None and (await locker.stdout.readline()).strip() == b"locked"
        await asyncio.wait_for(locker.wait(), 30)
        await wait_until_done(bot, confirmation.broadcast.id, timeout=60)
        duplicates = await assert_delivered(bot, api, confirmation.broadcast.id, chats, bound=in_flight_bound(bot))
        errors = [bot.outbox.health.last_error, bot.outbox.recorder_health.last_error, bot.leadership.health.last_error]
        print(f"write lock held 12 s; 450 reached, {duplicates} duplicates; errors seen: {[e for e in errors if e]}")
        assert any(e and "locked" in e for e in errors), "the lock did not reach the bot"


LOCK_SCRIPT = """
import sqlite3, sys, time
conn = sqlite3.connect(sys.argv[1], isolation_level=None)
conn.execute("BEGIN IMMEDIATE")
print("locked", flush=True)
time.sleep(float(sys.argv[2]))
conn.execute("COMMIT")
"""


# -- Telegram -----------------------------------------------------------------------------------


async def test_bot_api_errors_slowness_html_pages_resets_and_429_bursts(api: FakeBotAPI, backend_url: str) -> None:
    limited(api)
    chats = range(130_000, 130_300)
    config = bot_config(api, backend_url, send_timeout="2s", max_attempts=12)
    async with running_bot(config) as bot:
        await seed_residents(bot.database, chats, ("hunnan",))
        seed = api.set_faults(
            server_error=0.10, slow=0.05, slow_seconds=4, slow_delivers=True, html_502=0.03, reset=0.03,
            methods=("sendMessage",),
        )  # fmt: skip
        confirmation = await bot.services.alerts.confirm(OFFICER, gas_leak("hunnan"))
        await wait_for_sent(api, chats, 100)
        api.burst_429(2, retry_after=2)
        await wait_until_done(bot, confirmation.broadcast.id, timeout=120)
        api.clear_faults()
        faults = dict(api.faults_injected)
        # a slow answer that still delivered, then timed out, is re-sent: Telegram really does that too
        bound = faults.get("slow", 0) + in_flight_bound(bot)
        duplicates = await assert_delivered(bot, api, confirmation.broadcast.id, chats, bound=bound)
        stored = await stored_text(bot.database)
        print(f"faults {faults} (seed {seed}); 300 reached, {duplicates} duplicates")
        assert faults.get("html_502") and faults.get("reset") and faults.get("burst_429")
        assert api.token not in stored and api.token.split(":")[1] not in stored, "the bot token reached the database"


async def stored_text(database: Database) -> str:
    """Every row of every table, as text (to look for what must not be stored)."""
    from sqlalchemy import select

    from alertbot.storage.tables import metadata

    parts: list[str] = []
    async with database.connect() as conn:
        for table in metadata.sorted_tables:
            parts.extend(str(tuple(row)) for row in await conn.execute(select(table)))
    return "\n".join(parts)


# -- withdrawal ---------------------------------------------------------------------------------


async def test_cancel_while_deliveries_are_in_flight_and_retried(api: FakeBotAPI, backend_url: str) -> None:
    """After cancel returns nothing more goes out: not the retries of 5xx answers, not the slow ones."""
    limited(api)
    chats = range(140_000, 140_300)
    async with running_bot(bot_config(api, backend_url, send_timeout="2s")) as bot:
        await seed_residents(bot.database, chats, ("hunnan",))
        api.set_faults(server_error=0.3, slow=0.05, slow_seconds=3, methods=("sendMessage",))
        confirmation = await bot.services.alerts.confirm(OFFICER, gas_leak("hunnan"))
        await wait_for_sent(api, chats, 60)
        stopped = await bot.services.alerts.cancel(OFFICER, confirmation.broadcast.id)
        cancelled_at = time.monotonic()
        await wait_until_done(bot, confirmation.broadcast.id, timeout=30)
        await asyncio.sleep(4)  # longer than any backoff of a retried request
        after = late_messages(api, chats, cancelled_at)
        report = await bot.services.alerts.report(confirmation.broadcast.id)
        print(f"cancel stopped {stopped}; {len(after)} messages after the cancel; report {report.counts}")
        assert after == [], f"{len(after)} messages went out after the cancel"
        assert report.counts.open == 0 and report.counts.sent + report.counts.cancelled == len(chats)
        assert report.counts.sent == sum(1 for c in chats if api.messages(c))


async def test_cancel_while_a_send_waits_for_its_slot(api: FakeBotAPI, backend_url: str) -> None:
    """A send that passed its withdrawal check, then waited for the token's slot, looks again once it has it.

    At 8 messages/s each send waits about 0.13 s for its slot, less than the 0.2 s between two looks at the
    database: without a look after the wait, the one waiting when the cancel came went out after it.
    """
    limited(api)
    chats = range(145_000, 145_100)

    def total() -> int:
        return sum(len(api.messages(c)) for c in chats)

    async with running_bot(make_config(api, backend_url, dispatch={"rate": 8, "progress_interval": "3s"})) as bot:
        await seed_residents(bot.database, chats, ("hunnan",))
        late: list[int] = []
        for _ in range(4):  # four broadcasts, each cancelled at a random point of a slot's wait
            sent = total()
            confirmation = await bot.services.alerts.confirm(OFFICER, gas_leak("hunnan"), force_duplicate=True)
            await api.wait_until(lambda: total() >= sent + 4, timeout=30)  # noqa: B023 (used at once)
            await asyncio.sleep(random.uniform(0, 0.13))
            await bot.services.alerts.cancel(OFFICER, confirmation.broadcast.id)
            cancelled_at = time.monotonic()  # committed: a send that looked before it may still be on its way
            await asyncio.sleep(0.5)
            late.extend(late_messages(api, chats, cancelled_at))
        print(f"{len(late)} messages after four cancels")
        assert late == [], f"{len(late)} messages went out after a cancel"


def late_messages(api: FakeBotAPI, chats: Iterable[int], since: float, grace: float = 0.05) -> list[int]:
    """Chats that got a message more than `grace` s after `since` (a request already on the wire may land)."""
    return [c for c in chats for m in api.messages(c) if m["sent_at"] > since + grace]


async def test_sent_in_error_while_deliveries_are_in_flight_and_retried(api: FakeBotAPI, backend_url: str) -> None:
    limited(api)
    chats = range(150_000, 150_300)
    async with running_bot(bot_config(api, backend_url, send_timeout="2s")) as bot:
        await seed_residents(bot.database, chats, ("hunnan",))
        api.set_faults(server_error=0.3, methods=("sendMessage",))
        original = await bot.services.alerts.confirm(OFFICER, gas_leak("hunnan"))
        await wait_for_sent(api, chats, 60)
        alerts = bot.services.alerts
        draft = await alerts.follow_up_draft(OFFICER, original.broadcast.id, "sent_in_error")
        correction = await alerts.confirm(OFFICER, draft)
        corrected_at = time.monotonic()
        api.clear_faults()
        await wait_until_done(bot, correction.broadcast.id, timeout=60)
        await wait_until_done(bot, original.broadcast.id, timeout=30)
        await asyncio.sleep(3)
        original_text = (await alerts.get(original.broadcast.id)).texts["zh"]  # type: ignore[union-attr]
        late = [
            c
            for c in chats
            for m in api.messages(c)
            if m["text"] == original_text and m["sent_at"] > corrected_at + 0.05
        ]
        reached = {c for c in chats for m in api.messages(c) if m["text"] == original_text}
        corrected = {c for c in chats for m in api.messages(c) if m["text"] != original_text}
        print(f"original reached {len(reached)}, correction reached {len(corrected)}, {len(late)} late originals")
        assert late == [], "the original went out after its correction"
        assert reached <= corrected, "everyone who got the original must get the correction"
        # those whose original was in flight at the correction get it too, whether or not theirs landed
        assert len(corrected - reached) <= in_flight_bound(bot)


async def test_cancel_and_approval_at_the_same_moment(api: FakeBotAPI, backend_url: str) -> None:
    """Whichever wins, the official is told the truth: approved then cancelled, or cancelled and never sent."""
    async with running_bot(bot_config(api, backend_url)) as bot:
        await seed_residents(bot.database, range(160_000, 160_050), ("hunnan",))
        alerts = bot.services.alerts
        outcomes = Counter()
        for round_ in range(8):
            draft = gas_leak("hunnan", severity=Severity.EXTREME, variables=LEAK | {"location": f"site {round_}"})
            request = await alerts.confirm(OFFICER, draft)
            assert request.outcome == "pending_approval"
            broadcast_id = request.broadcast.id
            cancelled, approved = await asyncio.gather(
                alerts.cancel(OFFICER, broadcast_id),
                alerts.decide(SUPERVISOR, broadcast_id, approve=True),
                return_exceptions=True,
            )
            await asyncio.sleep(0.3)
            counts = await bot.services.broadcasts.counts(broadcast_id)
            assert isinstance(cancelled, int), cancelled
            if isinstance(approved, BaseException):  # cancel won: nothing may have been queued
                outcomes["cancel first"] += 1
                assert counts.total == 0, counts
            else:  # approval won: the cancel stopped all that was still pending and said how many; deliveries
                # the sender had already claimed are stopped by its withdrawal check (never sent after the cancel)
                outcomes["approval first"] += 1
                assert counts.pending == 0 and counts.sent + counts.cancelled == counts.total, (cancelled, counts)
                assert cancelled <= counts.cancelled <= cancelled + in_flight_bound(bot), (cancelled, counts)
        print(f"cancel/approval races: {dict(outcomes)}")


# -- leases and clocks --------------------------------------------------------------------------


@pytest.fixture
async def postgres_url() -> AsyncIterator[str]:
    async with fresh_postgres() as url:
        yield url


async def start_bot(config_path: Path, api: FakeBotAPI, clock: dict[str, str]) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable, "-m", "alertbot", "run", "--config", str(config_path),
        cwd=REPO, env=process_environment(ALERTBOT_TELEGRAM_TOKEN=api.token, **clock),
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
    )  # fmt: skip


def process_config(folder: Path, api: FakeBotAPI, url: str, instance: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = write_config(
        folder, api, folder / "unused.db",
        f'dispatch.instance = "{instance}"\ndispatch.lease_ttl = "3s"\ndispatch.progress_interval = "3s"',
    )  # fmt: skip
    path.write_text(path.read_text().replace(f"sqlite:///{folder / 'unused.db'}", url))
    return path


async def test_lease_handover_between_instances_whose_clocks_differ_by_30_s(
    api: FakeBotAPI, postgres_url: str, tmp_path: Path
) -> None:
    """B runs 30 s ahead. It must not take A's lease (by its own clock A's lease ran out long ago), and
    when A dies, B takes over and finishes: never both at once, the limit kept, duplicates bounded."""
    limited(api)
    chats = range(170_000, 170_300)
    ahead = faketime("+30s")
    a = await start_bot(process_config(tmp_path / "a", api, postgres_url, "bot-a"), api, {})
    b: asyncio.subprocess.Process | None = None
    try:
        async with running_services(api, postgres_url) as services:
            await api.wait_until(lambda: api.calls("getUpdates"), timeout=20)
            b = await start_bot(process_config(tmp_path / "b", api, postgres_url, "bot-b"), api, ahead)
            await asyncio.sleep(6)  # two of B's lease times: a B that trusted its own clock would take over now
            await seed_residents(services.database, chats, ("hunnan",))
            confirmation = await services.alerts.confirm(OFFICER, gas_leak("hunnan"))
            await wait_for_sent(api, chats, 120)
            holder_before = await current_holder(services.database)
            a.kill()  # SIGKILL: no goodbye, its lease simply stops being renewed
            await a.wait()
            await wait_for_sent(api, chats, 300, timeout=60)
            # drained: A's unrecorded last claims are re-queued at once (its pid is gone), or at the latest
            # when their claim lease (send timeout + 10 s) has run out
            for _ in range(450):
                if (await services.broadcasts.counts(confirmation.broadcast.id)).open == 0:
                    break
                await asyncio.sleep(0.1)
            holder_after = await current_holder(services.database)
            counts = received(api, chats)
            duplicates = sum(n - 1 for n in counts.values() if n > 1)
            report = await services.alerts.report(confirmation.broadcast.id)
        print(f"holder {holder_before} then {holder_after}; {duplicates} duplicates; max {api.max_in_window()}/s")
        assert holder_before == "bot-a" and holder_after == "bot-b"
        assert api.rate_limited == 0 and api.max_in_window() <= RATE, f"{api.floods}; {stalls.describe()}"
        assert duplicates <= 32  # bot-a's in-flight window at 30/s: 7 in flight + 6 claimed + 19 unrecorded
        assert report.counts.sent == len(chats)
    finally:
        for process in (a, b):
            if process is not None and process.returncode is None:
                process.kill()
                await process.wait()


async def current_holder(database: Database) -> str | None:
    from alertbot.storage.leases import LeaseRepository

    return await LeaseRepository(database).holder("dispatch")


class running_services:
    """The services (no bot) on a database: the test's own hands on it, like a second process would."""

    def __init__(self, api: FakeBotAPI, url: str) -> None:
        self._config = make_config(api, url)

    async def __aenter__(self) -> Any:
        from alertbot.services.container import build_services

        self._services = await build_services(self._config)
        return self._services

    async def __aexit__(self, *_: object) -> None:
        await self._services.database.close()


async def test_a_cli_whose_clock_runs_10_minutes_ahead_does_not_delay_a_warning(
    api: FakeBotAPI, backend_url: str, tmp_path: Path
) -> None:
    ahead = faketime("+600s")
    chats = range(180_000, 180_020)
    config = bot_config(api, backend_url)
    async with running_bot(config) as bot:
        await seed_residents(bot.database, chats, ("hunnan",))
        path = write_config(tmp_path, api, tmp_path / "unused.db")
        path.write_text(path.read_text().replace(f"sqlite:///{tmp_path / 'unused.db'}", backend_url))
        started = time.monotonic()
        result = await asyncio.to_thread(
            subprocess.run,
            [sys.executable, "-m", "alertbot", "alert", "send", "--config", str(path), "-t", "gas_leak",
             "-d", "hunnan", "--var", "location=北二马路 12 号", "--var", "hotline=96177",
             "--yes", "--as", str(OFFICER)],
            cwd=REPO, env=process_environment(ALERTBOT_TELEGRAM_TOKEN=api.token, **ahead), capture_output=True,
            text=True, timeout=60,
        )  # fmt: skip
        assert result.returncode == 0, result.stderr
        queued = time.monotonic()
        await wait_for_sent(api, chats, len(chats), timeout=15)
        print(f"CLI 10 min ahead: reached all {len(chats)} {time.monotonic() - queued:.1f} s after it queued "
              f"(the CLI took {queued - started:.1f} s)")  # fmt: skip


async def test_a_second_live_instance_with_the_same_name_is_refused(api: FakeBotAPI, backend_url: str) -> None:
    from alertbot.app import build_application
    from alertbot.core.errors import DuplicateInstanceError

    config = bot_config(api, backend_url, instance="bot-a", lease_ttl="1s")
    async with running_bot(config):
        with pytest.raises(DuplicateInstanceError, match="bot-a"):
            await build_application(config)


# -- what is stored about failures ------------------------------------------------------------


async def test_long_and_secret_bearing_error_texts_never_block_recording(api: FakeBotAPI, backend_url: str) -> None:
    """A 5xx whose text is a whole page, and a proxy redirect loop whose error names the request URL (with the
    bot token): recording goes on, and what is stored is short and holds no token."""
    chats = range(190_000, 190_040)
    async with running_bot(bot_config(api, backend_url, max_attempts=2)) as bot:
        await seed_residents(bot.database, chats, ("hunnan",))
        page = "Internal Server Error: " + "upstream failed; " * 60
        api.fail_next("sendMessage", ApiError(500, page), chat_id=chats[0], times=2)
        api.redirect_next("sendMessage", chat_id=chats[1], times=2)
        confirmation = await bot.services.alerts.confirm(OFFICER, gas_leak("hunnan"))
        await wait_until_done(bot, confirmation.broadcast.id, timeout=30)
        report = await bot.services.alerts.report(confirmation.broadcast.id)
        errors = [error or "" for _, _, error in report.failures]
        stored = await stored_text(bot.database)
    print(f"report {report.counts}; stored errors: {errors}")
    assert report.counts.failed == 2 and report.counts.sent == len(chats) - 2
    assert all(len(e) <= 200 for e in errors) and all("gave up after 2 tries" in e for e in errors)
    assert any("TooManyRedirects" in e for e in errors)
    assert api.token not in stored and api.token.split(":")[1] not in stored, "the bot token reached the database"
