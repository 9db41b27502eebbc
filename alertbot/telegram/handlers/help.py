"""/help: the commands for this person, with the officials' part for officials."""

from __future__ import annotations

from aiogram import Router
from aiogram.filters import Command
from aiogram.types import Message

from alertbot.content.i18n import Texts
from alertbot.services.officials import ALL_DISTRICTS, OfficialDirectory
from alertbot.services.subscriptions import SubscriptionService
from alertbot.telegram.formatting import district_names


async def show_help(
    message: Message, l10n: Texts, officials: OfficialDirectory, subscriptions: SubscriptionService
) -> None:
    text = l10n("help")
    official = officials.get(message.from_user.id if message.from_user else None)
    if official is not None:
        if ALL_DISTRICTS in official.districts:
            scope = l10n.plain("help-scope-all")
        else:
            scope = district_names(subscriptions.districts, official.districts, l10n.language)
        text += "\n\n" + l10n("help-official", role=l10n.plain(f"help-role-{official.role}"), scope=scope)
    await message.answer(text)


def build_router() -> Router:
    """A fresh router with this module's handlers (one per Dispatcher)."""
    router = Router(name=__name__)
    router.message.register(show_help, Command("help"))
    return router
