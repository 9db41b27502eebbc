"""aiogram_broadcaster (PyPI `aiogram-broadcaster`): one Mailer of a Broadcaster (no storage) with a
TextContent, without an interval (its default: the next message as soon as the last one was answered) or
with a SimpleInterval of `interval` seconds between messages."""

from __future__ import annotations

from typing import Any

from aiogram_broadcaster import Broadcaster
from aiogram_broadcaster.contents import TextContent
from aiogram_broadcaster.intervals import SimpleInterval

from bench.clients import runtime


async def broadcast(spec: dict[str, Any]) -> dict[str, Any]:
    bot = runtime.bot(spec)
    try:
        broadcaster = Broadcaster(bot)
        interval = SimpleInterval(interval=spec["interval"]) if spec.get("interval") else None
        mailer = await broadcaster.create_mailer(
            chats=spec["chats"], content=TextContent(text=spec["text"]), interval=interval
        )
        await mailer.start()
        return {"success": len(mailer.chats.success), "failed": len(mailer.chats.failed)}
    finally:
        await bot.session.close()


if __name__ == "__main__":
    runtime.main(broadcast)
