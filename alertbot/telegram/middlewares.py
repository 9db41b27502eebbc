"""Middlewares: every tap answered, per-person throttling, the person's language, commands that leave any flow."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message, TelegramObject, User
from aiogram.utils.callback_answer import CallbackAnswer, CallbackAnswerMiddleware

from alertbot.content.i18n import Texts, Translator, language_for
from alertbot.core.domain import Language
from alertbot.core.errors import AppError
from alertbot.services.subscriptions import SubscriptionService
from alertbot.telegram.flows import Buckets

Handler = Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]]
log = logging.getLogger(__name__)


class AnswerTaps(CallbackAnswerMiddleware):
    """Every button tap is answered once: with what the handler set on `callback_answer`, or, when the handler
    refused (an AppError), by the error router's pop-up (`telegram/errors.py`)."""

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        async def refusals_left_to_the_error_router(event: TelegramObject, data: dict[str, Any]) -> Any:
            try:
                return await handler(event, data)
            except AppError:
                data["callback_answer"].disable()
                raise

        return await super().__call__(refusals_left_to_the_error_router, event, data)


async def person_language(user: User | None, subscriptions: SubscriptionService, default: Language) -> Language:
    """The language a person reads: their stored choice, else their Telegram app's, else the default."""
    if user is None:
        return default
    return await subscriptions.stored_language(user.id) or language_for(user.language_code, default)


class ThrottlingMiddleware(BaseMiddleware):
    """Drops a person's updates beyond their bucket so one flooder cannot slow the bot for everyone.

    A dropped button tap is still answered (with a short "too fast" notice) so no button keeps spinning.
    """

    def __init__(self, buckets: Buckets, translator: Translator, default_language: Language) -> None:
        self._buckets = buckets
        self._translator = translator
        self._default = default_language

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        user: User | None = data.get("event_from_user")
        if user is None or await self._buckets.take(user.id):
            return await handler(event, data)
        answer: CallbackAnswer | None = data.get("callback_answer")
        if isinstance(event, CallbackQuery) and answer is not None:
            language = language_for(user.language_code, self._default)
            answer.text = self._translator(language, "too-fast")
        return None


class LanguageMiddleware(BaseMiddleware):
    """Puts `l10n` (Texts in the person's language) into handler data: stored choice, else Telegram's."""

    def __init__(self, translator: Translator, default_language: Language) -> None:
        self._translator = translator
        self._default = default_language

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        language = await person_language(data.get("event_from_user"), data["subscriptions"], self._default)
        data["l10n"] = Texts(self._translator, language)
        return await handler(event, data)


class InFlightUpdates(BaseMiddleware):
    """Knows the updates being handled, so a stop can let them finish (`drain`) before the storages close."""

    def __init__(self) -> None:
        self._tasks: set[asyncio.Task[Any]] = set()

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        task = asyncio.current_task()
        if task is not None:
            self._tasks.add(task)
        try:
            return await handler(event, data)
        finally:
            if task is not None:
                self._tasks.discard(task)

    async def drain(self, within: float) -> None:
        """Wait up to `within` seconds for the updates being handled (never for the caller itself)."""
        current = asyncio.current_task()
        tasks = {task for task in self._tasks if task is not current}
        if tasks:
            _, late = await asyncio.wait(tasks, timeout=within)
            if late:
                log.warning("%d update(s) still being handled after %.0f s", len(late), within)


class CommandLeavesFlowMiddleware(BaseMiddleware):
    """Any /command ends whatever multi-step flow the person was in, before handlers are chosen."""

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        state: FSMContext | None = data.get("state")
        in_flow = data.get("raw_state") is not None
        if isinstance(event, Message) and (event.text or "").startswith("/") and state is not None and in_flow:
            await state.clear()
            data["raw_state"] = None  # state filters read this value, taken before the clear
        return await handler(event, data)
