"""How late the double's own event loop has been running lately: how far its arrival stamps may trail the truth.

Telegram stamps a request when it reaches its servers. The double can only stamp it when its event loop gets
round to reading it, and that loop is shared: with the tests, with an in-process bot, with anything else in the
process. When the loop is held for a moment (a busy stretch of the bot or the test, a collection, a loaded
machine), requests that reached the socket during the hold are stamped together at its end, and a second that
held at most the token's limit at arrival looks like it held more. `LoopLag` ticks every `TICK` seconds and
keeps how late each tick woke; the rate limiter narrows its window by the worst lateness of the last second
(`recent`), so it judges arrivals no stricter than it can see them. A sender that really goes over the limit
is still refused: the allowance is the loop's lateness (milliseconds while the loop is healthy), capped at
`MAX_ALLOWANCE`.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import deque

__all__ = ["LoopLag"]

TICK = 0.01  # seconds between two looks at the loop
NOTICED = 0.002  # lateness below this is the timer's own resolution, not a hold
MAX_ALLOWANCE = 0.25  # never narrow a one-second window by more than this


class LoopLag:
    """Measures the event loop's lateness in the background (`start` / `stop`); `recent` reads it."""

    def __init__(self) -> None:
        self._late: deque[tuple[float, float]] = deque()  # (when the late tick woke, how late it was)
        self._task: asyncio.Task[None] | None = None
        self._due: float | None = None  # when the next tick should wake (None: not watching)

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._watch(), name="fake-telegram-loop-lag")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
            self._due = None

    async def _watch(self) -> None:
        while True:
            self._due = time.monotonic() + TICK
            await asyncio.sleep(TICK)
            now = time.monotonic()
            self.record(now, now - self._due)

    def record(self, now: float, lateness: float) -> None:
        """One look at the loop: it woke `lateness` seconds after it was due, at `now`."""
        if lateness >= NOTICED:
            self._late.append((now, lateness))
        while self._late and self._late[0][0] < now - 2.0:
            self._late.popleft()

    def recent(self, now: float, seconds: float = 1.0) -> float:
        """The worst lateness of the last `seconds`, a hold not yet over included (the tick is overdue), capped.

        A request read at the end of a hold is handled before the tick that would have measured it.
        """
        ongoing = now - self._due if self._due is not None else 0.0
        worst = max((late for when, late in self._late if when >= now - seconds), default=0.0)
        return min(MAX_ALLOWANCE, max(worst, ongoing))
