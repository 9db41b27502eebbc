"""Webhook mode: Telegram posts updates to the bot's HTTP server at the path of `[telegram] webhook_url`.

Every request's X-Telegram-Bot-Api-Secret-Token is compared with `webhook_secret` in constant time
(aiogram's `SimpleRequestHandler`); a wrong or missing one gets 401 and nothing is handled. An update is
answered at once (200) and handled as a task, so Telegram never times out and retries it; at most
`[telegram] concurrent_updates` are handled at once and the rest wait their turn, up to `update_backlog`
(beyond it: 503, and Telegram retries later). When the bot stops, the path answers 503 (Telegram, or the
proxy in front, retries elsewhere or later) and the updates already taken get `stop_timeout` to finish.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from aiogram import Bot, Dispatcher
from aiogram.webhook.aiohttp_server import SimpleRequestHandler
from aiohttp import web

from alertbot.config import TelegramConfig

log = logging.getLogger(__name__)


class _Receiver(SimpleRequestHandler):
    accepting = True
    backlog = 5000
    turns: asyncio.Semaphore

    async def handle(self, request: web.Request) -> web.Response:
        if not self.accepting:
            return web.Response(status=503, text="stopping", headers={"Retry-After": "1"})
        if len(self._background_feed_update_tasks) >= self.backlog:
            log.warning("webhook: %d updates wait already; asking Telegram to retry", self.backlog)
            return web.Response(status=503, text="busy", headers={"Retry-After": "1"})
        return await super().handle(request)

    async def _background_feed_update(self, bot: Bot, update: dict[str, Any]) -> None:
        async with self.turns:
            await super()._background_feed_update(bot, update)

    async def close(self) -> None:
        """The bot's session belongs to the application, which closes it."""


class Webhook:
    """The webhook route on the bot's server, `setWebhook` at start, and draining in-flight updates at stop."""

    def __init__(self, config: TelegramConfig, dispatcher: Dispatcher, bot: Bot) -> None:
        self._config = config
        self._dispatcher = dispatcher
        self._bot = bot
        self._receiver = _Receiver(dispatcher, bot, secret_token=config.webhook_secret.get_secret_value())
        self._receiver.turns = asyncio.Semaphore(config.concurrent_updates)
        self._receiver.backlog = config.update_backlog

    @property
    def path(self) -> str:
        return self._config.webhook_path

    def register(self, app: web.Application) -> None:
        self._receiver.register(app, path=self.path)

    async def set_webhook(self) -> None:
        """Point Telegram at `webhook_url`, with the secret and the update types the handlers use."""
        await self._bot.set_webhook(
            url=self._config.webhook_url,
            secret_token=self._config.webhook_secret.get_secret_value(),
            allowed_updates=self._dispatcher.resolve_used_update_types(),
            max_connections=self._config.webhook_max_connections,
            drop_pending_updates=False,
        )
        log.info("webhook set: Telegram posts updates to %s", self._config.webhook_url)

    @property
    def in_flight(self) -> int:
        return len(self._receiver._background_feed_update_tasks)

    async def drain(self, within: float) -> None:
        """Take no more updates; wait up to `within` seconds for the ones being handled, then cancel the rest."""
        self._receiver.accepting = False
        tasks: set[asyncio.Task[Any]] = set(self._receiver._background_feed_update_tasks)
        if not tasks:
            return
        log.info("waiting for %d update(s) being handled", len(tasks))
        _, late = await asyncio.wait(tasks, timeout=within)
        for task in late:
            task.cancel()
        if late:
            log.warning("%d update(s) still being handled after %.0f s were cancelled", len(late), within)
            await asyncio.wait(late, timeout=1.0)
