"""The Bot API double as the benchmarks use it: `FakeBotAPI` (alertbot.sandbox.botapi) in the bench driver's process,
telling tallies as it stores each bot message, and logging the status of every answer it gives.

Every time here is the double's clock (`time.monotonic()` in this process): a figure never mixes clocks.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Container
from typing import Any

from aiohttp import web

from alertbot.sandbox.botapi import FakeBotAPI

Listener = Callable[[int, dict[str, Any]], None]


class BenchBotAPI(FakeBotAPI):
    """FakeBotAPI that calls listeners for every stored message and logs (time, method, status) per answer."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.listeners: list[Listener] = []
        self.answers: list[tuple[float, str, int]] = []

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        response = await super()._handle(request)
        self.answers.append((time.monotonic(), request.match_info.get("method", ""), response.status))
        return response

    def _store(self, chat_id: int, method: str, params: dict[str, Any], **content: Any) -> dict[str, Any]:
        message = super()._store(chat_id, method, params, **content)
        for listener in self.listeners:
            listener(chat_id, message)
        return message

    def statuses(self, method: str) -> list[tuple[float, int]]:
        """(time, HTTP status) of every answer to `method` (case-insensitive)."""
        name = method.lower()
        return [(at, status) for at, called, status in self.answers if called.lower() == name]

    def unlimited(self) -> None:
        """No flood limits at all (paid broadcasts included)."""
        self.clear_rate_limit()


class Tally:
    """Bot messages (`sendMessage`) to a set of chats as the double stores them: times, duplicates, progress.

    `marks` (fractions of `expected`, e.g. 0.1 and 0.9) call `sample()` when that many chats have their
    message, e.g. to read a client's CPU seconds over the steady middle of a send.
    """

    def __init__(
        self,
        api: BenchBotAPI,
        chats: Container[int],
        expected: int,
        *,
        sample: Callable[[], float] | None = None,
        marks: tuple[float, ...] = (),
    ) -> None:
        self.chats = chats
        self.expected = expected
        self.times: list[float] = []
        self.reached: set[int] = set()
        self.duplicates = 0
        self.done = asyncio.Event()
        self._sample = sample
        self._marks = sorted({max(1, min(expected, round(expected * m))) for m in marks})
        self.samples: dict[int, tuple[float, float]] = {}  # count -> (double's clock, sample())
        api.listeners.append(self._on_store)

    def _on_store(self, chat_id: int, message: dict[str, Any]) -> None:
        if message["method"] != "sendMessage" or chat_id not in self.chats:
            return
        self.times.append(message["sent_at"])
        if chat_id in self.reached:
            self.duplicates += 1
            return
        self.reached.add(chat_id)
        count = len(self.reached)
        if self._sample is not None and count in self._marks:
            self.samples[count] = (message["sent_at"], self._sample())
        if count >= self.expected:
            self.done.set()

    @property
    def count(self) -> int:
        return len(self.reached)

    @property
    def first(self) -> float:
        return self.times[0]

    @property
    def last(self) -> float:
        return self.times[-1]

    def rate(self) -> float:
        """Messages per second from the first to the last one (on the double's clock)."""
        if len(self.times) < 2 or self.last <= self.first:
            return 0.0
        return (len(self.times) - 1) / (self.last - self.first)

    def between_marks(self) -> tuple[int, float, float]:
        """(messages, seconds, sampled difference) between the first and the last mark."""
        (low, (t0, s0)), (high, (t1, s1)) = min(self.samples.items()), max(self.samples.items())
        return high - low, t1 - t0, s1 - s0

    def in_window(self, start: float, seconds: float) -> int:
        return sum(1 for t in self.times if start <= t <= start + seconds)

    async def wait(self, within: float, alive: Callable[[], None] | None = None) -> bool:
        """Until every expected chat has its message (True), or `within` seconds (False); `alive()` may raise."""
        deadline = time.monotonic() + within
        while not self.done.is_set():
            if alive is not None:
                alive()
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            try:
                await asyncio.wait_for(self.done.wait(), min(1.0, remaining))
            except TimeoutError:
                continue
        return True


def counted_rate(api: FakeBotAPI, start: float, end: float) -> tuple[int, float]:
    """(requests, per second) the double counted against the token's one-second window in [start, end]."""
    counted = [t for t in api.send_times if start <= t <= end]
    span = end - start
    return len(counted), (len(counted) - 1) / span if span > 0 else 0.0
