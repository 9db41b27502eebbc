"""Leases in the database: one holder at a time for a named job, renewed while it runs, fenced by an epoch.

Telegram limits the bot token, not a process, so when several alertbot instances share a database only
the lease holder dispatches. Every change of holder raises the lease's epoch; the holder tags its claims
with it, so a holder that lost the lease can neither record over nor re-queue the next one's work.
Expiry is judged by the database's clock, never by a host's. A lease is never deleted (its epoch must
only grow): releasing it makes it expire now.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from alertbot.storage.database import Database, as_utc
from alertbot.storage.tables import leases


@dataclass(frozen=True, slots=True)
class Lease:
    name: str
    holder: str
    process: str | None
    epoch: int
    expires_at: datetime
    predecessor_gone: bool = False
    """This acquisition took over from a process known to be dead: its claims cannot be in flight."""


class LeaseRepository:
    def __init__(self, database: Database) -> None:
        self._db = database

    async def acquire(
        self,
        name: str,
        holder: str,
        process: str,
        ttl: timedelta,
        *,
        is_gone: Callable[[str], bool] = lambda _process: False,
    ) -> Lease | None:
        """Take or renew the lease for (`holder`, `process`); the lease held now, or None.

        Renewal keeps the epoch; taking over (the lease expired, or its process is known to be gone)
        raises it by one.
        """
        async with self._db.transaction() as conn:
            now = await self._db.now(conn)
            inserted = await conn.execute(
                self._db.insert(leases)
                .values(name=name, holder=holder, process=process, expires_at=now + ttl, epoch=1)
                .on_conflict_do_nothing(index_elements=[leases.c.name])
            )
            if inserted.rowcount == 1:  # the first lease of this name
                return Lease(name, holder, process, 1, now + ttl)
            query = sa.select(leases).where(leases.c.name == name)
            if not self._db.is_sqlite:
                query = query.with_for_update()
            row = (await conn.execute(query)).one()
            expires = as_utc(row.expires_at)
            assert expires is not None
            if row.holder == holder and row.process == process:
                if expires <= now:
                    # our own lease ran out (the database was unreachable for a while): someone may have
                    # held it since, so this is a new term. Its predecessor is this very process, whose
                    # jobs were stopped when its term lapsed: none of its claims is still in flight.
                    return await self._take(conn, row.epoch, name, holder, process, now + ttl, gone=True)
                await conn.execute(leases.update().where(leases.c.name == name).values(expires_at=now + ttl))
                return Lease(name, holder, process, row.epoch, now + ttl)
            # a holder whose process is known to be dead (on this host) cannot be sending: no need to
            # wait for its lease to run out, nor for its claims to
            gone = row.process is not None and is_gone(row.process)
            if expires <= now or gone:
                return await self._take(conn, row.epoch, name, holder, process, now + ttl, gone=gone)
            return None

    async def _take(
        self, conn: AsyncConnection, epoch: int, name: str, holder: str, process: str,
        expires: datetime, *, gone: bool,
    ) -> Lease:  # fmt: skip
        await conn.execute(
            leases.update()
            .where(leases.c.name == name)
            .values(holder=holder, process=process, expires_at=expires, epoch=epoch + 1)
        )
        return Lease(name, holder, process, epoch + 1, expires, predecessor_gone=gone)

    async def release(self, name: str, holder: str, process: str) -> None:
        """Let the lease go at once (it expires now; its epoch stays)."""
        async with self._db.transaction() as conn:
            now = await self._db.now(conn)
            await conn.execute(
                leases.update()
                .where(leases.c.name == name, leases.c.holder == holder, leases.c.process == process)
                .values(expires_at=now)
            )

    async def current(self, name: str) -> Lease | None:
        """The lease as stored (also when expired), or None if it was never taken."""
        async with self._db.connect() as conn:
            row = (await conn.execute(sa.select(leases).where(leases.c.name == name))).one_or_none()
        if row is None:
            return None
        expires = as_utc(row.expires_at)
        assert expires is not None
        return Lease(row.name, row.holder, row.process, row.epoch, expires)

    async def holder(self, name: str) -> str | None:
        """Who holds the lease now (None: nobody, or it expired)."""
        lease = await self.current(name)
        if lease is None or lease.expires_at <= await self._db.now():
            return None
        return lease.holder
