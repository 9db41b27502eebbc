"""Answers to button taps that refuse something: a pop-up Telegram will accept (at most 200 characters)."""

from __future__ import annotations

from typing import Any

from aiogram.utils.callback_answer import CallbackAnswer

from alertbot.content.i18n import Texts
from alertbot.content.telegram_html import utf16_length

CALLBACK_ANSWER_MAX = 200  # UTF-16 code units, as Telegram counts them


def refuse(callback_answer: CallbackAnswer, l10n: Texts, key: str, **args: Any) -> None:
    """Answer the tap with a pop-up saying why, shortened to what Telegram allows."""
    text = l10n.plain(key, **args)
    if utf16_length(text) > CALLBACK_ANSWER_MAX:
        while utf16_length(text + "…") > CALLBACK_ANSWER_MAX:
            text = text[:-1]
        text += "…"
    callback_answer.text = text
    callback_answer.show_alert = True
