"""The command menu (setMyCommands) in both languages, and per chat for officials and language switches.

Menus are best effort and never hold up the bot: `CommandMenus` sets them from a background task
started by the Dispatcher's startup hook, and retries what Telegram refused — a 429 after its
retry_after (nothing else is tried meanwhile), a 5xx or network error, or an official in the config
who never opened the bot (400 "chat not found") with a growing pause up to `RETRY_MAX`. Handlers set a
chat's menu at once through the same object, so a retry never overwrites a newer choice.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from aiogram import Bot
from aiogram.exceptions import TelegramRetryAfter
from aiogram.types import BotCommand, BotCommandScopeChat, BotCommandScopeDefault

from alertbot.content.i18n import Translator
from alertbot.core.domain import LANGUAGES, Language
from alertbot.services.officials import OfficialDirectory

log = logging.getLogger(__name__)

RETRY_FIRST = 1.0
"""Seconds before the first retry of a menu Telegram refused (doubling after each refusal)."""
RETRY_MAX = 300.0
"""The longest pause between two tries of one menu (an official who never opened the bot)."""

RESIDENT_COMMANDS = ("start", "subscribe", "unsubscribe", "mysubs", "language", "quiet", "forgetme", "help")
OFFICIAL_COMMANDS: tuple[str, ...] = ("alert", "campaigns", "stats")


def commands_for(translator: Translator, language: Language, *, official: bool) -> list[BotCommand]:
    names = RESIDENT_COMMANDS + (OFFICIAL_COMMANDS if official else ())
    return [BotCommand(command=name, description=translator(language, f"cmd-{name}")) for name in names]


@dataclass(frozen=True)
class _ChatMenu:
    language: Language | None  # None: the language the person chose, else the default
    official: bool


@dataclass
class _Retry:
    attempts: int = 0
    due: float = 0.0  # event-loop time of the next try


# What is still to be set: a language code for the everyone-menu ("" = any other app language),
# or a chat id for that chat's own menu.
_Target = str | int


class CommandMenus:
    """Sets the menus in the background and keeps retrying the ones Telegram refused."""

    def __init__(
        self,
        translator: Translator,
        default_language: Language,
        officials: OfficialDirectory,
        stored_language: Callable[[int], Awaitable[Language | None]] | None = None,
    ) -> None:
        self._translator = translator
        self._default_language = default_language
        self._officials = officials
        self._stored_language = stored_language
        self._chats: dict[int, _ChatMenu] = {}  # the menu each chat should have, while not yet set
        self._pending: dict[_Target, _Retry] = {}
        self._locks: dict[int, asyncio.Lock] = {}
        self._paused_until = 0.0  # Telegram's retry_after: no menu call before then
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    @property
    def stopped(self) -> bool:
        return self._task is None or self._task.done()

    def start(self, bot: Bot) -> None:
        """Queue the everyone-menus and each official's menu; set them in a background task. Never waits."""
        if not self.stopped:
            return
        for code in (*LANGUAGES, ""):
            self._pending.setdefault(code, _Retry())
        for official_id in self._officials.ids:
            self._chats.setdefault(official_id, _ChatMenu(None, official=True))
            self._pending.setdefault(official_id, _Retry())
        self._task = asyncio.create_task(self._run(bot), name="alertbot-command-menus")
        self._task.add_done_callback(self._finished)

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None and not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def set_chat(self, bot: Bot, chat_id: int, language: Language, *, official: bool) -> bool:
        """This chat's menu, now if Telegram lets us, else later in the background. Never raises."""
        self._chats[chat_id] = _ChatMenu(language, official)
        self._pending[chat_id] = retry = _Retry()  # a new choice starts its backoff afresh
        if asyncio.get_running_loop().time() < self._paused_until:
            self._wake.set()
            return False
        done = await self._try(bot, chat_id, retry)
        self._wake.set()  # a refusal is retried by the background task
        return done

    async def set_person(self, bot: Bot, chat_id: int, language: Language) -> bool:
        """This chat's menu in `language`, with the officials' commands if the chat is an official's."""
        return await self.set_chat(bot, chat_id, language, official=self._officials.is_official(chat_id))

    @staticmethod
    def _finished(task: asyncio.Task[None]) -> None:
        if not task.cancelled() and task.exception() is not None:
            log.error("the command menu task stopped", exc_info=task.exception())

    async def _run(self, bot: Bot) -> None:
        loop = asyncio.get_running_loop()
        while True:
            self._wake.clear()
            try:
                await self._try_due(bot)
            except Exception:  # a bug, not Telegram: keep the task alive and try again later
                log.exception("setting the command menus failed")
                await asyncio.sleep(RETRY_FIRST)
            dues = [retry.due for retry in self._pending.values()]
            timeout = max(0.0, max(min(dues), self._paused_until) - loop.time()) if dues else None
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout)

    async def _try_due(self, bot: Bot) -> None:
        loop = asyncio.get_running_loop()
        for target in list(self._pending):
            if loop.time() < self._paused_until:
                return
            retry = self._pending.get(target)
            if retry is not None and retry.due <= loop.time():
                await self._try(bot, target, retry)

    async def _try(self, bot: Bot, target: _Target, retry: _Retry) -> bool:
        """One setMyCommands; True once set. A refusal is logged and its next try scheduled."""
        loop = asyncio.get_running_loop()
        try:
            if isinstance(target, str):
                done = await self._set_default(bot, target)
            else:
                done = await self._set_chat(bot, target)
        except TelegramRetryAfter as error:
            self._paused_until = loop.time() + error.retry_after
            retry.attempts += 1
            retry.due = self._paused_until
            log.warning("%s not set: Telegram asks to wait %s s; trying again then", _describe(target),
                        error.retry_after)  # fmt: skip
            return False
        except Exception as error:  # 5xx, network, "chat not found" (never opened the bot), ...
            retry.attempts += 1
            pause = min(RETRY_MAX, RETRY_FIRST * 2 ** (retry.attempts - 1))
            retry.due = loop.time() + pause
            log.log(
                logging.WARNING if retry.attempts == 1 else logging.INFO,
                "%s not set (try %d): %s; trying again in %.0f s",
                _describe(target), retry.attempts, error, pause,
            )  # fmt: skip
            return False
        if done and self._pending.get(target) is retry:
            del self._pending[target]
        return done

    async def _set_default(self, bot: Bot, code: str) -> bool:
        language: Language = code if code in LANGUAGES else self._default_language
        await bot.set_my_commands(
            commands_for(self._translator, language, official=False),
            scope=BotCommandScopeDefault(),
            language_code=code or None,
        )
        return True

    async def _set_chat(self, bot: Bot, chat_id: int) -> bool:
        async with self._locks.setdefault(chat_id, asyncio.Lock()):  # one call per chat at a time, in order
            wanted = self._chats.get(chat_id)
            if wanted is None:
                return True
            language = wanted.language
            if language is None and self._stored_language is not None:
                language = await self._stored_language(chat_id)
            await set_chat_commands(
                bot, self._translator, chat_id, language or self._default_language, official=wanted.official
            )
            if self._chats.get(chat_id) is not wanted:
                return False  # a newer choice came meanwhile: that one is set next
            del self._chats[chat_id]
            return True


def _describe(target: _Target) -> str:
    if isinstance(target, str):
        return f"the command menu for everyone ({target or 'any other language'})"
    return f"the command menu of chat {target}"


async def set_chat_commands(
    bot: Bot, translator: Translator, chat_id: int, language: Language, *, official: bool
) -> None:
    """The menu of one chat, in the language that person chose."""
    await bot.set_my_commands(
        commands_for(translator, language, official=official), scope=BotCommandScopeChat(chat_id=chat_id)
    )


async def clear_chat_commands(bot: Bot, chat_id: int) -> None:
    await bot.delete_my_commands(scope=BotCommandScopeChat(chat_id=chat_id))
