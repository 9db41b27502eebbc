"""One heartbeat row per running bot instance: its process, whether it dispatches, its last error.

The row is what `alertbot status` reads, and what refuses a second live process under the same
`[dispatch] instance` name (two processes that both believed they were "bot-a" would share a lease).
Times are the database's clock.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa

from alertbot.storage.database import Database, as_utc
from alertbot.storage.tables import instances


@dataclass(frozen=True, slots=True)
class InstanceRow:
    name: str
    process: str
    started_at: datetime
    seen_at: datetime
    dispatching: bool
    last_error: str | None
    last_error_at: datetime | None


class InstanceRepository:
    def __init__(self, database: Database) -> None:
        self._db = database

    async def claim_name(self, name: str, process: str, *, stale_after: timedelta, force: bool = False) -> str | None:
        """Register `process` under `name`. Returns None on success, else the other live process's id.

        The name is free when no row has it, when its heartbeat is older than `stale_after`, or with `force`
        (the other process is known to be gone).
        """
        async with self._db.transaction() as conn:
            now = await self._db.now(conn)
            row = (await conn.execute(sa.select(instances).where(instances.c.name == name))).one_or_none()
            values = {"process": process, "started_at": now, "seen_at": now, "dispatching": False}
            if row is None:
                await conn.execute(instances.insert().values(name=name, **values))
                return None
            seen = as_utc(row.seen_at)
            assert seen is not None
            if row.process != process and not force and seen > now - stale_after:
                return str(row.process)
            await conn.execute(
                instances.update().where(instances.c.name == name).values(**values, last_error=None, last_error_at=None)
            )
            return None

    async def seen_at(self, name: str) -> tuple[str, datetime] | None:
        async with self._db.connect() as conn:
            row = (
                await conn.execute(sa.select(instances.c.process, instances.c.seen_at).where(instances.c.name == name))
            ).one_or_none()
        if row is None:
            return None
        seen = as_utc(row.seen_at)
        assert seen is not None
        return str(row.process), seen

    async def heartbeat(
        self, name: str, process: str, *, dispatching: bool, error: str | None, error_at: datetime | None
    ) -> bool:
        """Record that `process` is alive; False if another process has taken the name since.

        A row that is gone (the table was cleaned up) is written again: only another process's row
        under the same name means this one must stand down.
        """
        values: dict[str, object] = {"dispatching": dispatching}
        if error is not None:
            values |= {"last_error": error[:500], "last_error_at": error_at}
        async with self._db.transaction() as conn:
            now = await self._db.now(conn)
            values["seen_at"] = now
            result = await conn.execute(
                instances.update().where(instances.c.name == name, instances.c.process == process).values(**values)
            )
            if result.rowcount == 1:
                return True
            taken = await conn.scalar(sa.select(instances.c.process).where(instances.c.name == name))
            if taken is not None:
                return False
            await conn.execute(instances.insert().values(name=name, process=process, started_at=now, **values))
            return True

    async def remove(self, name: str, process: str) -> None:
        async with self._db.transaction() as conn:
            await conn.execute(instances.delete().where(instances.c.name == name, instances.c.process == process))

    async def all(self) -> list[InstanceRow]:
        async with self._db.connect() as conn:
            rows = (await conn.execute(sa.select(instances).order_by(instances.c.name))).all()
        return [
            InstanceRow(
                r.name, r.process, as_utc(r.started_at), as_utc(r.seen_at), bool(r.dispatching),  # type: ignore[arg-type]
                r.last_error, as_utc(r.last_error_at),
            )
            for r in rows
        ]  # fmt: skip
