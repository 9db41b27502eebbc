"""SQL for broadcasts: write them (queued with all their deliveries, or awaiting approval), decide, withdraw, read.

A broadcast and every one of its delivery rows are written in one transaction, before anything is
sent (the fan-out: `alertbot.storage.recipients`). The dispatcher's side of the deliveries, claiming
and recording Telegram's answers, is `alertbot.storage.outbox`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from alertbot.core.domain import (
    Audience,
    Broadcast,
    BroadcastContent,
    BroadcastKind,
    BroadcastStatus,
    DeliveryCounts,
    DeliveryState,
    Severity,
)
from alertbot.core.redact import scrub
from alertbot.storage.channel_posts import cancel_channel_posts, open_posts, write_channel_posts
from alertbot.storage.database import Database, as_utc
from alertbot.storage.recipients import (
    FanOut,
    audience_recipients,
    count_by_language,
    follow_up_recipients,
    write_deliveries,
)
from alertbot.storage.tables import broadcasts, deliveries, subscribers

_UNFINISHED = [DeliveryState.PENDING.value, DeliveryState.SENDING.value]
# a broadcast that was queued (it went out, or began to; perhaps withdrawn since): what CAP and the feed show
_ISSUED = [BroadcastStatus.QUEUED.value, BroadcastStatus.DONE.value]
ANALYZE_AFTER = 50_000  # delivery rows written at once, after which PostgreSQL's statistics are refreshed


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class NewBroadcast(BroadcastContent):
    """A broadcast to write: its fields are the columns `create` stores."""

    created_by: int
    dedupe_key: str


class BroadcastRepository:
    """Reads and writes broadcasts; each public method is one transaction, unless `create` joins the caller's."""

    def __init__(self, database: Database) -> None:
        self._db = database
        self._withdrawn_listeners: list[Callable[[int], None]] = []

    # -- recipients ---------------------------------------------------------------------------

    async def recipient_counts(self, district_ids: Sequence[str], audience: Audience) -> dict[str, int]:
        async with self._db.connect() as conn:
            return await count_by_language(conn, audience_recipients(district_ids, audience))

    async def follow_up_counts(self, original_id: int) -> dict[str, int]:
        """Recipients of a follow-up of `original_id` by language: the very selection its fan-out makes."""
        async with self._db.connect() as conn:
            # NoResultFound for an unknown original
            (await conn.execute(sa.select(broadcasts.c.id).where(broadcasts.c.id == original_id))).one()
            return await count_by_language(conn, follow_up_recipients(original_id, FanOut()))

    async def languages_of(self, chat_ids: Iterable[int]) -> dict[int, str]:
        async with self._db.connect() as conn:
            rows = await conn.execute(
                sa.select(subscribers.c.chat_id, subscribers.c.language).where(
                    subscribers.c.chat_id.in_(list(chat_ids))
                )
            )
            return {row[0]: row[1] for row in rows}

    # -- writing broadcasts -------------------------------------------------------------------

    async def create(
        self,
        new: NewBroadcast,
        *,
        queue: bool,
        exercise_chats: dict[int, str] | None = None,
        duplicate_since: datetime | None = None,
        fan_out: FanOut | None = None,
        connection: AsyncConnection | None = None,
    ) -> tuple[Broadcast, bool]:
        """Write the broadcast; with `queue`, also every delivery row, in the same transaction.

        With `duplicate_since`, a broadcast with the same dedupe key created since then (and not refused
        or expired) is returned instead, with False: checked inside the writing transaction, so two
        officials confirming at the same moment cannot both send.
        """
        if connection is not None:  # part of a caller's transaction (a campaign occurrence)
            return await self._create(connection, new, queue, exercise_chats, duplicate_since, fan_out)
        async with self._db.transaction() as conn:
            return await self._create(conn, new, queue, exercise_chats, duplicate_since, fan_out)

    async def _create(
        self,
        conn: AsyncConnection,
        new: NewBroadcast,
        queue: bool,
        exercise_chats: dict[int, str] | None,
        duplicate_since: datetime | None,
        fan_out: FanOut | None,
    ) -> tuple[Broadcast, bool]:
        now = await self._db.now(conn)
        status = BroadcastStatus.QUEUED if queue else BroadcastStatus.PENDING_APPROVAL
        if duplicate_since is not None:
            if self._db.engine.dialect.name == "postgresql":
                await conn.execute(sa.select(sa.func.pg_advisory_xact_lock(sa.func.hashtext(new.dedupe_key))))
            earlier = await _recent_id(conn, new.dedupe_key, duplicate_since)
            if earlier is not None:
                return await load_broadcast(conn, earlier), False
        values: dict[str, Any] = {field.name: getattr(new, field.name) for field in dataclasses.fields(new)}
        values |= {
            "kind": new.kind.value,
            "districts": list(new.districts),
            "channels": [list(channel) for channel in new.channels],
            "audience": str(new.audience),
            "severity": new.severity.value if new.severity else None,
            "status": status.value,
            "created_at": now,
        }
        broadcast_id = await conn.scalar(broadcasts.insert().values(values).returning(broadcasts.c.id))
        assert broadcast_id is not None
        if queue:
            await self._queue(conn, broadcast_id, now, exercise_chats, fan_out)
        return await load_broadcast(conn, broadcast_id), True

    async def decide(
        self,
        broadcast_id: int,
        approver: int,
        *,
        approve: bool,
        exercise_chats: dict[int, str] | None = None,
        connection: AsyncConnection | None = None,
    ) -> Broadcast | None:
        """Approve (queue its deliveries) or reject a broadcast awaiting approval, atomically (in its own
        transaction, or in the caller's `connection`).

        Returns None when it was not awaiting approval any more (decided by someone else, or expired).
        """
        if connection is not None:
            return await self._decide(connection, broadcast_id, approver, approve, exercise_chats)
        async with self._db.transaction() as conn:
            return await self._decide(conn, broadcast_id, approver, approve, exercise_chats)

    async def _decide(
        self, conn: AsyncConnection, broadcast_id: int, approver: int, approve: bool,
        exercise_chats: dict[int, str] | None,
    ) -> Broadcast | None:  # fmt: skip
        new_status = BroadcastStatus.QUEUED if approve else BroadcastStatus.REJECTED
        now = await self._db.now(conn)
        result = await conn.execute(
            broadcasts.update()
            .where(
                broadcasts.c.id == broadcast_id,
                broadcasts.c.status == BroadcastStatus.PENDING_APPROVAL.value,
                sa.or_(broadcasts.c.expires_at.is_(None), broadcasts.c.expires_at > now),
            )
            .values(status=new_status.value, approved_by=approver, decided_at=now)
        )
        if result.rowcount != 1:
            return None
        if approve:
            await self._queue(conn, broadcast_id, now, exercise_chats)
        return await load_broadcast(conn, broadcast_id)

    async def expire_approvals(self) -> list[Broadcast]:
        """Mark requests whose approval time ran out as expired; returns them."""
        async with self._db.transaction() as conn:
            now = await self._db.now(conn)
            ids = list(
                await conn.scalars(
                    broadcasts.update()
                    .where(
                        broadcasts.c.status == BroadcastStatus.PENDING_APPROVAL.value,
                        broadcasts.c.expires_at <= now,
                    )
                    .values(status=BroadcastStatus.EXPIRED.value, decided_at=now)
                    .returning(broadcasts.c.id)
                )
            )
            return [await load_broadcast(conn, i) for i in ids]

    @staticmethod
    async def _queue(
        conn: AsyncConnection,
        broadcast_id: int,
        now: datetime,
        exercise_chats: dict[int, str] | None,
        fan_out: FanOut | None = None,
    ) -> None:
        """Write the delivery rows of a broadcast and mark it queued."""
        row = (await conn.execute(sa.select(broadcasts).where(broadcasts.c.id == broadcast_id))).one()
        count = await write_deliveries(conn, row, now, exercise_chats, fan_out or FanOut())
        if count >= ANALYZE_AFTER and conn.dialect.name == "postgresql":
            # fresh statistics, or PostgreSQL plans the next claims for the table as it was (a million new rows
            # claimed by a bitmap scan and a sort: 470 ms a claim instead of 1.4 ms by ix_deliveries_queue)
            await conn.execute(sa.text("ANALYZE deliveries"))
        scheduled = as_utc(row.scheduled_for)
        await write_channel_posts(conn, row, max(now, scheduled) if scheduled is not None else now)
        await conn.execute(
            broadcasts.update()
            .where(broadcasts.c.id == broadcast_id)
            .values(recipients=count, queued_at=now, status=BroadcastStatus.QUEUED.value)
        )

    async def withdraw(self, broadcast_id: int, reason: str, *, with_follow_ups: bool = False) -> int:
        """Stop what has not been sent yet (cancelled, or sent in error); returns how many deliveries.

        One transaction: a request still awaiting approval becomes cancelled (so no approval can queue
        it afterwards), the broadcast is marked withdrawn and its pending deliveries are cancelled.
        Deliveries in flight are not sent if they have not left yet (the dispatcher checks before each
        send), and one whose answer is a retry, a deferral or an error ends cancelled
        (`OutboxRepository.record`).
        `with_follow_ups` (sent in error): its follow-ups still awaiting approval are cancelled too.
        """
        async with self._db.transaction() as conn:
            now = await self._db.now(conn)
            awaiting = broadcasts.c.status == BroadcastStatus.PENDING_APPROVAL.value
            target = broadcasts.c.id == broadcast_id
            if with_follow_ups:
                target = sa.or_(target, broadcasts.c.follows_id == broadcast_id)
            await conn.execute(
                broadcasts.update()
                .where(target, awaiting)
                .values(status=BroadcastStatus.CANCELLED.value, decided_at=now, withdrawn_at=now)
            )
            await conn.execute(
                broadcasts.update()
                .where(broadcasts.c.id == broadcast_id, broadcasts.c.withdrawn_at.is_(None))
                .values(withdrawn_at=now)
            )
            result = await conn.execute(
                deliveries.update()
                .where(deliveries.c.broadcast_id == broadcast_id, deliveries.c.state == DeliveryState.PENDING.value)
                .values(state=DeliveryState.CANCELLED.value, error=scrub(reason), lease_until=None)
            )
            stopped = int(result.rowcount)
            await cancel_channel_posts(conn, broadcast_id, reason)
        for listener in self._withdrawn_listeners:
            listener(broadcast_id)
        return stopped

    def on_withdrawn(self, listener: Callable[[int], None]) -> None:
        """Call `listener(broadcast_id)` after a withdrawal is committed (the dispatcher looks again at once)."""
        self._withdrawn_listeners.append(listener)

    async def set_report_message(self, broadcast_id: int, message_id: int) -> None:
        async with self._db.transaction() as conn:
            await conn.execute(
                broadcasts.update().where(broadcasts.c.id == broadcast_id).values(report_message_id=message_id)
            )

    async def mark_approval_notified(self, broadcast_id: int) -> None:
        async with self._db.transaction() as conn:
            await conn.execute(
                broadcasts.update().where(broadcasts.c.id == broadcast_id).values(approval_notified=True)
            )

    async def finish_if_complete(self, broadcast_id: int) -> bool:
        """Mark the broadcast done when none of its deliveries is pending or in flight."""
        open_rows = (
            sa.select(deliveries.c.id)
            .where(deliveries.c.broadcast_id == broadcast_id, deliveries.c.state.in_(_UNFINISHED))
            .exists()
        )
        async with self._db.transaction() as conn:
            result = await conn.execute(
                broadcasts.update()
                .where(
                    broadcasts.c.id == broadcast_id,
                    broadcasts.c.status == BroadcastStatus.QUEUED.value,
                    ~open_rows,
                    ~open_posts(broadcast_id),
                )
                .values(status=BroadcastStatus.DONE.value, finished_at=await self._db.now(conn))
            )
            return result.rowcount == 1

    # -- reading broadcasts ---------------------------------------------------------------------

    async def get(self, broadcast_id: int) -> Broadcast | None:
        async with self._db.connect() as conn:
            return await get_broadcast(conn, broadcast_id)

    async def with_status(self, *statuses: BroadcastStatus) -> list[Broadcast]:
        async with self._db.connect() as conn:
            ids = await conn.scalars(
                sa.select(broadcasts.c.id)
                .where(broadcasts.c.status.in_([s.value for s in statuses]))
                .order_by(broadcasts.c.id)
            )
            return [await load_broadcast(conn, i) for i in list(ids)]

    async def follow_ups(self, original_id: int) -> list[Broadcast]:
        """The follow-ups of a broadcast that were queued (went out, or began to), oldest first."""
        async with self._db.connect() as conn:
            ids = await conn.scalars(
                sa.select(broadcasts.c.id)
                .where(broadcasts.c.follows_id == original_id, broadcasts.c.status.in_(_ISSUED))
                .order_by(broadcasts.c.id)
            )
            return [await load_broadcast(conn, i) for i in list(ids)]

    async def issued(
        self,
        kinds: Sequence[BroadcastKind],
        *,
        since: datetime | None = None,
        limit: int = 100,
        awaiting_approval: bool = False,
    ) -> list[Broadcast]:
        """Broadcasts of these kinds that were queued (went out, or began to), newest first; with
        `awaiting_approval`, those waiting for a supervisor's decision too."""
        statuses = [*_ISSUED, BroadcastStatus.PENDING_APPROVAL.value] if awaiting_approval else _ISSUED
        query = sa.select(broadcasts.c.id).where(
            broadcasts.c.kind.in_([k.value for k in kinds]), broadcasts.c.status.in_(statuses)
        )
        if since is not None:
            query = query.where(broadcasts.c.created_at >= since)
        async with self._db.connect() as conn:
            ids = await conn.scalars(query.order_by(broadcasts.c.id.desc()).limit(limit))
            return [await load_broadcast(conn, i) for i in list(ids)]

    async def unnotified_approvals(self) -> list[Broadcast]:
        async with self._db.connect() as conn:
            ids = await conn.scalars(
                sa.select(broadcasts.c.id).where(
                    broadcasts.c.status == BroadcastStatus.PENDING_APPROVAL.value,
                    broadcasts.c.approval_notified.is_(False),
                )
            )
            return [await load_broadcast(conn, i) for i in list(ids)]

    async def due_by_priority(self) -> dict[int, int]:
        """Deliveries due now and not yet sent (pending or in flight), by priority: what goes out first."""
        async with self._db.connect() as conn:
            now = await self._db.now(conn)
            rows = await conn.execute(
                sa.select(deliveries.c.priority, sa.func.count())
                .where(deliveries.c.state.in_(_UNFINISHED), deliveries.c.not_before <= now)
                .group_by(deliveries.c.priority)
            )
            return {row[0]: row[1] for row in rows}

    async def delivery_span(self, broadcast_id: int) -> tuple[float, float] | None:
        """Seconds from queueing to the first and to the last delivery Telegram accepted (None: none yet)."""
        async with self._db.connect() as conn:
            row = (
                await conn.execute(
                    sa.select(
                        broadcasts.c.queued_at, sa.func.min(deliveries.c.sent_at), sa.func.max(deliveries.c.sent_at)
                    )
                    .select_from(broadcasts.join(deliveries, deliveries.c.broadcast_id == broadcasts.c.id))
                    .where(broadcasts.c.id == broadcast_id, deliveries.c.state == DeliveryState.SENT.value)
                    .group_by(broadcasts.c.queued_at)
                )
            ).first()
        if row is None or row[0] is None or row[1] is None:
            return None
        queued, first, last = as_utc(row[0]), as_utc(row[1]), as_utc(row[2])
        assert queued is not None and first is not None and last is not None
        return max(0.0, (first - queued).total_seconds()), max(0.0, (last - queued).total_seconds())

    async def counts(self, broadcast_id: int) -> DeliveryCounts:
        async with self._db.connect() as conn:
            rows = await conn.execute(
                sa.select(deliveries.c.state, sa.func.count())
                .where(deliveries.c.broadcast_id == broadcast_id)
                .group_by(deliveries.c.state)
            )
            return DeliveryCounts(**{row[0]: row[1] for row in rows})

    async def failures(self, broadcast_id: int, limit: int = 20) -> list[tuple[int, str, str | None]]:
        async with self._db.connect() as conn:
            rows = await conn.execute(
                sa.select(deliveries.c.chat_id, deliveries.c.state, deliveries.c.error)
                .where(
                    deliveries.c.broadcast_id == broadcast_id,
                    deliveries.c.state.in_([DeliveryState.FAILED.value, DeliveryState.BLOCKED.value]),
                )
                .order_by(deliveries.c.id)
                .limit(limit)
            )
            return [(row[0], row[1], row[2]) for row in rows]


