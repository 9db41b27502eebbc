"""SQL for broadcasts and their deliveries (the outbox). Fan-out is set-based: INSERT ... SELECT.

A broadcast and every one of its delivery rows are written in one transaction, before anything is
sent. The dispatcher claims rows (pending -> sending), and records Telegram's answers in batches; a row
is `sent` only after Telegram accepted the message.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from alertbot.core.domain import (
    Audience,
    Broadcast,
    BroadcastKind,
    BroadcastStatus,
    DeliveryCounts,
    DeliveryState,
    Language,
    Severity,
)
from alertbot.core.redact import scrub
from alertbot.storage.database import Database, as_utc
from alertbot.storage.subscribers import FORGOTTEN_CHAT_BASE
from alertbot.storage.tables import broadcasts, campaign_acks, deliveries, subscribers, subscriptions


def utcnow() -> datetime:
    return datetime.now(UTC)


DUE_AT_ONCE = datetime(2000, 1, 1, tzinfo=UTC)
"""`not_before` of deliveries that may go out at once: no host's clock (a CLI's that runs ahead, a clock
stepped back) can hold a warning back."""


@dataclass(frozen=True, slots=True)
class NewBroadcast:
    kind: BroadcastKind
    template_id: str
    variables: dict[str, str]
    districts: tuple[str, ...]
    audience: Audience
    severity: Severity | None
    priority: int
    exercise: bool
    titles: dict[Language, str]
    texts: dict[Language, str]
    created_by: int
    dedupe_key: str
    follows_id: int | None = None
    report_chat_id: int | None = None
    expires_at: datetime | None = None
    occurrence_id: int | None = None
    ack: bool = False
    scheduled_for: datetime | None = None


@dataclass(frozen=True, slots=True)
class FanOut:
    """How a broadcast's deliveries are selected beyond its districts, audience or original."""

    not_before: Callable[[str | None], datetime] | None = None
    """Reminders: when a person with these quiet hours (None: the default) may receive it."""
    skip_acknowledged_of: int | None = None
    """Campaign follow-ups: leave out who confirmed this occurrence."""


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


