"""Router-level filters shared by feature routers, and the router of a feature made of commands and taps."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from aiogram import F, Router
from aiogram.enums import ChatType
from aiogram.filters import Command, Filter
from aiogram.filters.callback_data import CallbackData
from aiogram.types import TelegramObject
from aiogram.utils.magic_filter import MagicFilter


class Magic(Filter):
    """A magic filter (`F...`) checked on the event loop.

    aiogram runs a filter that is a plain callable, as a bare `F...` is, in a worker thread
    (`asyncio.to_thread`), once per router and update: that hop costs far more than reading a field of
    the event (in a surge, a thread round trip per router an update passes). Wrapped, it runs in place.
    """

    def __init__(self, magic: MagicFilter) -> None:
        self._magic = magic

    async def __call__(self, event: TelegramObject) -> Any:
        return self._magic.resolve(event)


PRIVATE_MESSAGE = Magic(F.chat.type == ChatType.PRIVATE)
PRIVATE_TAP = Magic(F.message.chat.type == ChatType.PRIVATE)
TEXT = Magic(F.text)


def private_chats_only(router: Router) -> Router:
    """Subscriptions belong to a person: their handlers answer in private chats only."""
    router.message.filter(PRIVATE_MESSAGE)
    router.callback_query.filter(PRIVATE_TAP)
    return router


def private_router(
    name: str,
    commands: Mapping[str, Callable[..., Any]],
    taps: Mapping[type[CallbackData], Callable[..., Any]],
) -> Router:
    """A fresh router for private chats: each /command's handler, then each button's, in the order given."""
    router = private_chats_only(Router(name=name))
    for command, handler in commands.items():
        router.message.register(handler, Command(command))
    for factory, handler in taps.items():
        router.callback_query.register(handler, factory.filter())
    return router
