"""The double's webhook side: after ``setWebhook`` it posts queued updates, like Telegram, to the bot's server.

Like Telegram: each update is a JSON POST carrying ``X-Telegram-Bot-Api-Secret-Token`` (when a
``secret_token`` was set); it leaves the queue only on a 2xx answer, and is retried later otherwise;
at most ``max_connections`` posts are open at once, and a chat's next update waits for its previous one.
``FakeBotAPI.webhook_targets`` plays the reverse proxy in front of several instances: when set, posts
go to those URLs in turn (round robin) instead of ``webhook_url``.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import time
from typing import Any, Protocol

import aiohttp

JSON = dict[str, Any]


class UpdateQueue(Protocol):
    """What the pusher needs of the server (:class:`~alertbot.sandbox.botapi.server.FakeBotAPI`)."""

    webhook_targets: list[str] | None
    webhook_timeout: float
    webhook_retry_delay: float
    _webhook: JSON
    _changed: asyncio.Event
    _updates: list[JSON]

    def _record_deliveries(self, updates: list[JSON]) -> None: ...

    def _notify(self) -> None: ...


def update_chat(update: JSON) -> int | None:
    message = update.get("message") or update.get("edited_message")
    if message is None and isinstance(update.get("callback_query"), dict):
        query = update["callback_query"]
        return query.get("from", {}).get("id")
    chat = message.get("chat") if isinstance(message, dict) else None
    return chat.get("id") if isinstance(chat, dict) else None


class WebhookPusher:
    def __init__(self, api: UpdateQueue) -> None:
        self._api = api
        self._task: asyncio.Task[None] | None = None
        self._session: aiohttp.ClientSession | None = None
        self._in_flight: dict[int, int | None] = {}  # update_id -> chat
        self._not_before: dict[int, float] = {}
        self._turn = itertools.count()
        self.posts: list[tuple[str, int, int | str]] = []  # (target, update_id, HTTP status or error)

    def start(self) -> None:
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._run(), name="fake-telegram-webhook")

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self._session is not None:
            await self._session.close()
            self._session = None

    def _targets(self) -> list[str]:
        return self._api.webhook_targets or [self._api._webhook["url"]]

    async def _run(self) -> None:
        self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=self._api.webhook_timeout))
        posts: set[asyncio.Task[None]] = set()
        try:
            while self._api._webhook["url"]:
                changed = self._api._changed
                now = time.monotonic()
                busy = set(self._in_flight.values())
                for update in list(self._api._updates):
                    if len(self._in_flight) >= self._api._webhook.get("max_connections", 40):
                        break
                    update_id, chat = update["update_id"], update_chat(update)
                    if update_id in self._in_flight or self._not_before.get(update_id, 0) > now:
                        continue
                    if chat is not None and chat in busy:
                        continue
                    busy.add(chat)
                    self._in_flight[update_id] = chat
                    post = asyncio.create_task(self._post(update))
                    posts.add(post)
                    post.add_done_callback(posts.discard)
                waits = [t - now for t in self._not_before.values() if t > now]
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(min([0.5, *waits])):
                        await changed.wait()
        finally:
            for post in posts:
                post.cancel()

    async def _post(self, update: JSON) -> None:
        api, update_id = self._api, update["update_id"]
        targets = self._targets()
        target = targets[next(self._turn) % len(targets)]
        headers = {"Content-Type": "application/json"}
        if api._webhook.get("secret_token"):
            headers["X-Telegram-Bot-Api-Secret-Token"] = api._webhook["secret_token"]
        api._record_deliveries([update])  # messages to this chat are replies from now (see reply_window)
        outcome: int | str
        try:
            assert self._session is not None
            async with self._session.post(target, json=update, headers=headers) as response:
                await response.read()
                outcome = response.status
        except (aiohttp.ClientError, TimeoutError, OSError) as error:
            outcome = type(error).__name__
        self.posts.append((target, update_id, outcome))
        del self._in_flight[update_id]
        if isinstance(outcome, int) and 200 <= outcome < 300:
            api._updates = [u for u in api._updates if u["update_id"] != update_id]
            self._not_before.pop(update_id, None)
        else:
            api._webhook["last_error_date"] = int(time.time())
            api._webhook["last_error_message"] = f"Wrong response from the webhook: {outcome}"
            self._not_before[update_id] = time.monotonic() + api.webhook_retry_delay
        api._notify()
