"""The Bot API session: aiogram's aiohttp session with orjson, JSON request bodies, response models held for good.

A request without files goes as one `application/json` body written by orjson (the Bot API takes JSON, form
data and query strings alike), not as aiohttp form data: building and URL-quoting a form was about a tenth of
the sender's CPU per message (py-spy, 20,000 messages at 1000/s). Uploads keep aiogram's multipart form.

aiogram validates every answer with `Response[<the method's result type>]`. pydantic keeps those
parametrized models only weakly, so under load the cyclic collector drops them and the next request
builds the whole model again (milliseconds each: measured dozens of times in a 2,000-update surge).
Holding one per method class costs nothing and keeps the cache warm.
"""

from __future__ import annotations

from typing import Any, cast

import orjson
from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import TelegramNetworkError
from aiogram.methods import TelegramMethod
from aiogram.methods.base import Response, TelegramType
from aiogram.types import InputFile
from aiohttp import ClientError, ClientTimeout

JSON_BODY = {"Content-Type": "application/json"}


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

    async def make_request(
        self,
        bot: Bot,
        method: TelegramMethod[TelegramType],
        timeout: int | None = None,  # noqa: ASYNC109 (aiogram's)
    ) -> TelegramType:
        files: dict[str, InputFile] = {}
        payload: dict[str, Any] = {}
        for key, value in method.model_dump(warnings=False).items():
            prepared = self.prepare_value(value, bot=bot, files=files, _dumps_json=False)
            if prepared is not None and prepared != "":  # what aiogram's form leaves out, too
                payload[key] = prepared
        if files:  # an upload: aiogram's multipart form
            return await super().make_request(bot, method, timeout)
        session = await self.create_session()
        url = self.api.api_url(token=bot.token, method=method.__api_method__)
        try:
            async with session.post(
                url,
                data=orjson.dumps(payload),
                headers=JSON_BODY,
                timeout=ClientTimeout(total=self.timeout if timeout is None else timeout),
            ) as response:
                raw = await response.text()
        except TimeoutError as error:
            raise TelegramNetworkError(method=method, message="Request timeout error") from error
        except ClientError as error:
            raise TelegramNetworkError(method=method, message=f"{type(error).__name__}: {error}") from error
        answer = self.check_response(bot=bot, method=method, status_code=response.status, content=raw)
        return cast(TelegramType, answer.result)
