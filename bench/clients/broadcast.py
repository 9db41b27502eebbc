"""aiogram-broadcast (PyPI `aiogram-broadcast`): its BroadcastService with its defaults (a 0.05 s pause after
each message sent, 3 tries, 1 s between tries) over its Redis storage, holding the job's chats as subscribers."""

from __future__ import annotations

from typing import Any

from aiogram_broadcast import BroadcastService, RedisBroadcastStorage, Subscriber
from redis.asyncio import Redis

from bench.clients import runtime


async def broadcast(spec: dict[str, Any]) -> dict[str, Any]:
    bot = runtime.bot(spec)
    storage = RedisBroadcastStorage(Redis.from_url(spec["redis_url"]), key_prefix=spec["prefix"])
    try:
        for chat in spec["chats"]:  # as its middleware registers people who write to the bot
            await storage.add_subscriber(Subscriber(id=chat, full_name=f"User{chat}"))
        service = BroadcastService(bot, storage)
        result = await service.broadcast_text(spec["text"], parse_mode="HTML")
        return {
            "total": result.total, "successful": result.successful, "failed": result.failed,
            "blocked": len(result.blocked_users),
        }  # fmt: skip
    finally:
        await storage.redis.delete(f"{spec['prefix']}:subscribers")
        await storage.close()
        await bot.session.close()


if __name__ == "__main__":
    runtime.main(broadcast)
