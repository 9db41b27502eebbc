"""One pace for the whole bot token, a shared pause after a 429, and spacing per chat.

Telegram limits a token, not a process or a broadcast: about 30 messages/s (1000/s with paid
broadcasts), about 1/s per private chat and 20/min per group. A 429 pauses everyone for retry_after.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

# Aim a little under the limit: requests leave evenly spaced but reach Telegram with network jitter.
HEADROOM = 0.98
PRIVATE_CHAT_SPACING = 1.0
GROUP_CHAT_SPACING = 3.0  # 20 per minute


class Pacer:
    """A token bucket for the token's sends.

    It refills at `rate` x HEADROOM per second and holds the rest of the limit as burst
    (half of `rate` x (1 - HEADROOM), at least one and a half), so a sender that fell behind for a moment catches
    up, yet no one-second window holds more than `rate` messages, even with some network jitter.
    """

    def __init__(self, rate: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.interval = 1.0 / (rate * HEADROOM)
        # At most burst + rate x HEADROOM sends fit in any second: 1.5 + 29.4 < 31 at 30/s, and 10 + 980 at
        # 1000/s. The fraction above one token lets a send that was late by up to half a slot be made up.
        self.burst = max(1.5, float(int(rate * (1 - HEADROOM) / 2)))
        self._clock = clock
        self._tokens = self.burst
        self._refilled = clock()
        self._paused_until = 0.0
        self._chat_ready: dict[int, float] = {}

    def pause(self, seconds: float) -> None:
        """Telegram said 429: nobody sends until `seconds` from now."""
        self._paused_until = max(self._paused_until, self._clock() + seconds)

    @property
    def paused_for(self) -> float:
        return max(0.0, self._paused_until - self._clock())

    async def slot(self) -> None:
        """Wait for the next global send slot (and for any pause to end)."""
        while True:
            now = self._clock()
            if now < self._paused_until:
                await asyncio.sleep(self._paused_until - now)
                self._tokens, self._refilled = 1.0, self._clock()  # no burst right after a pause
                continue
            self._tokens = min(self.burst, self._tokens + (now - self._refilled) / self.interval)
            self._refilled = now
            if self._tokens >= 1.0:
                self._tokens -= 1.0
                return
            await asyncio.sleep((1.0 - self._tokens) * self.interval)

    def chat_ready_in(self, chat_id: int) -> float:
        """Seconds until this chat may receive another message (0: now)."""
        return max(0.0, self._chat_ready.get(chat_id, 0.0) - self._clock())

    def sent_to(self, chat_id: int) -> None:
        spacing = GROUP_CHAT_SPACING if chat_id < 0 else PRIVATE_CHAT_SPACING
        self._chat_ready[chat_id] = self._clock() + spacing
        if len(self._chat_ready) > 100_000:
            now = self._clock()
            self._chat_ready = {c: t for c, t in self._chat_ready.items() if t > now}
