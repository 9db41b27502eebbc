"""Callbacks for "deliveries were queued": the dispatcher and the reporter wake up at once."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from alertbot.core.domain import Broadcast

Listener = Callable[[Broadcast], Awaitable[None] | None]


class QueuedListeners:
    """Services that queue deliveries notify these; plain functions and coroutines both work."""

    def __init__(self) -> None:
        self._listeners: list[Listener] = []

    def add(self, listener: Listener) -> None:
        self._listeners.append(listener)

    async def notify(self, broadcast: Broadcast) -> None:
        for listener in self._listeners:
            result = listener(broadcast)
            if result is not None:
                await result
