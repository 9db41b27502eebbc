"""Benchmark: a warning at Telegram's free limit while the official's progress message is edited.

Telegram counts every message a token sends or edits against about 30 per second. This queues one
warning to N subscribers (with a progress message to the officer, edited every 3 s), starts the real
bot as its own process (`alertbot run`) against the Bot API test double on 127.0.0.1, which enforces 30
requests over any one-second window with edits counted (replies to people who just wrote are not), and
measures from the double's own clock:

- counted requests (deliveries + progress messages and edits) per second over the broadcast ÷ 30,
- the 429s the double had to give, and the most counted requests it saw in any one second.

    uv run python bench/paced_progress.py                    # 600 recipients
    uv run python bench/paced_progress.py --recipients 1200
"""

from __future__ import annotations

import argparse
import asyncio

from common import FIRST_CHAT, run_broadcast

from tests.botapi import FakeBotAPI

LIMIT = 30


async def measure(recipients: int) -> None:
    chats = range(FIRST_CHAT, FIRST_CHAT + recipients)
    async with FakeBotAPI() as api:
        api.set_rate_limit(global_per_sec=LIMIT, per_chat_per_sec=1, group_per_min=20, count_edits=True)
        # settle: the last progress edit and the final report
        await run_broadcast(api, chats, f'dispatch.rate = {LIMIT}\ndispatch.progress_interval = "3s"', report=True,
                            settle=4)  # fmt: skip
        deliveries = sorted(m["sent_at"] for c in chats for m in api.messages(c))
        first, last = deliveries[0], deliveries[-1]
        counted = [t for t in api.send_times if first <= t <= last]
        span = last - first
        rate = (len(counted) - 1) / span
        edits = len(api.calls("editMessageText"))
        duplicates = len(deliveries) - recipients
        print(
            f"{recipients} recipients at the free limit of {LIMIT}/s with progress edits every 3 s "
            f"({edits} edits): {len(counted)} counted requests in {span:.2f} s = {rate:.2f}/s; "
            f"ratio to the limit = {rate / LIMIT:.3f}; deliveries alone {(len(deliveries) - 1) / span:.2f}/s; "
            f"429s: {api.rate_limited}; max in any second: {api.max_in_window()}; duplicates: {duplicates}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--recipients", type=int, default=600)
    args = parser.parse_args()
    asyncio.run(measure(args.recipients))


if __name__ == "__main__":
    main()
