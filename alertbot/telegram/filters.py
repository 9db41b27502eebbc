"""Router-level filters shared by feature routers, and the router of a feature made of commands and taps."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from aiogram import F, Router
from aiogram.enums import ChatType
from aiogram.filters import Command
from aiogram.filters.callback_data import CallbackData


def private_chats_only(router: Router) -> Router:
    """Subscriptions belong to a person: their handlers answer in private chats only."""
    router.message.filter(F.chat.type == ChatType.PRIVATE)
    router.callback_query.filter(F.message.chat.type == ChatType.PRIVATE)
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