class BroadcastRepository:
    def __init__(self, database: Database) -> None:
        self._db = database
        self._withdrawn_listeners: list[Callable[[int], None]] = []

    # -- recipients ---------------------------------------------------------------------------

    @staticmethod
    def _audience_filter(district_ids: Sequence[str], audience: Audience) -> list[sa.ColumnElement[bool]]:
        conditions: list[sa.ColumnElement[bool]] = [
            subscribers.c.active.is_(True),
            subscriptions.c.district_id.in_(list(district_ids)),
        ]
        if audience.kind is not None:
            conditions.append(subscribers.c.kind == audience.kind.value)
        if audience.category is not None:
            conditions.append(subscribers.c.business_category == audience.category.value)
        return conditions

    def _recipients_query(self, district_ids: Sequence[str], audience: Audience) -> sa.Select[Any]:
        return (
            sa.select(subscribers.c.chat_id, subscribers.c.language)
            .select_from(subscribers.join(subscriptions))
            .where(*self._audience_filter(district_ids, audience))
            .distinct()
        )

    async def recipient_counts(self, district_ids: Sequence[str], audience: Audience) -> dict[str, int]:
        recipients = self._recipients_query(district_ids, audience).subquery()
        async with self._db.connect() as conn:
            rows = await conn.execute(sa.select(recipients.c.language, sa.func.count()).group_by(recipients.c.language))
            return {row[0]: row[1] for row in rows}

    async def follow_up_counts(self, original_id: int) -> dict[str, int]:
        """Recipients of a follow-up of `original_id` by language: the very selection its fan-out makes."""
        async with self._db.connect() as conn:
            original = (await conn.execute(sa.select(broadcasts).where(broadcasts.c.id == original_id))).one()
            probe = SimpleNamespace(follows_id=original_id, districts=original.districts)
            recipients = self._recipient_source(probe, FanOut()).subquery()
            rows = await conn.execute(sa.select(recipients.c.language, sa.func.count()).group_by(recipients.c.language))
            return {row[0]: row[1] for row in rows}

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
            earlier = await self._recent_id(conn, new.dedupe_key, duplicate_since)
            if earlier is not None:
                return await self._load(conn, earlier), False
        broadcast_id = await conn.scalar(
            broadcasts.insert()
            .values(
                kind=new.kind.value,
                template_id=new.template_id,
                variables=new.variables,
                districts=list(new.districts),
                audience=str(new.audience),
                severity=new.severity.value if new.severity else None,
                priority=new.priority,
                exercise=new.exercise,
                titles=new.titles,
                texts=new.texts,
                status=status.value,
                follows_id=new.follows_id,
                created_by=new.created_by,
                created_at=now,
                expires_at=new.expires_at,
                dedupe_key=new.dedupe_key,
                report_chat_id=new.report_chat_id,
                occurrence_id=new.occurrence_id,
                ack=new.ack,
                scheduled_for=new.scheduled_for,
            )
            .returning(broadcasts.c.id)
        )
        assert broadcast_id is not None
        if queue:
            await self._queue(conn, broadcast_id, now, exercise_chats, fan_out)
        return await self._load(conn, broadcast_id), True

    async def decide(
        self,
        broadcast_id: int,
        approver: int,
        *,
        approve: bool,
        exercise_chats: dict[int, str] | None = None,
    ) -> Broadcast | None:
        """Approve (queue its deliveries) or reject a broadcast awaiting approval, atomically.

        Returns None when it was not awaiting approval any more (decided by someone else, or expired).
        """
        new_status = BroadcastStatus.QUEUED if approve else BroadcastStatus.REJECTED
        async with self._db.transaction() as conn:
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
            return await self._load(conn, broadcast_id)

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
            return [await self._load(conn, i) for i in ids]

    async def _queue(
        self,
        conn: AsyncConnection,
        broadcast_id: int,
        now: datetime,
        exercise_chats: dict[int, str] | None,
        fan_out: FanOut | None = None,
    ) -> None:
        """Insert the delivery rows of a broadcast: set-based, one INSERT ... SELECT per quiet-hours group."""
        row = (await conn.execute(sa.select(broadcasts).where(broadcasts.c.id == broadcast_id))).one()
        fan_out = fan_out or FanOut()
        scheduled = as_utc(row.scheduled_for)
        # "send at ...": nothing due before then; otherwise due whatever any host's clock says
        due = max(now, scheduled) if scheduled is not None else DUE_AT_ONCE
        if row.exercise:
            chats = exercise_chats or {}
            if chats:
                await conn.execute(
                    deliveries.insert(),
                    [
                        {
                            "broadcast_id": broadcast_id, "chat_id": chat, "language": language,
                            "priority": row.priority, "state": DeliveryState.PENDING.value, "attempts": 0,
                            "not_before": due,
                        }
                        for chat, language in chats.items()
                    ],
                )  # fmt: skip
        else:
            recipients = self._recipient_source(row, fan_out).subquery()
            groups: list[tuple[sa.ColumnElement[bool], datetime]] = [(sa.true(), due)]
            if fan_out.not_before is not None:  # reminders wait for the end of each person's quiet hours
                values = list(await conn.scalars(sa.select(recipients.c.quiet_hours).distinct()))
                groups = [
                    (recipients.c.quiet_hours.is_(None) if v is None else recipients.c.quiet_hours == v,
                     fan_out.not_before(v))
                    for v in values
                ]  # fmt: skip
            columns = ["broadcast_id", "chat_id", "language", "priority", "state", "attempts", "not_before"]
            for condition, not_before in groups:
                source = sa.select(
                    sa.literal(broadcast_id), recipients.c.chat_id, recipients.c.language, sa.literal(row.priority),
                    sa.literal(DeliveryState.PENDING.value), sa.literal(0),
                    sa.literal(not_before, sa.DateTime(timezone=True)),
                ).where(condition)  # fmt: skip
                await conn.execute(deliveries.insert().from_select(columns, source))
        count = await conn.scalar(
            sa.select(sa.func.count()).select_from(deliveries).where(deliveries.c.broadcast_id == broadcast_id)
        )
        await conn.execute(
            broadcasts.update()
            .where(broadcasts.c.id == broadcast_id)
            .values(recipients=count or 0, queued_at=now, status=BroadcastStatus.QUEUED.value)
        )

    def _recipient_source(self, row: Any, fan_out: FanOut) -> sa.Select[Any]:
        """(chat_id, language, quiet_hours) of everyone a broadcast goes to."""
        if row.follows_id is None:
            audience = Audience.parse(row.audience)
            return (
                sa.select(subscribers.c.chat_id, subscribers.c.language, subscribers.c.quiet_hours)
                .select_from(subscribers.join(subscriptions))
                .where(*self._audience_filter(row.districts, audience))
                .distinct()
            )
        # a follow-up goes to the chats of the original (for reminders: those it reached, minus confirmers)
        # that are still active subscribers: nobody who was forgotten (their rows name no chat any more),
        # blocked the bot or unsubscribed from everything since is written to again. Someone who moved to
        # another district still hears the all clear for the warning they received. Exercises never come
        # here: theirs go to the officials and test chats of the config.
        states = [DeliveryState.SENT.value] if fan_out.skip_acknowledged_of is not None else _REACHED
        still_subscribed = (
            sa.select(subscriptions.c.chat_id).where(subscriptions.c.chat_id == deliveries.c.chat_id).exists()
        )
        source = (
            sa.select(deliveries.c.chat_id, deliveries.c.language, subscribers.c.quiet_hours)
            .select_from(deliveries.join(subscribers, subscribers.c.chat_id == deliveries.c.chat_id))
            .where(
                deliveries.c.broadcast_id == row.follows_id,
                deliveries.c.state.in_(states),
                subscribers.c.active.is_(True),
                still_subscribed,
            )
        )
        if fan_out.skip_acknowledged_of is not None:
            acknowledged = sa.select(campaign_acks.c.chat_id).where(
                campaign_acks.c.occurrence_id == fan_out.skip_acknowledged_of
            )
            source = source.where(deliveries.c.chat_id.notin_(acknowledged))
        return source

    async def withdraw(self, broadcast_id: int, reason: str, *, with_follow_ups: bool = False) -> int:
        """Stop what has not been sent yet (cancelled, or sent in error); returns how many deliveries.

        One transaction: a request still awaiting approval becomes cancelled (so no approval can queue
        it afterwards), the broadcast is marked withdrawn and its pending deliveries are cancelled.
        Deliveries in flight are not sent if they have not left yet (the dispatcher checks before each
        send), and one whose answer is a retry, a deferral or an error ends cancelled (`record`).
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
            .where(
                deliveries.c.broadcast_id == broadcast_id,
                deliveries.c.state.in_([DeliveryState.PENDING.value, DeliveryState.SENDING.value]),
            )
            .exists()
        )
        async with self._db.transaction() as conn:
            result = await conn.execute(
                broadcasts.update()
                .where(
                    broadcasts.c.id == broadcast_id,
                    broadcasts.c.status == BroadcastStatus.QUEUED.value,
                    ~open_rows,
                )
                .values(status=BroadcastStatus.DONE.value, finished_at=await self._db.now(conn))
            )
            return result.rowcount == 1

    # -- reading broadcasts ---------------------------------------------------------------------

    async def get(self, broadcast_id: int) -> Broadcast | None:
        async with self._db.connect() as conn:
            exists = await conn.scalar(sa.select(broadcasts.c.id).where(broadcasts.c.id == broadcast_id))
            return await self._load(conn, broadcast_id) if exists else None

    @staticmethod
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

    async def with_status(self, *statuses: BroadcastStatus) -> list[Broadcast]:
        async with self._db.connect() as conn:
            ids = await conn.scalars(
                sa.select(broadcasts.c.id)
                .where(broadcasts.c.status.in_([s.value for s in statuses]))
                .order_by(broadcasts.c.id)
            )
            return [await self._load(conn, i) for i in list(ids)]

    async def unnotified_approvals(self) -> list[Broadcast]:
        async with self._db.connect() as conn:
            ids = await conn.scalars(
                sa.select(broadcasts.c.id).where(
                    broadcasts.c.status == BroadcastStatus.PENDING_APPROVAL.value,
                    broadcasts.c.approval_notified.is_(False),
                )
            )
            return [await self._load(conn, i) for i in list(ids)]

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

    @staticmethod
    async def _load(conn: AsyncConnection, broadcast_id: int) -> Broadcast:
        row = (await conn.execute(sa.select(broadcasts).where(broadcasts.c.id == broadcast_id))).one()
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
        )

    # -- the dispatcher's side ------------------------------------------------------------------
    # Claims carry the dispatch lease's epoch; every write of the dispatcher is conditional on it, so an
    # instance that lost the lease cannot overwrite or re-queue the work of the one that holds it now.
    # Every time here is the database's clock.

    async def claim(self, limit: int, claim_ttl: timedelta, epoch: int) -> list[Claimed]:
        """Take up to `limit` due deliveries, gravest first then oldest, and mark them in flight."""
        async with self._db.transaction() as conn:
            now = await self._db.now(conn)
            due = (
                sa.select(deliveries.c.id)
                .where(deliveries.c.state == DeliveryState.PENDING.value, deliveries.c.not_before <= now)
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
                .where(deliveries.c.state.in_([DeliveryState.PENDING.value, DeliveryState.SENDING.value]))
                .group_by(deliveries.c.priority)
                .order_by(deliveries.c.priority)
            )
            return {row[0]: row[1] for row in rows}

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

    async def _record_one(self, conn: AsyncConnection, outcome: Outcome, now: datetime) -> None:
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
            await self._migrate_chat(conn, outcome.chat_id, outcome.new_chat_id)
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
            await conn.execute(
                subscribers.update()
                .where(subscribers.c.chat_id == outcome.chat_id)
                .values(active=False, updated_at=now)
            )

    @staticmethod
    async def _migrate_chat(conn: AsyncConnection, old: int, new: int) -> None:
        exists = await conn.scalar(sa.select(subscribers.c.chat_id).where(subscribers.c.chat_id == new))
        if exists is None:
            # subscriptions follow through ON UPDATE CASCADE
            await conn.execute(subscribers.update().where(subscribers.c.chat_id == old).values(chat_id=new))


_REACHED = [DeliveryState.SENT.value, DeliveryState.PENDING.value, DeliveryState.SENDING.value]
_UNFINISHED = [DeliveryState.PENDING.value, DeliveryState.SENDING.value]
