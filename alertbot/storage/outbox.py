"""SQL for the outbox, the dispatcher's side of the deliveries: claim due rows, record Telegram's answers.

The dispatcher claims rows (pending -> sending), and records Telegram's answers in batches; a row is
`sent` only after Telegram accepted the message. Claims carry the dispatch lease's epoch; every write of
the dispatcher is conditional on it, so an instance that lost the lease cannot overwrite or re-queue the
work of the one that holds it now. Every time here is the database's clock.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from alertbot.core.domain import Broadcast, DeliveryState
from alertbot.storage.broadcasts import get_broadcast
from alertbot.storage.channel_posts import first_post_untried
from alertbot.storage.database import Database, as_utc
from alertbot.storage.subscribers import FORGOTTEN_CHAT_BASE, deactivate, migrate_chat
from alertbot.storage.tables import broadcasts, deliveries

_UNFINISHED = [DeliveryState.PENDING.value, DeliveryState.SENDING.value]


@dataclass(frozen=True, slots=True)
class Claimed:
    """A delivery the dispatcher has taken (state `sending`)."""

    id: int
    broadcast_id: int
    chat_id: int
    language: str
    priority: int
    attempts: int
    epoch: int  # the dispatch lease epoch it was claimed under


@dataclass(frozen=True, slots=True)
class DeliveryTimes:
    broadcast_id: int
    kind: str
    first_seconds: float
    latest_seconds: float
    finished: bool


@dataclass(frozen=True, slots=True)
class Outcome:
    """What happened to one claimed delivery; recorded in batches by `record()`."""

    delivery_id: int
    state: DeliveryState
    epoch: int = 0  # the epoch of the claim: recorded only if no later epoch has claimed the row
    message_id: int | None = None
    error: str | None = None
    retry_in: float | None = None  # with state PENDING: try again this many seconds from now (database clock)
    count_attempt: bool = True  # False for Telegram's flood pauses: not the message's fault
    new_chat_id: int | None = None  # the group became a supergroup
    chat_id: int | None = None


class OutboxRepository:
    """Claims, releases and records deliveries for the dispatcher; callers never see SQL or connections."""

    def __init__(self, database: Database) -> None:
        self._db = database

    async def broadcast(self, broadcast_id: int) -> Broadcast | None:
        """The broadcast a claimed delivery belongs to: what the dispatcher sends."""
        async with self._db.connect() as conn:
            return await get_broadcast(conn, broadcast_id)

    async def claim(self, limit: int, claim_ttl: timedelta, epoch: int) -> list[Claimed]:
        """Take up to `limit` due deliveries, gravest first then oldest, and mark them in flight."""
        async with self._db.transaction() as conn:
            now = await self._db.now(conn)
            due = (
                sa.select(deliveries.c.id)
                .where(deliveries.c.state == DeliveryState.PENDING.value, deliveries.c.not_before <= now)
                .where(~first_post_untried(deliveries.c.broadcast_id))  # channel posts go first
                .order_by(deliveries.c.priority, deliveries.c.id)
                .limit(limit)
            )
            if not self._db.is_sqlite:
                due = due.with_for_update(skip_locked=True)
            statement = (
                deliveries.update()
                .where(deliveries.c.id.in_(due.scalar_subquery()))
                .values(state=DeliveryState.SENDING.value, lease_until=now + claim_ttl, claim_epoch=epoch)
                .returning(
                    deliveries.c.id,
                    deliveries.c.broadcast_id,
                    deliveries.c.chat_id,
                    deliveries.c.language,
                    deliveries.c.priority,
                    deliveries.c.attempts,
                )
            )
            rows = (await conn.execute(statement)).all()
        claimed = [
            Claimed(id=r[0], broadcast_id=r[1], chat_id=r[2], language=r[3], priority=r[4], attempts=r[5], epoch=epoch)
            for r in rows
        ]
        claimed.sort(key=lambda c: (c.priority, c.id))
        return claimed

    async def release_claims(
        self, epoch: int, *, other_epochs: bool, expired_only: bool, keep: Iterable[int] = ()
    ) -> int:
        """Put in-flight deliveries back to pending.

        `other_epochs`: claims made under earlier leases (their holder is gone or fenced off); else this
        epoch's own claims that its dispatcher no longer holds (a dispatcher restarted within its term).
        `expired_only`: only claims whose claim lease has run out. `keep`: ids not to touch.
        """
        row = deliveries.c
        conditions = [row.state == DeliveryState.SENDING.value]
        if other_epochs:
            conditions.append(sa.or_(row.claim_epoch.is_(None), row.claim_epoch != epoch))
        else:
            conditions.append(row.claim_epoch == epoch)
        kept = list(keep)
        if kept:
            conditions.append(row.id.notin_(kept))
        async with self._db.transaction() as conn:
            if expired_only:
                conditions.append(row.lease_until < await self._db.now(conn))
            result = await conn.execute(
                deliveries.update().where(*conditions).values(state=DeliveryState.PENDING.value, lease_until=None)
            )
            return int(result.rowcount)

    async def still_claimed(self, delivery_ids: Sequence[int], epoch: int) -> set[int]:
        """Which of these deliveries are still ours to send under `epoch` (not withdrawn or forgotten since)."""
        if not delivery_ids:
            return set()
        async with self._db.connect() as conn:
            rows = await conn.scalars(
                sa.select(deliveries.c.id)
                .select_from(deliveries.join(broadcasts, broadcasts.c.id == deliveries.c.broadcast_id))
                .where(
                    deliveries.c.id.in_(list(delivery_ids)),
                    deliveries.c.state == DeliveryState.SENDING.value,
                    deliveries.c.claim_epoch == epoch,
                    broadcasts.c.withdrawn_at.is_(None),
                )
            )
            return set(rows)

    async def seconds_until_due(self) -> float | None:
        """How long until the earliest pending delivery is due (None: nothing pending; 0: now)."""
        async with self._db.connect() as conn:
            value = as_utc(
                await conn.scalar(
                    sa.select(sa.func.min(deliveries.c.not_before)).where(
                        deliveries.c.state == DeliveryState.PENDING.value
                    )
                )
            )
            if value is None:
                return None
            return max(0.0, (value - await self._db.now(conn)).total_seconds())

    async def queue_depth(self) -> dict[int, int]:
        """Deliveries not yet sent (pending or in flight), by priority."""
        async with self._db.connect() as conn:
            rows = await conn.execute(
                sa.select(deliveries.c.priority, sa.func.count())
                .where(deliveries.c.state.in_(_UNFINISHED))
                .group_by(deliveries.c.priority)
                .order_by(deliveries.c.priority)
            )
            return {row[0]: row[1] for row in rows}

    async def delivery_times(self, latest: int = 10) -> list[DeliveryTimes]:
        """For the `latest` broadcasts that have reached someone: seconds from queueing to the first and to the
        latest delivery (the last one, once the broadcast has finished)."""
        b, d = broadcasts.c, deliveries.c
        async with self._db.connect() as conn:
            recent = (
                sa.select(b.id, b.kind, b.queued_at)
                .where(b.queued_at.is_not(None))
                .order_by(b.id.desc())
                .limit(latest)
                .subquery()
            )
            open_rows = sa.func.sum(sa.case((d.state.in_(_UNFINISHED), 1), else_=0))
            rows = await conn.execute(
                sa.select(
                    recent.c.id, recent.c.kind, recent.c.queued_at, sa.func.min(d.sent_at), sa.func.max(d.sent_at),
                    open_rows,
                )
                .join(deliveries, d.broadcast_id == recent.c.id)
                .group_by(recent.c.id, recent.c.kind, recent.c.queued_at)
                .having(sa.func.max(d.sent_at).is_not(None))
                .order_by(recent.c.id)
            )  # fmt: skip
            times = []
            for broadcast_id, kind, queued, first, last, still_open in rows:
                queued_at, first_at, last_at = as_utc(queued), as_utc(first), as_utc(last)
                assert queued_at is not None and first_at is not None and last_at is not None
                times.append(
                    DeliveryTimes(
                        broadcast_id, kind, (first_at - queued_at).total_seconds(),
                        (last_at - queued_at).total_seconds(), not still_open,
                    )
                )  # fmt: skip
            return times

    async def record(self, outcomes: Sequence[Outcome]) -> None:
        """Store Telegram's answers for claimed deliveries (each under its claim's epoch), in one transaction.

        A delivery of a withdrawn broadcast (or one cancelled by /forgetme) whose answer is a retry or a
        deferral ends cancelled: nothing puts it back in the queue.
        A `sent` answer is recorded whatever happened to the row since, as long as no later epoch
        claimed it: it is the truth, and it keeps the message from going out twice.
        """
        if not outcomes:
            return
        sent = [o for o in outcomes if o.state is DeliveryState.SENT]
        others = [o for o in outcomes if o.state is not DeliveryState.SENT]
        row = deliveries.c
        async with self._db.transaction() as conn:
            now = await self._db.now(conn)
            if sent:  # the common case, one executemany for the whole batch
                await conn.execute(
                    deliveries.update()
                    .where(
                        row.id == sa.bindparam("delivery_id"),
                        row.claim_epoch == sa.bindparam("claim_epoch_of"),
                        row.chat_id > FORGOTTEN_CHAT_BASE,  # forgotten meanwhile: keep no message id
                        # OR of equalities, not IN: executemany cannot expand an IN list
                        sa.or_(*(row.state == state for state in [*_UNFINISHED, DeliveryState.CANCELLED.value])),
                    )
                    .values(
                        state=DeliveryState.SENT.value, message_id=sa.bindparam("sent_message_id"), sent_at=now,
                        lease_until=None, error=None, attempts=row.attempts + 1,
                    ),
                    [
                        {"delivery_id": o.delivery_id, "sent_message_id": o.message_id, "claim_epoch_of": o.epoch}
                        for o in sent
                    ],
                )  # fmt: skip
            for outcome in others:
                await self._record_one(conn, outcome, now)

    @staticmethod
    async def _record_one(conn: AsyncConnection, outcome: Outcome, now: datetime) -> None:
        row = deliveries.c
        mine = sa.and_(
            row.id == outcome.delivery_id, row.claim_epoch == outcome.epoch, row.state == DeliveryState.SENDING.value
        )
        values: dict[str, Any] = {"state": outcome.state.value, "lease_until": None, "error": outcome.error}
        if outcome.count_attempt:
            values["attempts"] = row.attempts + 1
        if outcome.state is DeliveryState.PENDING:
            withdrawn = await conn.scalar(
                sa.select(broadcasts.c.withdrawn_at)
                .select_from(broadcasts.join(deliveries, deliveries.c.broadcast_id == broadcasts.c.id))
                .where(deliveries.c.id == outcome.delivery_id)
            )
            if withdrawn is not None:  # not sent, and withdrawn meanwhile: it never goes out
                values |= {"state": DeliveryState.CANCELLED.value, "error": "withdrawn while in flight"}
            else:
                values["not_before"] = now + timedelta(seconds=outcome.retry_in or 0.0)
        if outcome.new_chat_id is not None and outcome.chat_id is not None:
            still_mine = await conn.scalar(sa.select(row.id).where(mine))
            if still_mine is None:
                return
            await migrate_chat(conn, outcome.chat_id, outcome.new_chat_id)
            taken = await conn.scalar(
                sa.select(row.id).where(
                    row.chat_id == outcome.new_chat_id,
                    row.broadcast_id
                    == sa.select(row.broadcast_id).where(row.id == outcome.delivery_id).scalar_subquery(),
                )
            )
            if taken is not None:  # the new chat already has its own row for this broadcast
                values |= {"state": DeliveryState.CANCELLED.value, "error": "chat migrated; duplicate"}
            else:
                values["chat_id"] = outcome.new_chat_id
        result = await conn.execute(deliveries.update().where(mine).values(**values))
        if result.rowcount == 1 and outcome.state is DeliveryState.BLOCKED and outcome.chat_id is not None:
            await deactivate(conn, outcome.chat_id, now)