async def get_broadcast(conn: AsyncConnection, broadcast_id: int) -> Broadcast | None:
    """The broadcast with this id, or None."""
    row = (await conn.execute(sa.select(broadcasts).where(broadcasts.c.id == broadcast_id))).first()
    return _broadcast(row) if row is not None else None


async def load_broadcast(conn: AsyncConnection, broadcast_id: int) -> Broadcast:
    """The broadcast with this id, which exists."""
    return _broadcast((await conn.execute(sa.select(broadcasts).where(broadcasts.c.id == broadcast_id))).one())


def _broadcast(row: Any) -> Broadcast:
    return Broadcast(
        id=row.id,
        kind=BroadcastKind(row.kind),
        template_id=row.template_id,
        variables=dict(row.variables),
        districts=tuple(row.districts),
        audience=Audience.parse(row.audience),
        severity=Severity(row.severity) if row.severity else None,
        priority=row.priority,
        exercise=bool(row.exercise),
        titles=dict(row.titles),
        texts=dict(row.texts),
        status=BroadcastStatus(row.status),
        follows_id=row.follows_id,
        created_by=row.created_by,
        approved_by=row.approved_by,
        created_at=as_utc(row.created_at),  # type: ignore[arg-type]
        expires_at=as_utc(row.expires_at),
        recipients=row.recipients,
        report_chat_id=row.report_chat_id,
        report_message_id=row.report_message_id,
        occurrence_id=row.occurrence_id,
        ack=bool(row.ack),
        scheduled_for=as_utc(row.scheduled_for),
        channels=tuple((str(c), str(lang)) for c, lang in row.channels or ()),
        withdrawn_at=as_utc(row.withdrawn_at),
    )


async def _recent_id(conn: AsyncConnection, dedupe_key: str, since: datetime) -> int | None:
    """The latest broadcast with the same content since `since` that was not refused or expired."""
    return await conn.scalar(
        sa.select(broadcasts.c.id)
        .where(
            broadcasts.c.dedupe_key == dedupe_key,
            broadcasts.c.created_at >= since,
            broadcasts.c.status.notin_([BroadcastStatus.REJECTED.value, BroadcastStatus.EXPIRED.value]),
        )
        .order_by(broadcasts.c.id.desc())
        .limit(1)
    )
