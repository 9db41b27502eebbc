"""People's multi-step chat flows (state name and data, by aiogram's FSM key), kept in the database.

Used when no Redis is configured, so a half-finished onboarding or /alert survives a restart (several
instances taking updates need Redis: see `telegram/flows.py`). A flow with no state and no data has no row.
"""

from __future__ import annotations

import json
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from alertbot.core.clock import utcnow
from alertbot.storage.database import Database
from alertbot.storage.tables import flow_states


class FlowStateRepository:
    def __init__(self, database: Database) -> None:
        self._database = database

    async def get(self, key: str) -> tuple[str | None, dict[str, Any]]:
        """The flow's state name and data (None and {} when there is none)."""
        async with self._database.connect() as conn:
            row = (
                await conn.execute(sa.select(flow_states.c.state, flow_states.c.data).where(flow_states.c.key == key))
            ).first()
        if row is None:
            return None, {}
        return row.state, json.loads(row.data)

    async def set_state(self, key: str, state: str | None) -> None:
        async with self._database.transaction() as conn:
            await self._upsert(conn, key, state=state)

    async def set_data(self, key: str, data: dict[str, Any]) -> None:
        async with self._database.transaction() as conn:
            if not data:  # the end of a flow (aiogram clears the state first): nothing is left behind
                row = flow_states.c
                ended = await conn.execute(sa.delete(flow_states).where(row.key == key, row.state.is_(None)))
                if ended.rowcount:
                    return
            await self._upsert(conn, key, data=json.dumps(data, ensure_ascii=False, separators=(",", ":")))

    async def _upsert(self, conn: AsyncConnection, key: str, **values: Any) -> None:
        insert = self._database.insert(flow_states).values(
            key=key, state=values.get("state"), data=values.get("data", "{}"), updated_at=utcnow()
        )
        await conn.execute(
            insert.on_conflict_do_update(index_elements=[flow_states.c.key], set_={**values, "updated_at": utcnow()})
        )
