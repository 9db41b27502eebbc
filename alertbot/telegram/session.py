"""The Bot API session: aiogram's aiohttp session with orjson, and its response models held for good.

aiogram validates every answer with `Response[<the method's result type>]`. pydantic keeps those
parametrized models only weakly, so under load the cyclic collector drops them and the next request
builds the whole model again (milliseconds each: measured dozens of times in a 2,000-update surge).
Holding one per method class costs nothing and keeps the cache warm.
"""

from __future__ import annotations

from typing import Any

import orjson
from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.methods import TelegramMethod
from aiogram.methods.base import Response, TelegramType


def dumps(value: Any) -> str:
    """JSON text for a form field (orjson writes bytes; aiohttp would send bytes as a file part)."""
    return orjson.dumps(value).decode()


class BotSession(AiohttpSession):
    def __init__(self, api: TelegramAPIServer) -> None:
        super().__init__(api=api, json_loads=orjson.loads, json_dumps=dumps)
        self._response_models: dict[type[TelegramMethod[Any]], type[Response[Any]]] = {}

    def check_response(
        self, bot: Bot, method: TelegramMethod[TelegramType], status_code: int, content: str
    ) -> Response[TelegramType]:
        kind = type(method)
        if kind not in self._response_models:
            self._response_models[kind] = Response[method.__returning__]  # type: ignore[name-defined]
        return super().check_response(bot, method, status_code, content)
