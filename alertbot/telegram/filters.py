"""Router-level filters shared by feature routers."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.enums import ChatType


def private_chats_only(router: Router) -> Router:
    """Subscriptions belong to a person: their handlers answer in private chats only."""
    router.message.filter(F.chat.type == ChatType.PRIVATE)
    router.callback_query.filter(F.message.chat.type == ChatType.PRIVATE)
    return router
