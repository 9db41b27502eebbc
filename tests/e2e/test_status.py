"""`alertbot status`: who dispatches, each instance, the queue by priority; exit 1 when nobody sends."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from alertbot.sandbox.botapi import FakeBotAPI
from alertbot.services.container import build_services
from alertbot.services.drafts import AlertDraft
from tests.harness import REPO, make_config, process_environment, running_bot, seed_residents, write_config

OFFICER = 1001


async def status(config_path: Path, *args: str) -> tuple[int, str, str]:
    result = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "alertbot", "status", "--config", str(config_path), *args],
        cwd=REPO, env=process_environment(), capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    return result.returncode, result.stdout, result.stderr


async def test_status_shows_the_dispatcher_then_says_when_nobody_sends(api: FakeBotAPI, tmp_path: Path) -> None:
    config_path = write_config(tmp_path, api, tmp_path / "bot.db")
    config = make_config(api, tmp_path / "bot.db", dispatch={"instance": "bot-a"})
    async with running_bot(config) as bot:
        await asyncio.wait_for(bot.leadership.leading.wait(), 10)
        await asyncio.sleep(0.5)  # the first heartbeat after taking the lease
        code, out, _ = await status(config_path, "--json")
        report: dict[str, Any] = json.loads(out)
    assert code == 0
    assert report["lease"]["holder"] == "bot-a" and report["lease"]["held"] and report["lease"]["epoch"] >= 1
    assert [(i["name"], i["dispatching"]) for i in report["instances"]] == [("bot-a", True)]
    assert report["queue"] == {}

    services = await build_services(config)  # the bot is gone; a warning is queued all the same
    try:
        await seed_residents(services.database, range(5000, 5010), ("heping",))
        await services.alerts.confirm(
            OFFICER, AlertDraft("gas_leak", {"location": "中山路 3 号", "hotline": "96177"}, ("heping",))
        )
    finally:
        await services.database.close()
    code, out, err = await status(config_path)
    assert code == 1
    assert "queue (not yet sent): severe 10" in out
    assert "dispatch lease: nobody holds it" in out
    assert "10 deliveries wait and no instance is dispatching" in err
