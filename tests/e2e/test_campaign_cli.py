"""`alertbot campaigns list|preview|run` as a user runs them: real `alertbot` processes, a real SQLite file,
and for `run` a running bot that delivers what the command queued."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import tomllib
from pathlib import Path

from alertbot.core.domain import BusinessCategory
from alertbot.sandbox.botapi import FakeBotAPI
from alertbot.storage import Database
from tests.harness import REPO, make_config, process_environment, running_bot, seed_business, write_config

RESTAURANT = 2001
CAMPAIGNS = """
[[campaigns]]
id = "summer_lpg_restaurant"
template = "summer_lpg_restaurant"
schedule = "0 10 * * 1"
season = { from = "05-15", to = "09-15" }
audience = "business:restaurant"
districts = ["*"]
ack = true
follow_up_after = "3d"
variables = { hotline = "96177" }

[[campaigns]]
id = "winter_co"
template = "winter_co"
schedule = "0 19 * * 5"
season = { from = "11-01", to = "03-31" }
audience = "all"
variables = { hotline = "96177" }
"""


def config_file(api: FakeBotAPI, folder: Path, extra: str = "") -> Path:
    """The example config (the harness drops its campaigns) with the campaigns above."""
    path = write_config(folder, api, folder / "bot.db", extra)
    path.write_text(path.read_text(encoding="utf-8") + CAMPAIGNS, encoding="utf-8")
    return path


def campaigns(*args: str, config: Path, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "alertbot", "campaigns", *args, "--config", str(config)],
        capture_output=True, text=True, cwd=REPO, env=process_environment(**env), timeout=120, check=False,
    )  # fmt: skip


async def in_parallel(*calls: tuple[str, ...], config: Path) -> list[subprocess.CompletedProcess[str]]:
    return list(await asyncio.gather(*(asyncio.to_thread(campaigns, *args, config=config) for args in calls)))


async def test_list_and_preview(api: FakeBotAPI, tmp_path: Path) -> None:
    config = config_file(api, tmp_path)
    database = Database(f"sqlite:///{tmp_path / 'bot.db'}")
    await database.upgrade()  # once, before the processes start together
    await database.close()

    text, as_json, zh, both, unknown = await in_parallel(
        ("list",), ("list", "--json"), ("preview", "summer_lpg_restaurant", "--language", "zh"),
        ("preview", "winter_co"), ("preview", "summer_lpg"), config=config,
    )  # fmt: skip
    assert text.returncode == 0, text.stderr
    assert "times in Asia/Shanghai" in text.stdout
    assert (
        "summer_lpg_restaurant [active] LPG safety self-check for restaurants / 餐饮场所液化石油气安全自查"
        in text.stdout
    )
    assert "schedule 0 10 * * 1; season 05-15 to 09-15; audience business:restaurant; districts *" in text.stdout
    assert "delivered 0, confirmed 0" in text.stdout

    assert as_json.returncode == 0, as_json.stderr
    rows = {row["id"]: row for row in json.loads(as_json.stdout)}
    assert list(rows) == ["summer_lpg_restaurant", "winter_co"]
    summer = rows["summer_lpg_restaurant"]
    assert (summer["state"], summer["ack"], summer["confirmed"], summer["last_run"]) == ("active", True, 0, None)
    assert summer["season"] == {"from": "05-15", "to": "09-15"} and summer["next_run"].endswith("T02:00:00+00:00")
    assert rows["winter_co"]["confirmed"] is None

    assert zh.returncode == 0, zh.stderr
    assert zh.stdout.startswith("🍽️ <b>餐饮场所液化石油气安全自查</b>\n涉及区域：全市各区县")
    assert "<b>96177</b>" in zh.stdout and "Districts" not in zh.stdout
    assert both.returncode == 0, both.stderr
    assert both.stdout.startswith("--- zh ---\n") and "\n--- en ---\n" in both.stdout
    assert "Winter carbon monoxide safety" in both.stdout

    assert unknown.returncode == 2
    assert "unknown campaign 'summer_lpg'" in unknown.stderr and "summer_lpg_restaurant" in unknown.stderr


async def test_run_is_checked_audited_and_delivered_by_the_running_bot(api: FakeBotAPI, tmp_path: Path) -> None:
    config_path = config_file(api, tmp_path, 'bot.quiet_hours = ""')  # deliver whatever the hour
    config = make_config(
        api, tmp_path / "bot.db", campaigns=tomllib.loads(CAMPAIGNS)["campaigns"], bot={"quiet_hours": ""},
        scheduler={"grace": "1s"},  # no catch-up send at start, whatever the day the test runs
    )  # fmt: skip
    async with running_bot(config) as bot:
        await seed_business(bot.database, RESTAURANT, BusinessCategory.RESTAURANT, ("heping",), "en")

        no_one, unknown, out_of_scope, sent = await in_parallel(
            ("run", "summer_lpg_restaurant", "--yes"), ("run", "nope", "--as", "1001", "--yes"),
            ("run", "summer_lpg_restaurant", "--as", "1003", "--yes"),
            ("run", "summer_lpg_restaurant", "--yes", "--as", "1001"), config=config_path,
        )  # fmt: skip
        assert no_one.returncode == 2 and "--as" in no_one.stderr and "ALERTBOT_OFFICIAL_ID" in no_one.stderr
        assert unknown.returncode == 2 and "unknown campaign 'nope'" in unknown.stderr
        assert out_of_scope.returncode == 2 and "out of scope" in out_of_scope.stderr
        assert sent.returncode == 0, sent.stderr
        assert "summer_lpg_restaurant: occurrence 20" in sent.stdout
        assert "(Asia/Shanghai) sent, 1 recipients (broadcast 1)" in sent.stdout
        [occurrence] = [o for o in await bot.services.campaigns.occurrences() if o.manual_by]
        assert (occurrence.manual_by, occurrence.status) == (1001, "sent")

        reminder = await api.wait_for_message(RESTAURANT, contains="LPG safety self-check", timeout=10)
        assert api.buttons(reminder)[0][0] == "✅ I have completed the check"
        entries = {(e.action, e.actor_id, e.details.get("campaign")) for e in await bot.services.audit.entries()}
        assert entries == {("refused", 1003, None), ("run", 1001, "summer_lpg_restaurant")}
