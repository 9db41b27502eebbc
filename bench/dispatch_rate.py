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

from common import FIRST_CHAT, run_broadcast

from tests.botapi import FakeBotAPI


async def measure(rate: float, recipients: int) -> None:
    paid = rate > 30
    chats = range(FIRST_CHAT, FIRST_CHAT + recipients)
    async with FakeBotAPI() as api:
        api.set_rate_limit(global_per_sec=30, per_chat_per_sec=1, group_per_min=20)
        extra = f"dispatch.rate = {rate}\ndispatch.paid_broadcast = {'true' if paid else 'false'}"
        await run_broadcast(api, chats, extra)
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
