"""One place for errors raised by handlers: expected ones are answered politely, the rest logged."""

from __future__ import annotations

import logging
from typing import Any

from aiogram import Router
from aiogram.exceptions import TelegramBadRequest
from aiogram.filters import ExceptionTypeFilter
from aiogram.types import ErrorEvent

from alertbot.config import AppConfig
from alertbot.content.i18n import Translator, language_for

log = logging.getLogger(__name__)


async def telegram_bad_request(event: ErrorEvent, translator: Translator, config: AppConfig) -> Any:
    # Two quick taps on the same button produce the same edit twice; Telegram refuses the second.
    if "message is not modified" in str(event.exception):
        return True
    return await unexpected(event, translator, config)


async def unexpected(event: ErrorEvent, translator: Translator, config: AppConfig) -> bool:
    log.error("update %s failed", event.update.update_id, exc_info=event.exception)
    update = event.update
    message = update.message or (update.callback_query.message if update.callback_query else None)
    user = update.message.from_user if update.message else None
    if update.callback_query:
        user = update.callback_query.from_user
    if message is None or update.bot is None:
        return True
    language = language_for(user.language_code if user else None, config.bot.default_language)
    try:
        await update.bot.send_message(message.chat.id, translator(language, "something-wrong"))
    except Exception:  # the apology is best effort; the original error is already logged
        log.warning("could not tell chat %s about the failure", message.chat.id)
    return True


def build_router() -> Router:
    """A fresh router with the error handlers (one per Dispatcher)."""
    router = Router(name=__name__)
    router.error.register(telegram_bad_request, ExceptionTypeFilter(TelegramBadRequest))
    router.error.register(unexpected)
    return router
