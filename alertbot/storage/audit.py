"""The append-only audit log of officials' actions: rows are inserted, never deleted.

The one update: when someone who is not an official is forgotten (/forgetme), the rows that name them
are anonymised (`anonymise_chat`).
"""

from __future__ import annotations

import re
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from alertbot.core.clock import utcnow
from alertbot.storage.database import Database, as_utc
from alertbot.storage.tables import audit_log

acting_via: ContextVar[str | None] = ContextVar("alertbot_acting_via", default=None)
"""How the official acts, when not in the chat: "api:KEY_NAME" (an API key) or "cli". Every entry written
while it is set says so (`details["via"]`), whoever writes it."""

FORGOTTEN = "(forgotten)"
"""What replaces a forgotten chat's id inside a text of an audit row's details."""


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
        connection: AsyncConnection | None = None,
        **details: Any,
    ) -> None:
        """Append an entry: in its own transaction, or in the caller's (`connection`, a unit of work)."""
        via = acting_via.get()
        if via is not None:
            details.setdefault("via", via)
        row = audit_log.insert().values(
            at=utcnow(), actor_id=actor_id, actor_name=actor_name, action=action, broadcast_id=broadcast_id,
            details=details,
        )  # fmt: skip
        if connection is not None:
            await connection.execute(row)
            return
        async with self._db.transaction() as conn:
            await conn.execute(row)

    async def entries(
        self, since: datetime | None = None, limit: int | None = None, after_id: int | None = None
    ) -> list[AuditEntry]:
        query = sa.select(audit_log).order_by(audit_log.c.id)
        if since is not None:
            query = query.where(audit_log.c.at >= since)
        if after_id is not None:
            query = query.where(audit_log.c.id > after_id)
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


async def anonymise_chat(conn: AsyncConnection, chat_id: int) -> int:
    """Remove the chat from the audit rows that name it, in the caller's transaction; returns how many rows.

    A person who is not an official appears as the actor of what they were refused (/alert, a forged
    tap): the actor id goes (NULL, as for the system's own actions) and every mention of the id in the
    details, as a number (-> null) or inside a text (-> "(forgotten)"). The action, time and reason stay,
    so the log still counts what was attempted. Rows written for an official's act carry the official's
    configured name; they name only officials and stay as they are: the record of official duties.
    """
    mentioned = sa.cast(audit_log.c.details, sa.Text).like(f"%{chat_id}%")
    rows = await conn.execute(
        sa.select(audit_log.c.id, audit_log.c.actor_id, audit_log.c.details).where(
            audit_log.c.actor_name.is_(None), sa.or_(audit_log.c.actor_id == chat_id, mentioned)
        )
    )
    changed = 0
    for row in rows.all():
        details, named = _without(row.details, chat_id)
        if row.actor_id != chat_id and not named:
            continue  # the digits were part of a longer number
        actor = None if row.actor_id == chat_id else row.actor_id
        await conn.execute(audit_log.update().where(audit_log.c.id == row.id).values(actor_id=actor, details=details))
        changed += 1
    return changed


def _without(value: Any, chat_id: int) -> tuple[Any, bool]:
    """`value` (JSON) with every mention of the chat id removed, and whether there was one."""
    if isinstance(value, bool):
        return value, False
    if isinstance(value, int):
        return (None, True) if value == chat_id else (value, False)
    if isinstance(value, str):
        # the id as a whole number: not inside a longer run of digits, nor a different sign
        pattern = rf"(?<![0-9]){chat_id}(?![0-9])" if chat_id < 0 else rf"(?<![0-9-]){chat_id}(?![0-9])"
        cleaned = re.sub(pattern, FORGOTTEN, value)
        return cleaned, cleaned != value
    if isinstance(value, list):
        items = [_without(item, chat_id) for item in value]
        return [item for item, _ in items], any(named for _, named in items)
    if isinstance(value, dict):
        named = False
        result: dict[str, Any] = {}
        for key, item in value.items():
            new_key, key_named = _without(key, chat_id)
            new_item, item_named = _without(item, chat_id)
            result[new_key] = new_item
            named = named or key_named or item_named
        return result, named
    return value, False
