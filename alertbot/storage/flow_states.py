"""People's multi-step chat flows (state name and data, by aiogram's FSM key), kept in the database.

Used when no Redis is configured, so a half-finished onboarding or /alert survives a restart (several
instances taking updates need Redis: see `telegram/flows.py`). A flow with no state and no data has no row.
Changes are written in batches (`write`), as the group commit hands them over.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import sqlalchemy as sa

from alertbot.core.clock import utcnow
from alertbot.storage.database import Database
from alertbot.storage.tables import flow_states

NO_DATA = "{}"


class Flow(NamedTuple):
    """A flow as stored: the state name (None: no step) and the data as a JSON object's text."""

    state: str | None
    data: str

    @property
    def ended(self) -> bool:
        return self.state is None and self.data == NO_DATA


NO_FLOW = Flow(None, NO_DATA)


class FlowStateRepository:
    def __init__(self, database: Database) -> None:
        self._database = database

    async def get(self, key: str) -> Flow:
        """The flow under *key* (NO_FLOW when there is none)."""
        async with self._database.connect() as conn:
            row = (
                await conn.execute(sa.select(flow_states.c.state, flow_states.c.data).where(flow_states.c.key == key))
            ).first()
        return NO_FLOW if row is None else Flow(row.state, row.data)

    async def all(self, limit: int) -> dict[str, Flow] | None:
        """Every stored flow by key, or None when there are more than *limit*."""
        async with self._database.connect() as conn:
            rows = (
                await conn.execute(
                    sa.select(flow_states.c.key, flow_states.c.state, flow_states.c.data).limit(limit + 1)
                )
            ).all()
        return None if len(rows) > limit else {row.key: Flow(row.state, row.data) for row in rows}

    async def write(self, changes: Sequence[tuple[str, Flow]]) -> list[None]:
        """Store each flow under its key, in one transaction: an ended flow's row is deleted."""
        final = dict(changes)  # the last change of a key wins, as it would one by one
        ended = [key for key, flow in final.items() if flow.ended]
        kept = [{"key": key, "state": flow.state, "data": flow.data} for key, flow in final.items() if not flow.ended]
        async with self._database.transaction() as conn:
            if ended:
                await conn.execute(sa.delete(flow_states).where(flow_states.c.key.in_(ended)))
            if kept:  # one statement with many parameter sets: compiled once, whatever the batch size
                now = utcnow()
                insert = self._database.insert(flow_states)
                excluded = insert.excluded
                upsert = insert.on_conflict_do_update(
                    index_elements=[flow_states.c.key],
                    set_={"state": excluded.state, "data": excluded.data, "updated_at": excluded.updated_at},
                )
                await conn.execute(upsert, [row | {"updated_at": now} for row in kept])
        return [None] * len(changes)
