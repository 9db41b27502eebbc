"""A per-key request limit: at most N requests in any 60 seconds (in this process)."""

from __future__ import annotations

import collections
import time
from collections.abc import Callable

WINDOW_SECONDS = 60.0


class RateLimiter:
    def __init__(self, per_minute: int, clock: Callable[[], float] = time.monotonic) -> None:
        self._per_minute = per_minute
        self._clock = clock
        self._recent: dict[str, collections.deque[float]] = {}

    def take(self, key: str) -> float:
        """0.0 if the request may go now (and counts); else how many seconds until one may."""
        now = self._clock()
        recent = self._recent.setdefault(key, collections.deque())
        while recent and now - recent[0] >= WINDOW_SECONDS:
            recent.popleft()
        if len(recent) >= self._per_minute:
            return WINDOW_SECONDS - (now - recent[0])
        recent.append(now)
        return 0.0
