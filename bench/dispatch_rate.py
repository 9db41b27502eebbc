"""Benchmark: how close does the dispatcher get to the configured pace?

Queues one warning to N subscribers in a SQLite file, starts the real bot as its own process
(`alertbot run`) against the Bot API test double on 127.0.0.1 (with Telegram's flood limits on: 30/s,
1000/s for paid broadcasts), and measures, from the double's own clock, the rate at which messages were
accepted between the first and the last. Prints achieved ÷ configured.

    uv run python bench/dispatch_rate.py                               # paid: rate 1000, 5000 recipients
    uv run python bench/dispatch_rate.py --rate 30 --recipients 600    # Telegram's free limit
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from alertbot.app import build_services
from alertbot.config import load_config
from alertbot.services.alerts import AlertDraft
from tests.botapi import FakeBotAPI
from tests.harness import REPO, process_environment, seed_residents, write_config

FIRST_CHAT = 1_000_000


async def measure(rate: float, recipients: int) -> None:
    paid = rate > 30
    chats = range(FIRST_CHAT, FIRST_CHAT + recipients)
    async with FakeBotAPI() as api:
        api.set_rate_limit(global_per_sec=30, per_chat_per_sec=1, group_per_min=20)
        with tempfile.TemporaryDirectory() as folder:
            extra = f"dispatch.rate = {rate}\ndispatch.paid_broadcast = {'true' if paid else 'false'}"
            config_path = write_config(Path(folder), api, Path(folder) / "bench.db", extra)
            services = await build_services(load_config(config_path))
            try:
                await seed_residents(services.database, chats, ("heping",))
                draft = AlertDraft("gas_leak", {"location": "中山路 3 号", "hotline": "96177"}, ("heping",))
                await services.alerts.confirm(1001, draft)
            finally:
                await services.database.close()
            started = time.monotonic()
            process = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "alertbot", "run", "--config", str(config_path), "--log-level", "WARNING",
                cwd=REPO, env=process_environment(ALERTBOT_TELEGRAM_TOKEN=api.token),
            )  # fmt: skip
            try:
                last_report = 0.0
                while not all(api.messages(c) for c in chats):
                    await api.wait_until(lambda: True, timeout=0.2)
                    await asyncio.sleep(0.2)
                    if time.monotonic() - last_report > 2:
                        done = sum(1 for c in chats if api.messages(c))
                        print(f"  {done}/{recipients} delivered", flush=True)
                        last_report = time.monotonic()
                    if time.monotonic() - started > 600:
                        raise SystemExit("gave up after 10 minutes")
            finally:
                process.terminate()
                await process.wait()
            times = sorted(api.messages(c)[0]["sent_at"] for c in chats)
            achieved = (len(times) - 1) / (times[-1] - times[0])
            duplicates = sum(len(api.messages(c)) - 1 for c in chats)
            print(
                f"rate {rate:g}/s{' (paid broadcast)' if paid else ''}, {recipients} recipients: "
                f"achieved {achieved:.1f} msg/s in {times[-1] - times[0]:.2f} s; "
                f"achieved / configured = {achieved / rate:.3f}; 429s: {api.rate_limited}; duplicates: {duplicates}"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--rate", type=float, default=1000)
    parser.add_argument("--recipients", type=int, default=5000)
    args = parser.parse_args()
    asyncio.run(measure(args.rate, args.recipients))


if __name__ == "__main__":
    main()
