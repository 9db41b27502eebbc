"""The error router: one place for errors raised by handlers.

A refusal (`AppError`) is answered in the person's language with its UI string — a pop-up for a button
tap, a message otherwise; a Telegram "message is not modified" is ignored; anything else is logged and
the person gets an apology.
"""

from __future__ import annotations

import logging
from typing import Any

from aiogram import Router
from aiogram.exceptions import TelegramBadRequest
from aiogram.filters import ExceptionTypeFilter
from aiogram.types import ErrorEvent

from alertbot.config import AppConfig
from alertbot.content.i18n import Texts, Translator, language_for
from alertbot.core.errors import AppError
from alertbot.services.subscriptions import SubscriptionService
from alertbot.telegram.answers import error_text, popup_text
from alertbot.telegram.middlewares import person_language

log = logging.getLogger(__name__)


async def refused(
    event: ErrorEvent, translator: Translator, config: AppConfig, subscriptions: SubscriptionService
) -> bool:
    error = event.exception
    assert isinstance(error, AppError)
    update = event.update
    query = update.callback_query
    user = query.from_user if query else (update.message.from_user if update.message else None)
    l10n = Texts(translator, await person_language(user, subscriptions, config.bot.default_language))
    if query is not None:
        await query.answer(popup_text(l10n, error.key, **error.args_for_text), show_alert=True)
    elif update.message is not None:
        await update.message.answer(error_text(l10n, error))
    return True


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
    router.error.register(refused, ExceptionTypeFilter(AppError))
    router.error.register(telegram_bad_request, ExceptionTypeFilter(TelegramBadRequest))
    router.error.register(unexpected)
    return router
