"""One pace for the whole bot token: every request that posts or edits a message takes a slot.

Telegram limits a token, not a process or a broadcast: about 30 messages/s (1000/s with paid
broadcasts), about 1/s per private chat and 20/min per group. A 429 pauses everyone for retry_after.

`Pacer` holds a token bucket per pace (free, and paid for the severities sent with `allow_paid_broadcast`), each
with two queues: urgent requests (officials' progress messages, their edits, approval requests and reports) get
the next slot before bulk deliveries. `PacedRequests` is an aiogram
session middleware, so no request can bypass the pacer by accident; the outbox sender takes its slots
(and the window) itself, to keep its sends in priority order, and marks its requests as paced. A reply to a person
whose update is being handled is not bulk traffic: it is sent at once.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import contextvars
import heapq
import itertools
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from aiogram import BaseMiddleware
from aiogram.client.session.middlewares.base import BaseRequestMiddleware, NextRequestMiddlewareType
from aiogram.exceptions import TelegramRetryAfter
from aiogram.methods.base import TelegramType
from aiogram.types import TelegramObject

from alertbot.config import PACE_HEADROOM

if TYPE_CHECKING:
    from aiogram import Bot
    from aiogram.methods import Response, TelegramMethod

HEADROOM = PACE_HEADROOM
# Never more than `rate` requests leave in any window this long: Telegram counts arrivals, and a request
# may reach it up to (WINDOW - 1) / 2 = 10 ms later or earlier than its neighbours.
WINDOW_SECONDS = 1.02
COALESCE_SECONDS = 0.005  # a waiter sleeps at least this long when several slots come due meanwhile
PRIVATE_CHAT_SPACING = 1.0
GROUP_CHAT_SPACING = 3.0  # 20 per minute
URGENT, BULK = 0, 1
REPLY_RETRIES = 2
REPLY_RETRY_MAX_WAIT = 5  # seconds; a longer flood wait is the handler's to report

replying_to: contextvars.ContextVar[int | None] = contextvars.ContextVar("alertbot_replying_to", default=None)
"""The chat whose update is being handled: requests to it are replies, sent without waiting."""
paced: contextvars.ContextVar[bool] = contextvars.ContextVar("alertbot_paced", default=False)
"""Set by the outbox sender around a send for which it already took a slot and passed `Pacer.depart`."""


class _Bucket:
    """One pace: a token bucket, its waiters (a heap, urgent first) and the departures of its last window."""

    def __init__(self, rate: float, clock: Callable[[], float]) -> None:
        self.rate = rate
        self.interval = 1.0 / (rate * HEADROOM)
        # At most burst + rate x HEADROOM sends fit in any second: 1.5 + 29.4 < 31 at 30/s, and 10 + 980 at
        # 1000/s. The fraction above one token lets a send that was late by up to half a slot be made up.
        self.burst = max(1.5, float(int(rate * (1 - HEADROOM) / 2)))
        self.tokens = self.burst
        self.refilled = clock()
        self.waiting: list[tuple[int, int]] = []  # (priority, arrival): a heap; its head takes the next slot
        self.window_cap = max(1, int(rate))
        self.departures: collections.deque[float] = collections.deque(maxlen=self.window_cap)

    def refilled_tokens(self, now: float) -> float:
        """The tokens the bucket holds at `now` (refilled since the last look, at most `burst`)."""
        return min(self.burst, self.tokens + max(0.0, now - self.refilled) / self.interval)

    def window_full(self, now: float) -> float:
        """0.0 if another request may leave now; else how long until the oldest of the window leaves it."""
        if len(self.departures) < self.window_cap:
            return 0.0
        return max(0.0, WINDOW_SECONDS - (now - self.departures[0]))


class Pacer:
    """The token's pace: a free bucket at `rate` and, for paid broadcasts, a paid one at `paid_rate`.

    Each bucket refills at its rate x HEADROOM per second and holds the rest of its limit as burst
    (half of rate x (1 - HEADROOM), at least one and a half), so a sender that fell behind for a moment catches
    up; and (`depart`, at the moment each request really leaves) no WINDOW_SECONDS hold more than `rate`
    free requests, nor more than `paid_rate` requests of both kinds, so no one-second window at Telegram holds
    more than its limit, even with some jitter. Both buckets share the 429 pause and the per-chat spacing:
    Telegram counts a chat's messages and pauses a token whichever way they were sent.
    """

    def __init__(
        self, rate: float, paid_rate: float | None = None, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._clock = clock
        self._free = _Bucket(rate, clock)
        self._paid = _Bucket(paid_rate, clock) if paid_rate else None
        self._paused_until = 0.0
        self._chat_ready: dict[int, float] = {}
        self._arrivals = itertools.count()
        self._changed = asyncio.Event()
        self.paused_seconds = 0.0  # total time paused by 429s (for status and metrics)
        self.flood_waits = 0  # 429s received on message requests (for metrics)

    @property
    def rate(self) -> float:
        """The free pace (messages/s)."""
        return self._free.rate

    @property
    def paid_rate(self) -> float | None:
        """The paid-broadcast pace, if paid broadcasts are configured."""
        return self._paid.rate if self._paid else None

    def rate_for(self, paid: bool) -> float:
        """The pace a bulk send of this kind gets."""
        return self._bucket(paid).rate

    def _bucket(self, paid: bool) -> _Bucket:
        return self._paid if paid and self._paid is not None else self._free

    def pause(self, seconds: float) -> None:
        """Telegram said 429: nobody sends until `seconds` from now (counted in `paused_seconds`)."""
        self.flood_waits += 1
        until = self._clock() + seconds
        if until > self._paused_until:
            self.paused_seconds += until - max(self._paused_until, self._clock())
        self.hold(seconds)

    def hold(self, seconds: float) -> None:
        """Nobody sends until `seconds` from now (a wait of ours, not Telegram's: not counted as paused)."""
        self._paused_until = max(self._paused_until, self._clock() + seconds)

    @property
    def paused_for(self) -> float:
        return max(0.0, self._paused_until - self._clock())

    async def slot(self, priority: int = BULK, *, paid: bool = False) -> None:
        """Wait for the next send slot of the bucket (and for any pause to end); urgent callers go first."""
        bucket = self._bucket(paid)
        entry = (priority, next(self._arrivals))
        heapq.heappush(bucket.waiting, entry)
        self._changed.set()  # an urgent arrival must take the head from a sleeping bulk waiter
        try:
            while True:
                self._changed.clear()
                wait = self._wait_for(bucket, entry)
                if wait == 0.0:
                    return
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._changed.wait(), wait)
        finally:
            if entry in bucket.waiting:
                bucket.waiting.remove(entry)
                heapq.heapify(bucket.waiting)
            self._changed.set()

    def _wait_for(self, bucket: _Bucket, entry: tuple[int, int]) -> float:
        """0.0 when `entry` got the slot (and is dequeued); else how long to sleep before looking again."""
        now = self._clock()
        if now < self._paused_until:
            bucket.tokens, bucket.refilled = 0.0, self._paused_until  # no burst right after a pause
            return self._paused_until - now + 0.001
        if bucket.waiting[0] != entry:
            return 1.0  # not our turn; woken when the head changes
        bucket.tokens = bucket.refilled_tokens(now)
        bucket.refilled = max(bucket.refilled, now)
        if bucket.tokens < 1.0:  # at a fast pace, wake for a few slots at once, not for each (fewer timers)
            return max(
                (1.0 - bucket.tokens) * bucket.interval, min(COALESCE_SECONDS, bucket.burst * bucket.interval / 2)
            )
        bucket.tokens -= 1.0
        heapq.heappop(bucket.waiting)
        return 0.0

    def take(self, priority: int = BULK, *, paid: bool = False) -> bool:
        """`slot` and `depart` at once, without waiting, when a slot is free right now (nobody waits before
        this caller, no pause, a token, room in the window); False otherwise (then use `slot` and `depart`)."""
        bucket = self._bucket(paid)
        now = self._clock()
        if now < self._paused_until or (bucket.waiting and bucket.waiting[0][0] <= priority):
            return False
        tokens = bucket.refilled_tokens(now)
        windows = self._windows(bucket)
        if tokens < 1.0 or any(w.window_full(now) > 0.0 for w in windows):
            return False
        bucket.tokens, bucket.refilled = tokens - 1.0, max(bucket.refilled, now)
        for window in windows:
            window.departures.append(now)
        return True

    def _windows(self, bucket: _Bucket) -> list[_Bucket]:
        """The windows a request of this bucket must fit: its own, and the paid one (the token's whole limit)."""
        return [bucket] if self._paid is None or bucket is self._paid else [bucket, self._paid]

    async def depart(self, *, paid: bool = False) -> None:
        """Called at the moment a paced request leaves: waits while its window is full.

        The buckets space requests when they are granted a slot; this counts them when they really go,
        so a request that started late (a busy event loop) cannot bunch up with the next ones. A free request
        must fit the free window; every request (free or paid) must fit the paid window, which holds the token's
        whole limit when paid broadcasts are on.
        """
        windows = self._windows(self._bucket(paid))
        while True:
            now = self._clock()
            wait = max(w.window_full(now) for w in windows)
            if wait <= 0.0:
                for window in windows:
                    window.departures.append(now)
                return
            await asyncio.sleep(wait)

    def chat_ready_in(self, chat_id: int) -> float:
        """Seconds until this chat may receive another message (0: now)."""
        return max(0.0, self._chat_ready.get(chat_id, 0.0) - self._clock())

    def sent_to(self, chat_id: int) -> None:
        spacing = GROUP_CHAT_SPACING if chat_id < 0 else PRIVATE_CHAT_SPACING
        self._chat_ready[chat_id] = self._clock() + spacing
        if len(self._chat_ready) > 100_000:
            now = self._clock()
            self._chat_ready = {c: t for c, t in self._chat_ready.items() if t > now}


