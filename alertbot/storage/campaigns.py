"""SQL for campaign occurrences (the exactly-once key), acknowledgements and paused state."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from alertbot.core.clock import utcnow
from alertbot.core.domain import DeliveryState
from alertbot.storage.database import Database, as_utc
from alertbot.storage.tables import (
    campaign_acks,
    campaign_occurrences,
    campaign_states,
    deliveries,
    subscribers,
    subscriptions,
)


@dataclass(frozen=True, slots=True)
class Occurrence:
    id: int
    campaign_id: str
    occurrence_at: datetime
    status: str
    broadcast_id: int | None
    follow_up_due_at: datetime | None
    follow_up_broadcast_id: int | None
    manual_by: int | None


@dataclass(frozen=True, slots=True)
class CampaignCounts:
    occurrences: int
    last_at: datetime | None
    last_status: str | None
    delivered: int
    acknowledged: int


class CampaignRepository:
    def __init__(self, database: Database) -> None:
        self._db = database

    async def claim_occurrence(
        self, conn: AsyncConnection, campaign_id: str, at: datetime, status: str, manual_by: int | None = None
    ) -> int | None:
        """Record the occurrence inside the caller's transaction; None if it was already recorded."""
        statement = (
            self._db.insert(campaign_occurrences)
            .values(
                campaign_id=campaign_id,
                occurrence_at=at,
                status=status,
                manual_by=manual_by,
                created_at=utcnow(),
            )
            .on_conflict_do_nothing(index_elements=["campaign_id", "occurrence_at"])
            .returning(campaign_occurrences.c.id)
        )
        return await conn.scalar(statement)

    async def record_occurrence(self, campaign_id: str, at: datetime, status: str) -> bool:
        """Record an occurrence that sends nothing (missed, out of season, paused); False if known already."""
        async with self._db.transaction() as conn:
            return await self.claim_occurrence(conn, campaign_id, at, status) is not None

    @staticmethod
    async def link_broadcast(
        conn: AsyncConnection, occurrence_id: int, broadcast_id: int, follow_up_due_at: datetime | None
    ) -> None:
        await conn.execute(
            campaign_occurrences.update()
            .where(campaign_occurrences.c.id == occurrence_id)
            .values(broadcast_id=broadcast_id, follow_up_due_at=follow_up_due_at)
        )

    @staticmethod
    async def claim_follow_up(conn: AsyncConnection, occurrence_id: int, broadcast_id: int) -> bool:
        result = await conn.execute(
            campaign_occurrences.update()
            .where(
                campaign_occurrences.c.id == occurrence_id,
                campaign_occurrences.c.follow_up_broadcast_id.is_(None),
            )
            .values(follow_up_broadcast_id=broadcast_id)
        )
        return result.rowcount == 1

    async def known_times(self, campaign_id: str, since: datetime) -> set[datetime]:
        async with self._db.connect() as conn:
            rows = await conn.scalars(
                sa.select(campaign_occurrences.c.occurrence_at).where(
                    campaign_occurrences.c.campaign_id == campaign_id, campaign_occurrences.c.occurrence_at >= since
                )
            )
            return {as_utc(r) for r in rows}  # type: ignore[misc]

    async def due_follow_ups(self, now: datetime) -> list[Occurrence]:
        async with self._db.connect() as conn:
            rows = await conn.execute(
                sa.select(campaign_occurrences).where(
                    campaign_occurrences.c.follow_up_due_at <= now,
                    campaign_occurrences.c.follow_up_broadcast_id.is_(None),
                    campaign_occurrences.c.broadcast_id.is_not(None),
                )
            )
            return [self._occurrence(row) for row in rows]

    async def occurrences(self, campaign_id: str | None = None, limit: int = 100) -> list[Occurrence]:
        query = sa.select(campaign_occurrences).order_by(campaign_occurrences.c.occurrence_at.desc()).limit(limit)
        if campaign_id is not None:
            query = query.where(campaign_occurrences.c.campaign_id == campaign_id)
        async with self._db.connect() as conn:
            return [self._occurrence(row) for row in await conn.execute(query)]

    async def get(self, occurrence_id: int) -> Occurrence | None:
        async with self._db.connect() as conn:
            row = (
                await conn.execute(sa.select(campaign_occurrences).where(campaign_occurrences.c.id == occurrence_id))
            ).first()
            return self._occurrence(row) if row else None

    async def acknowledge(self, occurrence_id: int, chat_id: int) -> bool:
        """Record the person's confirmation once; False if it was already recorded."""
        async with self._db.transaction() as conn:
            inserted = await conn.scalar(
                self._db.insert(campaign_acks)
                .values(occurrence_id=occurrence_id, chat_id=chat_id, at=utcnow())
                .on_conflict_do_nothing()
                .returning(campaign_acks.c.chat_id)
            )
            return inserted is not None

    async def received(self, broadcast_ids: list[int], chat_id: int) -> str | None:
        """The language in which the chat received one of these broadcasts (None: it did not)."""
        async with self._db.connect() as conn:
            return await conn.scalar(
                sa.select(deliveries.c.language).where(
                    deliveries.c.broadcast_id.in_(broadcast_ids),
                    deliveries.c.chat_id == chat_id,
                    deliveries.c.state == DeliveryState.SENT.value,
                )
            )

    async def occurrence_counts(self) -> dict[tuple[str, str], int]:
        """How many occurrences each campaign has had, by status (sent, missed, out_of_season, ...)."""
        row = campaign_occurrences.c
        async with self._db.connect() as conn:
            rows = await conn.execute(
                sa.select(row.campaign_id, row.status, sa.func.count()).group_by(row.campaign_id, row.status)
            )
            return {(campaign, status): count for campaign, status, count in rows}

    async def paused(self) -> set[str]:
        async with self._db.connect() as conn:
            rows = await conn.scalars(
                sa.select(campaign_states.c.campaign_id).where(campaign_states.c.paused.is_(True))
            )
            return set(rows)

    async def set_paused(self, campaign_id: str, paused: bool, actor: int | None) -> None:
        values = {"paused": paused, "updated_by": actor, "updated_at": utcnow()}
        async with self._db.transaction() as conn:
            await conn.execute(
                self._db.insert(campaign_states)
                .values(campaign_id=campaign_id, **values)
                .on_conflict_do_update(index_elements=[campaign_states.c.campaign_id], set_=values)
            )

    async def counts(self, campaign_id: str) -> CampaignCounts:
        """Occurrences, the last one, and delivered/acknowledged totals over the sent occurrences."""
        occurrences = campaign_occurrences.c
        async with self._db.connect() as conn:
            total = await conn.scalar(
                sa.select(sa.func.count())
                .select_from(campaign_occurrences)
                .where(occurrences.campaign_id == campaign_id)
            )
            last = (
                await conn.execute(
                    sa.select(occurrences.occurrence_at, occurrences.status)
                    .where(occurrences.campaign_id == campaign_id)
                    .order_by(occurrences.occurrence_at.desc())
                    .limit(1)
                )
            ).first()
            broadcast_ids = sa.select(occurrences.broadcast_id).where(
                occurrences.campaign_id == campaign_id, occurrences.broadcast_id.is_not(None)
            )
            delivered = await conn.scalar(
                sa.select(sa.func.count())
                .select_from(deliveries)
                .where(deliveries.c.broadcast_id.in_(broadcast_ids), deliveries.c.state == DeliveryState.SENT.value)
            )
            acknowledged = await conn.scalar(
                sa.select(sa.func.count())
                .select_from(campaign_acks.join(campaign_occurrences))
                .where(occurrences.campaign_id == campaign_id)
            )
        return CampaignCounts(
            occurrences=total or 0,
            last_at=as_utc(last[0]) if last else None,
            last_status=last[1] if last else None,
            delivered=delivered or 0,
            acknowledged=acknowledged or 0,
        )

    async def ack_rate_by_district(self, campaign_id: str) -> dict[str, tuple[int, int]]:
        """Per district: (people who received the campaign's reminders, people who confirmed at least once)."""
        occurrences = campaign_occurrences.c
        broadcast_ids = sa.select(occurrences.broadcast_id).where(
            occurrences.campaign_id == campaign_id, occurrences.broadcast_id.is_not(None)
        )
        occurrence_ids = sa.select(occurrences.id).where(occurrences.campaign_id == campaign_id)
        reached = (
            sa.select(deliveries.c.chat_id)
            .where(deliveries.c.broadcast_id.in_(broadcast_ids), deliveries.c.state == DeliveryState.SENT.value)
            .distinct()
            .subquery()
        )
        confirmed = sa.select(campaign_acks.c.chat_id).where(campaign_acks.c.occurrence_id.in_(occurrence_ids))
        async with self._db.connect() as conn:
            rows = await conn.execute(
                sa.select(
                    subscriptions.c.district_id,
                    sa.func.count(sa.distinct(reached.c.chat_id)),
                    sa.func.count(sa.distinct(sa.case((reached.c.chat_id.in_(confirmed), reached.c.chat_id)))),
                )
                .select_from(reached.join(subscriptions, subscriptions.c.chat_id == reached.c.chat_id))
                .group_by(subscriptions.c.district_id)
            )
            return {row[0]: (row[1], row[2]) for row in rows}

    async def subscribers_by_district_and_kind(self) -> dict[str, dict[str, int]]:
        async with self._db.connect() as conn:
            rows = await conn.execute(
                sa.select(subscriptions.c.district_id, subscribers.c.kind, sa.func.count())
                .select_from(subscriptions.join(subscribers))
                .where(subscribers.c.active.is_(True))
                .group_by(subscriptions.c.district_id, subscribers.c.kind)
            )
            result: dict[str, dict[str, int]] = {}
            for district, kind, count in rows:
                result.setdefault(district, {})[kind] = count
            return result

    @staticmethod
    def _occurrence(row: sa.Row[tuple[object, ...]]) -> Occurrence:
        return Occurrence(
            id=row.id,
            campaign_id=row.campaign_id,
            occurrence_at=as_utc(row.occurrence_at),  # type: ignore[arg-type]
            status=row.status,
            broadcast_id=row.broadcast_id,
            follow_up_due_at=as_utc(row.follow_up_due_at),
            follow_up_broadcast_id=row.follow_up_broadcast_id,
            manual_by=row.manual_by,
        )
