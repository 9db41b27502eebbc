"""``alertbot sandbox``: the local Bot API server, the real bot pointed at it, the population, and the page.

Everything runs in this process on one event loop, and only on 127.0.0.1. The order at start: the folder and
its fresh database; the local Bot API server with Telegram's limits and the district channels (the bot an
administrator in each); the bot, built and polling exactly as ``alertbot run`` does; the page; then the
population subscribes in the background (the page shows how far it has come). Ctrl-C or SIGTERM stops the bot
gracefully, then the rest.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from alertbot.app import Application, build_application
from alertbot.config import AppConfig
from alertbot.core.errors import AppError
from alertbot.sandbox.botapi import FakeBotAPI
from alertbot.sandbox.chats import Chats
from alertbot.sandbox.page import SandboxPage
from alertbot.sandbox.panel import Panel
from alertbot.sandbox.people import PERSONAS, Onboarding, Simulated, draw_population
from alertbot.sandbox.setup import (
    LOOPBACK,
    SANDBOX_BOT_ID,
    SANDBOX_BOT_USERNAME,
    check_folder,
    folder_lock,
    prepare_folder,
    sandbox_config,
    sandbox_token,
)

log = logging.getLogger(__name__)

FIRST_CHANNEL_ID = -1_000_000_000_001  # the local server's channel ids: -100… like Telegram's
CHANNEL_REACH = 3  # a district channel's followers per simulated subscriber there (most people only read channels)
STARTED_WITHIN = 30.0


@dataclass(frozen=True, slots=True)
class SandboxOptions:
    port: int = 8080
    residents: int = 2000
    folder: Path = Path(".alertbot-sandbox")
    seed: int = 2023


def register_channels(api: FakeBotAPI, config: AppConfig, people: list[Simulated]) -> dict[int, str]:
    """Each configured district channel at the local server, once however many districts share it, the bot its
    administrator; chat id -> language."""
    channels: dict[int, str] = {}
    seen: set[str] = set()
    numbers = itertools.count()
    for district in config.districts:
        for language, ref in district.channels.items():
            if ref in seen:
                continue
            seen.add(ref)
            chat_id = int(ref) if ref.startswith("-100") else FIRST_CHANNEL_ID - next(numbers)
            followers = sum(1 for p in people if district.id in p.districts and p.language_code.startswith(language))
            api.add_channel(
                chat_id,
                username=ref if ref.startswith("@") else None,
                title=f"{district.name.zh}燃气预警" if language == "zh" else f"{district.name.en} gas alerts",
                members=max(10, followers * CHANNEL_REACH),
            )
            channels[chat_id] = language
    return channels


class Sandbox:
    """One sandbox run (see the module's docstring)."""

    def __init__(self, production: AppConfig, options: SandboxOptions) -> None:
        self._production = production
        self.options = options
        self.api = FakeBotAPI(
            sandbox_token(), bot_id=SANDBOX_BOT_ID, username=SANDBOX_BOT_USERNAME, first_name="alertbot (sandbox)"
        )
        self.application: Application | None = None
        self.page: SandboxPage | None = None
        self._onboarding: Onboarding | None = None
        self._tasks: set[asyncio.Task[Any]] = set()

    async def run(self, on_ready: Callable[[str], None]) -> None:
        async with contextlib.AsyncExitStack() as stack:
            stack.enter_context(folder_lock(check_folder(self.options.folder, self._production)))
            database = prepare_folder(self.options.folder, self._production)
            await self.api.start()
            stack.push_async_callback(self.api.stop)
            self.api.set_rate_limit()  # Telegram's: 30/s for the token, 1/s per chat, 20/min per group or channel
            config = sandbox_config(
                self._production, api_base=self.api.base_url, token=self.api.token, database=database
            )
            people = draw_population(self.options.residents, [d.id for d in config.districts], self.options.seed)
            channels = register_channels(self.api, config, people)
            self.application = application = await build_application(config)
            polling = asyncio.create_task(application.run(handle_signals=True), name="sandbox-bot")
            stack.push_async_callback(self._stop_bot, application, polling)
            await self._started(application, polling)

            self._onboarding = Onboarding(self.api, people)
            personas = {persona.user_id: persona.id for persona in PERSONAS}
            chats = Chats(self.api, personas, config.bot.zone)
            panel = Panel(
                self.api, application.services.broadcasts, config, self._onboarding.progress,
                personas=personas, channels=channels,
            )  # fmt: skip
            self.page = SandboxPage(self.api, chats, panel.read, lambda: self.state(config))
            await self.page.start(LOOPBACK, self.options.port)
            stack.push_async_callback(self.page.stop)
            on_ready(f"http://{LOOPBACK}:{self.page.port}/")
            self._spawn(self._onboarding.run(), "sandbox-population")
            await polling  # until Ctrl-C / SIGTERM (the bot's own signal handling), or the bot fails

    def _spawn(self, work: Any, name: str) -> None:
        task = asyncio.create_task(work, name=name)
        self._tasks.add(task)

        def done(finished: asyncio.Task[Any]) -> None:
            self._tasks.discard(finished)
            if not finished.cancelled() and finished.exception() is not None:
                log.error("sandbox: %s stopped: %r", name, finished.exception(), exc_info=finished.exception())

        task.add_done_callback(done)

    @staticmethod
    async def _started(application: Application, polling: asyncio.Task[None]) -> None:
        try:
            await application.until_started(polling, STARTED_WITHIN)
        except TimeoutError:
            raise AppError(
                f"sandbox: the bot did not start within {STARTED_WITHIN:.0f} s (try --log-level INFO)"
            ) from None

    async def _stop_bot(self, application: Application, polling: asyncio.Task[None]) -> None:
        for task in list(self._tasks):
            task.cancel()
        await application.stop()
        if not polling.done():
            polling.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await polling

    def state(self, config: AppConfig) -> dict[str, Any]:
        """What ``GET /sandbox/state`` answers."""
        application = self.application
        port = application.server.port if application is not None else None
        api_docs = f"http://{LOOPBACK}:{port}/api/docs" if port and config.api.enabled else None
        return {
            "sandbox": True,
            "bot": {"username": self.api.username, "name": self.api.first_name},
            "personas": [persona.as_json() for persona in PERSONAS],
            "population": self._onboarding.progress.as_json() if self._onboarding else None,
            "limits": {"free_per_second": config.dispatch.rate, "paid_per_second": config.dispatch.paid_rate},
            "links": {"http_api": api_docs},
        }
