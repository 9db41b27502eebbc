"""Real `alertbot` processes: kill -9 in the middle of a broadcast, and officials' command line."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
from pathlib import Path

from alertbot.config import load_config
from alertbot.core.domain import BroadcastStatus
from alertbot.sandbox.botapi import FakeBotAPI
from alertbot.services.container import build_services
from alertbot.services.drafts import AlertDraft
from alertbot.storage import Database
from tests.harness import (
    REPO,
    alertbot_process,
    delivery_rows,
    make_config,
    process_environment,
    running_bot,
    seed_residents,
    write_config,
)

RECIPIENTS = range(20_000, 20_240)
# claim batch (0.2 s at 30/s = 6) + requests in flight (8 at most) + answers not yet recorded (50 ms)
IN_FLIGHT_BOUND = 16


def messages_to_recipients(api: FakeBotAPI) -> int:
    return sum(len(api.messages(chat)) for chat in RECIPIENTS)


async def test_kill_9_mid_broadcast_then_restart_delivers_to_everyone(api: FakeBotAPI, tmp_path: Path) -> None:
    api.set_rate_limit(global_per_sec=30)
    db_path = tmp_path / "bot.db"
    config_path = write_config(tmp_path, api, db_path, 'dispatch.progress_interval = "1s"')
    services = await build_services(load_config(config_path))
    try:
        await seed_residents(services.database, RECIPIENTS, ("tiexi",))
        draft = AlertDraft("gas_leak", {"location": "兴华街", "hotline": "96177"}, ("tiexi",))
        broadcast = (await services.alerts.confirm(1003, draft, report_chat_id=1003)).broadcast
    finally:
        await services.database.close()

    async with alertbot_process(config_path, api) as first:
        await api.wait_until(lambda: messages_to_recipients(api) >= 80, timeout=30)
        first.send_signal(signal.SIGKILL)
        await first.wait()
    before_restart = messages_to_recipients(api)
    assert before_restart < len(RECIPIENTS)

    database = Database(f"sqlite:///{db_path}")
    try:
        rows = await delivery_rows(database, broadcast.id)
        states = [r.state for r in rows]
        assert states.count("sending") + states.count("pending") > 0
        for row in rows:  # nothing marked sent that Telegram did not accept
            if row.state == "sent":
                assert api.message(row.chat_id, row.message_id) is not None

        async with alertbot_process(config_path, api) as second:
            await api.wait_until(lambda: all(api.messages(chat) for chat in RECIPIENTS), timeout=60)
            await asyncio.sleep(0.5)  # let the last answers be recorded
            second.send_signal(signal.SIGINT)
            _, stderr = await asyncio.wait_for(second.communicate(), timeout=30)
            assert second.returncode == 0, stderr.decode()[-2000:]
        rows = await delivery_rows(database, broadcast.id)
    finally:
        await database.close()
    assert {r.state for r in rows} == {"sent"}
    duplicates = messages_to_recipients(api) - len(RECIPIENTS)
    print(f"kill -9 mid-broadcast: {before_restart} sent before the kill, {duplicates} duplicates")
    assert 0 <= duplicates <= IN_FLIGHT_BOUND, duplicates
    # The restarted process does not know what its predecessor sent in the last second, so Telegram may
    # answer one 429; it is honoured and the message requeued (every recipient was reached above).


def cli(*args: str, config: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "alertbot", *args, "--config", str(config)],
        capture_output=True, text=True, cwd=REPO, env=process_environment(), timeout=120, check=False,
    )  # fmt: skip


async def test_cli_send_against_a_running_bot_and_status(api: FakeBotAPI, tmp_path: Path) -> None:
    db_path = tmp_path / "bot.db"
    config_path = write_config(tmp_path, api, db_path)
    config = make_config(api, db_path)
    async with running_bot(config) as bot:
        await seed_residents(bot.database, range(30_000, 30_005), ("heping",), "en")

        refused = await asyncio.to_thread(
            cli, "alert", "send", "-t", "gas_leak", "-d", "heping", "--var", "location=x", "--var", "colour=red",
            "--yes", "--as", "1001", config=config_path,
        )  # fmt: skip
        assert refused.returncode == 2 and "colour" in refused.stderr
        no_one = await asyncio.to_thread(
            cli, "alert", "send", "-t", "gas_leak", "-d", "heping", "--yes", config=config_path
        )
        assert no_one.returncode == 2 and "--as" in no_one.stderr
        assert await bot.services.broadcasts.with_status(*BroadcastStatus) == []

        sent = await asyncio.to_thread(
            cli, "alert", "send", "-t", "gas_leak", "-d", "和平区", "--var", "location=中山路 3 号",
            "--var", "hotline=96177", "--yes", "--wait", "--as", "1001", config=config_path,
        )  # fmt: skip
        assert sent.returncode == 0, sent.stderr
        assert "broadcast 1 queued (LIVE, 5 recipients)" in sent.stdout
        assert "sent 5" in sent.stdout
        assert all(len(api.messages(chat)) == 1 for chat in range(30_000, 30_005))

        status = await asyncio.to_thread(cli, "alert", "status", "1", config=config_path)
        assert status.returncode == 0, status.stderr
        assert "sent 5, blocked 0, failed 0" in status.stdout

        audit = await asyncio.to_thread(cli, "audit", "--since", "1h", config=config_path)
        assert "send" in audit.stdout and "1001 City duty officer" in audit.stdout
        assert (await asyncio.to_thread(cli, "alert", "status", "99", config=config_path)).returncode == 1
