"""Every filter of the bot's routers runs on the event loop, never in aiogram's worker thread."""

from __future__ import annotations

from collections.abc import Iterator

from aiogram import Router
from aiogram.dispatcher.event.handler import FilterObject

from alertbot.telegram import errors, handlers
from alertbot.telegram.filters import PRIVATE_MESSAGE, TEXT


def _filters(router: Router) -> Iterator[tuple[str, FilterObject]]:
    for name, observer in router.observers.items():
        where = f"{router.name}.{name}"
        for check in observer._handler.filters or ():
            yield where, check
        for handler in observer.handlers:
            for check in handler.filters or ():
                yield f"{where} -> {handler.callback.__name__}", check
    for child in router.sub_routers:
        yield from _filters(child)


def test_no_filter_of_any_router_is_run_in_a_thread() -> None:
    # aiogram runs a plain callable (a bare F.chat.type == ...) with asyncio.to_thread: a thread round trip
    # per router an update passes. Wrapped in Magic or written as a Filter, it is awaited in place.
    threaded = [
        f"{where}: {check.callback!r}"
        for router in (errors.build_router(), *handlers.routers())
        for where, check in _filters(router)
        if not check.awaitable
    ]
    assert threaded == []


async def test_magic_filters_still_decide() -> None:
    from aiogram.types import Chat, Message

    private = Message(message_id=1, date=0, chat=Chat(id=5, type="private"), text="hi")
    group = Message(message_id=2, date=0, chat=Chat(id=-5, type="group"))
    assert await PRIVATE_MESSAGE(private) and not await PRIVATE_MESSAGE(group)
    assert await TEXT(private) == "hi" and not await TEXT(group)
