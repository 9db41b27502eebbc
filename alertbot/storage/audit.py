"""The append-only audit log of officials' actions: rows are inserted, never updated or deleted."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from alertbot.storage.database import Database, as_utc
from alertbot.storage.tables import audit_log


@dataclass(frozen=True, slots=True)
class AuditEntry:
    id: int
    at: datetime
    actor_id: int | None
    actor_name: str | None
    action: str
    broadcast_id: int | None
    details: dict[str, Any]


class AuditLog:
    def __init__(self, database: Database) -> None:
        self._db = database

    async def record(
        self,
        action: str,
        *,
        actor_id: int | None,
        actor_name: str | None = None,
        broadcast_id: int | None = None,
        **details: Any,
    ) -> None:
        async with self._db.transaction() as conn:
            await conn.execute(
                audit_log.insert().values(
                    at=datetime.now(UTC),
                    actor_id=actor_id,
                    actor_name=actor_name,
                    action=action,
                    broadcast_id=broadcast_id,
                    details=details,
                )
            )

    async def entries(self, since: datetime | None = None, limit: int | None = None) -> list[AuditEntry]:
        query = sa.select(audit_log).order_by(audit_log.c.id)
        if since is not None:
            query = query.where(audit_log.c.at >= since)
        if limit is not None:
            query = query.limit(limit)
        async with self._db.connect() as conn:
            rows = (await conn.execute(query)).all()
        return [
            AuditEntry(
                id=row.id,
                at=as_utc(row.at),  # type: ignore[arg-type]
                actor_id=row.actor_id,
                actor_name=row.actor_name,
                action=row.action,
                broadcast_id=row.broadcast_id,
                details=dict(row.details),
            )
            for row in rows
        ]
