"""A bare aiogram send loop: `Bot.send_message` to every chat, `concurrency` requests at once, nothing else
(no database, no retries): the floor for alertbot's cost per message. With `rate`, the sends are paced the
simplest way (one ticker releasing a token every 1/rate s), to tell what pacing itself costs."""

from __future__ import annotations

import asyncio
from typing import Any

from aiogram.exceptions import TelegramAPIError

from bench.clients import runtime


async def send_all(spec: dict[str, Any]) -> dict[str, Any]:
    bot = runtime.bot(spec)
    chats = iter(range(spec["first"], spec["first"] + spec["count"]))
    text, paid = spec["text"], True if spec.get("paid") else None
    counts = {"sent": 0, "failed": 0}
    tokens = asyncio.Semaphore(0) if spec.get("rate") else None

    async def ticker(interval: float) -> None:
        assert tokens is not None
        loop = asyncio.get_running_loop()
        due = loop.time()
        while True:
            due += interval
            await asyncio.sleep(max(0.0, due - loop.time()))
            tokens.release()

    async def worker() -> None:
        for chat in chats:  # one iterator shared by the workers
            if tokens is not None:
                await tokens.acquire()
            try:
                await bot.send_message(chat, text, allow_paid_broadcast=paid)
                counts["sent"] += 1
            except TelegramAPIError:
                counts["failed"] += 1

    pacing = asyncio.create_task(ticker(1 / spec["rate"])) if tokens is not None else None
    try:
        await asyncio.gather(*(worker() for _ in range(spec["concurrency"])))
    finally:
        if pacing is not None:
            pacing.cancel()
        await bot.session.close()
    return counts


if __name__ == "__main__":
    runtime.main(send_all)
