"""The real `alertbot run` process against the Bot API test double: serves people, keeps the token secret."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

from alertbot.sandbox.botapi import ApiError, FakeBotAPI
from tests.harness import EXAMPLE_CONFIG, REPO, Person


async def test_alertbot_run_serves_residents_and_never_logs_the_token(api: FakeBotAPI, tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text(
        EXAMPLE_CONFIG.read_text(encoding="utf-8")
        .replace('api_base = "https://api.telegram.org"', f'api_base = "{api.base_url}"')
        .replace("sqlite:///alertbot.db", f"sqlite:///{tmp_path / 'bot.db'}"),
        encoding="utf-8",
    )
    environment = {k: v for k, v in os.environ.items() if not k.startswith("ALERTBOT_")}
    environment["ALERTBOT_TELEGRAM_TOKEN"] = api.token
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "alertbot", "run", "--config", str(config), "--log-level", "DEBUG",
        cwd=REPO, env=environment, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    try:
        anna = Person(api, 801, "zh")
        welcome = await anna.say("/start", timeout=30)
        assert "居民" in welcome["text"]
        assert "和平区" in (await anna.say("/subscribe heping"))["text"]
        api.fail_next("sendMessage", ApiError.server_error(), chat_id=801)  # a failed reply is logged, not fatal
        api.send_text(801, "/mysubs", language_code="zh")
        await asyncio.sleep(0.5)
        assert "和平区" in (await anna.say("/mysubs"))["text"]
    finally:
        process.send_signal(signal.SIGINT)
        stdout, stderr = await asyncio.wait_for(process.communicate(), timeout=30)
    logs = (stdout + stderr).decode()
    assert process.returncode == 0, logs
    assert "Start polling" in logs
    assert api.token not in logs
    assert api.token.split(":")[1] not in logs
