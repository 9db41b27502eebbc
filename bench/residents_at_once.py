"""Benchmark: N residents send /subscribe in the same instant; how long does each wait for the answer?

Runs the real bot (Dispatcher, aiogram HTTP client, SQLite file) against the Bot API test double on
127.0.0.1, in one process, and prints latency percentiles and their ratio to the 1 s budget.

    uv run python bench/residents_at_once.py [--residents 200] [--rounds 3]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.botapi import FakeBotAPI
from tests.harness import make_config, running_bot

BUDGET_SECONDS = 1.0


async def one_round(residents: int, first_id: int) -> list[float]:
    async with FakeBotAPI() as api:
        with tempfile.TemporaryDirectory() as folder:
            config = make_config(api, Path(folder) / "bench.db")
            async with running_bot(config):
                api.send_text(1, "/help")  # wait until polling runs
                await api.wait_for_message(1, timeout=10)
                ids = range(first_id, first_id + residents)
                sent_at = {}
                for chat_id in ids:
                    sent_at[chat_id] = time.monotonic()
                    api.send_text(chat_id, "/subscribe heping tiexi", language_code="zh" if chat_id % 2 else "en")
                await api.wait_until(lambda: all(api.messages(c) for c in ids), timeout=30)
                return sorted(api.messages(c)[0]["sent_at"] - sent_at[c] for c in ids)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--residents", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    print(f"{args.residents} residents subscribe at once, {args.rounds} rounds, budget {BUDGET_SECONDS:.1f} s")
    for number in range(args.rounds):
        latencies = await one_round(args.residents, 10_000)
        p50 = statistics.median(latencies)
        p95 = latencies[int(len(latencies) * 0.95) - 1]
        worst = latencies[-1]
        print(
            f"round {number + 1}: p50 {p50 * 1000:.0f} ms, p95 {p95 * 1000:.0f} ms, max {worst * 1000:.0f} ms; "
            f"max / budget = {worst / BUDGET_SECONDS:.2f}"
        )


if __name__ == "__main__":
    asyncio.run(main())
