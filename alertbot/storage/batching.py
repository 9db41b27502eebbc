"""Group commit: concurrent requests of one kind are written together in one transaction.

When a warning goes out, many people subscribe in the same second. Committing each on its own makes
them queue behind one another for SQLite's single writer; a batch costs about as much as one of them.
Each caller still waits until its own request is committed, so nothing is acknowledged unsaved.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Generic, TypeVar

Request = TypeVar("Request")
Result = TypeVar("Result")


class GroupCommit(Generic[Request, Result]):
    """Feeds every request submitted while a batch is being written into the next batch."""

    def __init__(self, write: Callable[[Sequence[Request]], Awaitable[Sequence[Result]]], max_batch: int = 500) -> None:
        self._write = write
        self._max_batch = max_batch
        self._pending: list[tuple[Request, asyncio.Future[Result]]] = []
        self._writer: asyncio.Task[None] | None = None

    async def submit(self, request: Request) -> Result:
        future: asyncio.Future[Result] = asyncio.get_running_loop().create_future()
        self._pending.append((request, future))
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._drain())
        return await future

    async def _drain(self) -> None:
        while self._pending:
            batch, self._pending = self._pending[: self._max_batch], self._pending[self._max_batch :]
            try:
                results = await self._write([request for request, _ in batch])
            except Exception as exc:  # every caller in the batch learns of the failure
                for _, future in batch:
                    if not future.done():
                        future.set_exception(exc)
                continue
            for (_, future), result in zip(batch, results, strict=True):
                if not future.done():
                    future.set_result(result)
