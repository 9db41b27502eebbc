"""One write transaction that several repository calls share: all of it is committed, or none of it.

    async with UnitOfWork(database) as uow:
        occurrence_id = await campaigns.claim_occurrence(uow.connection, ...)
        await broadcasts.create(..., connection=uow.connection)

Committed when the block ends, rolled back when it raises (an exception raised on purpose is the way to
undo the work). Repositories take `uow.connection` wherever they accept a caller's connection; their
other methods still open a transaction of their own.
"""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager
from types import TracebackType

from sqlalchemy.ext.asyncio import AsyncConnection

from alertbot.storage.database import Database


class UnitOfWork:
    def __init__(self, database: Database) -> None:
        self._database = database
        self._transaction: AbstractAsyncContextManager[AsyncConnection] | None = None
        self._connection: AsyncConnection | None = None

    @property
    def connection(self) -> AsyncConnection:
        """The transaction's connection, for the repositories; only inside the `async with` block."""
        if self._connection is None:
            raise RuntimeError("a unit of work's connection is used outside its `async with` block")
        return self._connection

    async def __aenter__(self) -> UnitOfWork:
        if self._transaction is not None:
            raise RuntimeError("a unit of work is entered once")
        self._transaction = self._database.transaction()
        self._connection = await self._transaction.__aenter__()
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, error: BaseException | None, traceback: TracebackType | None
    ) -> bool | None:
        assert self._transaction is not None
        self._connection = None
        return await self._transaction.__aexit__(kind, error, traceback)
