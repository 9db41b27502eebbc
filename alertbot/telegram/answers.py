"""What handlers share to read an update and answer it: who acts, the message tapped, refusals as pop-ups
Telegram will accept (at most 200 characters), fixed replies, and long answers in as few messages as fit."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from aiogram.types import CallbackQuery, InaccessibleMessage, Message
from aiogram.utils.callback_answer import CallbackAnswer

from alertbot.content.i18n import Texts
from alertbot.content.telegram_html import MAX_TEXT_LENGTH, utf16_length
from alertbot.core.errors import AppError

CALLBACK_ANSWER_MAX = 200  # UTF-16 code units, as Telegram counts them


def user_id(event: Message | CallbackQuery) -> int:
    """Who sent the message or tapped the button."""
    assert event.from_user is not None
    return event.from_user.id


def tapped_message(query: CallbackQuery) -> Message:
    """The message whose button was tapped (the flows' messages are recent, so accessible)."""
    assert isinstance(query.message, Message)
    return query.message


def popup_text(l10n: Texts, key: str, **args: Any) -> str:
    """A UI string as a pop-up's plain text, shortened to what Telegram allows."""
    text = l10n.plain(key, **args)
    if utf16_length(text) > CALLBACK_ANSWER_MAX:
        while utf16_length(text + "…") > CALLBACK_ANSWER_MAX:
            text = text[:-1]
        text += "…"
    return text


def refuse(callback_answer: CallbackAnswer, l10n: Texts, key: str, **args: Any) -> None:
    """Answer the tap with a pop-up saying why, shortened to what Telegram allows."""
    callback_answer.text = popup_text(l10n, key, **args)
    callback_answer.show_alert = True


def refuse_error(callback_answer: CallbackAnswer, l10n: Texts, error: AppError) -> None:
    """The pop-up for a service's refusal."""
    refuse(callback_answer, l10n, error.key, **error.args_for_text)


def error_text(l10n: Texts, error: AppError) -> str:
    """A service's refusal as a message text."""
    return l10n(error.key, **error.args_for_text)


def reply_with(key: str) -> Callable[[Message, Texts], Awaitable[None]]:
    """A handler that answers any message with the fixed text `key`."""

    async def reply(message: Message, l10n: Texts) -> None:
        await message.answer(l10n(key))

    return reply


async def answer_in_parts(message: Message | InaccessibleMessage, parts: Sequence[str]) -> None:
    """Send the parts joined by blank lines, in as few messages as Telegram's length limit allows."""
    chunk = ""
    for part in parts:
        joined = f"{chunk}\n\n{part}" if chunk else part
        if chunk and utf16_length(joined) > MAX_TEXT_LENGTH:
            await message.answer(chunk)
            joined = part
        chunk = joined
    if chunk:
        await message.answer(chunk)
