"""Keeps the garbage collector from stalling the test process, and records the collections that did.

The Bot API double runs in the bot's own process and event loop, so anything that stops the process
for a moment (a full collection of the suite's heap, which grows test after test, takes 0.5 s or
more) holds back the double's reading of requests that already left the bot: it then stamps their
arrival together and sees a second hold more than the token's limit, which Telegram, in another
process across the network, would not. Each test therefore starts with the heap built so far frozen
(`gc.freeze`: collections during the test walk only the test's own objects); the heap is unfrozen
after the test and collected whole every few tests, between them.
"""

from __future__ import annotations

import gc
import time
from collections.abc import Iterator
from typing import Any

COLLECT_EVERY = 20  # tests between two full collections of the (unfrozen) heap
STALL_SECONDS = 0.01  # collections longer than this are recorded

collections: list[tuple[float, int, float]] = []
"""(monotonic start, generation, seconds) of every collection over STALL_SECONDS during the current test."""

_started: float | None = None
_tests = 0


def _watch(phase: str, info: dict[str, Any]) -> None:
    global _started
    if phase == "start":
        _started = time.monotonic()
    elif _started is not None:
        took = time.monotonic() - _started
        if took > STALL_SECONDS:
            collections.append((_started, info["generation"], took))
        _started = None


def describe() -> str:
    """The collections that stalled the process during this test, for assertion messages."""
    if not collections:
        return "no collection over 10 ms"
    return ", ".join(f"gen{gen} {took * 1000:.0f} ms" for _, gen, took in collections)


def quiet_collector() -> Iterator[None]:
    """Around one test: freeze the heap, watch collections, unfreeze (and now and then collect) after it."""
    global _tests
    collections.clear()
    gc.freeze()
    gc.callbacks.append(_watch)
    try:
        yield
    finally:
        gc.callbacks.remove(_watch)
        gc.unfreeze()
        _tests += 1
        if _tests % COLLECT_EVERY == 0:
            gc.collect()
