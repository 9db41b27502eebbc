"""Leases in the database: one holder at a time for a named job, renewed while it runs.

Telegram limits the bot token, not a process, so when several alertbot instances share a database only
the lease holder dispatches. A holder that dies stops renewing and another takes over when the lease
runs out; a holder restarted under the same name takes its lease back at once.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from alertbot.storage.database import Database
from alertbot.storage.tables import leases


class LeaseRepository:
    def __init__(self, database: Database) -> None:
        self._db = database

    async def acquire(self, name: str, holder: str, ttl: timedelta) -> bool:
        """Take or renew the lease; True if `holder` holds it now."""
        now = datetime.now(UTC)
        statement = (
            self._db.insert(leases)
            .values(name=name, holder=holder, expires_at=now + ttl)
            .on_conflict_do_update(
                index_elements=[leases.c.name],
                set_={"holder": holder, "expires_at": now + ttl},
                where=sa.or_(leases.c.holder == holder, leases.c.expires_at < now),
            )
        )
        async with self._db.transaction() as conn:
            await conn.execute(statement)
            current = await conn.scalar(sa.select(leases.c.holder).where(leases.c.name == name))
        return current == holder

    async def release(self, name: str, holder: str) -> None:
        async with self._db.transaction() as conn:
            await conn.execute(leases.delete().where(leases.c.name == name, leases.c.holder == holder))

    async def holder(self, name: str) -> str | None:
        async with self._db.connect() as conn:
            return await conn.scalar(sa.select(leases.c.holder).where(leases.c.name == name))