# Methods that post or change a message: what Telegram's flood limits count.
_MESSAGE_METHOD_PREFIXES = ("send", "edit", "copy", "forward", "stop")
_NOT_MESSAGES = frozenset({"sendchataction"})


def counts_as_message(api_method: str) -> bool:
    name = api_method.lower()
    return name.startswith(_MESSAGE_METHOD_PREFIXES) and name not in _NOT_MESSAGES


class PacedRequests(BaseRequestMiddleware):
    """Session middleware: every message request of the bot takes an urgent slot, except replies.

    A 429 on a message request pauses the whole token, whoever made it. A reply refused so (Telegram allows a
    short burst in one chat, then 429s: someone typing fast in a flow) is sent again once the wait is over, up to
    `REPLY_RETRIES` times and for waits up to `REPLY_RETRY_MAX_WAIT` s: the person is waiting for it.
    """

    def __init__(self, pacer: Pacer) -> None:
        self._pacer = pacer

    async def __call__(
        self,
        make_request: NextRequestMiddlewareType[TelegramType],
        bot: Bot,
        method: TelegramMethod[TelegramType],
    ) -> Response[TelegramType]:
        message = counts_as_message(method.__api_method__)
        chat_id = getattr(method, "chat_id", None)
        reply = chat_id is not None and chat_id == replying_to.get()  # replies go at once
        if message and not reply and not paced.get():  # (the outbox sender took slot and window already)
            await self._pacer.slot(URGENT)
            if isinstance(chat_id, int):
                self._pacer.sent_to(chat_id)
            await self._pacer.depart()
        retries = REPLY_RETRIES if message and reply else 0
        while True:
            try:
                return await make_request(bot, method)
            except TelegramRetryAfter as error:
                if message:  # a flood wait on messages holds the token; one on, say, setMyCommands does not
                    self._pacer.pause(error.retry_after)
                if retries == 0 or error.retry_after > REPLY_RETRY_MAX_WAIT:
                    raise
                retries -= 1
                await asyncio.sleep(error.retry_after)


class MarkReplies(BaseMiddleware):
    """Dispatcher outer middleware: while an update is handled, requests to its chat are replies."""

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        chat = data.get("event_chat")
        token = replying_to.set(chat.id if chat is not None else None)
        try:
            return await handler(event, data)
        finally:
            replying_to.reset(token)
