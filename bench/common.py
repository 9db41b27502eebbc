"""What the dispatch benchmarks share: a warning queued in a SQLite file, then the real bot as its own
process (`alertbot run`) against the Bot API test double until every recipient has it."""

from __future__ import annotations

import asyncio
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from alertbot.app import build_services
from alertbot.config import load_config
from alertbot.services.drafts import AlertDraft
from tests.botapi import FakeBotAPI
from tests.harness import REPO, process_environment, seed_residents, write_config

FIRST_CHAT = 1_000_000
OFFICER = 1001


async def run_broadcast(
    api: FakeBotAPI, chats: range, config_lines: str, *, report: bool = False, settle: float = 0.0
) -> None:
    """Queue one warning to `chats`, run the bot until all of them got it (and `settle` s more), stop it."""
    with tempfile.TemporaryDirectory() as folder:
        config_path = write_config(Path(folder), api, Path(folder) / "bench.db", config_lines)
        services = await build_services(load_config(config_path))
        try:
            await seed_residents(services.database, chats, ("heping",))
            draft = AlertDraft("gas_leak", {"location": "中山路 3 号", "hotline": "96177"}, ("heping",))
            await services.alerts.confirm(OFFICER, draft, report_chat_id=OFFICER if report else None)
        finally:
            await services.database.close()
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "alertbot", "run", "--config", str(config_path), "--log-level", "WARNING",
            cwd=REPO, env=process_environment(ALERTBOT_TELEGRAM_TOKEN=api.token),
        )  # fmt: skip
        started = last_report = time.monotonic()
        try:
            while not all(api.messages(c) for c in chats):
                await asyncio.sleep(0.2)
                if time.monotonic() - last_report > 2:
                    done = sum(1 for c in chats if api.messages(c))
                    print(f"  {done}/{len(chats)} delivered", flush=True)
                    last_report = time.monotonic()
                if time.monotonic() - started > 600:
                    raise SystemExit("gave up after 10 minutes")
            await asyncio.sleep(settle)
        finally:
            process.terminate()
            await process.wait()
