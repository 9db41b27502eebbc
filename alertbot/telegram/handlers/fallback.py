"""What nothing else handled: unknown commands, stray text, group chats, expired or forged buttons.

Included last by `handlers.routers()`: it is the catch-all by construction, not by accident of order.
"""

from __future__ import annotations

from aiogram import F, Router
from aiogram.enums import ChatType
from aiogram.types import CallbackQuery
from aiogram.utils.callback_answer import CallbackAnswer

from alertbot.content.i18n import Texts
from alertbot.telegram.answers import refuse, reply_with
from alertbot.telegram.filters import PRIVATE_MESSAGE, Magic

group_command = reply_with("private-only")
unknown_input = reply_with("unknown-command")


async def unknown_button(query: CallbackQuery, callback_answer: CallbackAnswer, l10n: Texts) -> None:
    refuse(callback_answer, l10n, "button-expired")


def build_router() -> Router:
    """A fresh router with this module's handlers (one per Dispatcher)."""
    router = Router(name=__name__)
    router.message.register(group_command, Magic((F.chat.type != ChatType.PRIVATE) & F.text.startswith("/")))
    router.message.register(unknown_input, PRIVATE_MESSAGE)
    router.callback_query.register(unknown_button)
    return router
