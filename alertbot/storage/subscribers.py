"""SQL for subscribers and their subscriptions: every write to these tables is here.

Each public method of `SubscriberRepository` is one committed transaction; the module's functions that
take a connection write inside the caller's (the outbox recording a blocked or migrated chat).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import cast

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from alertbot.core.clock import utcnow
from alertbot.core.domain import BusinessCategory, DeliveryState, Language, Subscriber, SubscriberKind
from alertbot.storage.audit import anonymise_chat
from alertbot.storage.database import Database
from alertbot.storage.tables import campaign_acks, deliveries, flow_states, subscribers, subscriptions

FORGOTTEN_CHAT_BASE = -(2**62)
"""A forgotten person's delivery rows get chat id FORGOTTEN_CHAT_BASE - (row id): see `forget`."""
_UNSENT = [DeliveryState.PENDING.value, DeliveryState.SENDING.value]


@dataclass(frozen=True, slots=True)
class DistrictRequest:
    """One person's wish to subscribe to some districts."""

    chat_id: int
    language: Language
    district_ids: tuple[str, ...]


async def deactivate(conn: AsyncConnection, chat_id: int, now: datetime) -> None:
    """The chat blocked the bot or is gone: nothing more is sent to it until it talks to the bot again."""
    await conn.execute(
        subscribers.update().where(subscribers.c.chat_id == chat_id).values(active=False, updated_at=now)
    )


async def migrate_chat(conn: AsyncConnection, old: int, new: int) -> None:
    """The group `old` became the supergroup `new`: its subscriber follows, unless `new` has one already."""
    exists = await conn.scalar(sa.select(subscribers.c.chat_id).where(subscribers.c.chat_id == new))
    if exists is None:
        # subscriptions follow through ON UPDATE CASCADE
        await conn.execute(subscribers.update().where(subscribers.c.chat_id == old).values(chat_id=new))


class SubscriberRepository:
    """Reads and writes subscribers; callers never see SQL or connections."""

    def __init__(self, database: Database) -> None:
        self._db = database

    async def get(self, chat_id: int) -> Subscriber | None:
        async with self._db.connect() as conn:
            return await self._load(conn, chat_id)

    async def language_of(self, chat_id: int) -> Language | None:
        async with self._db.connect() as conn:
            value = await conn.scalar(sa.select(subscribers.c.language).where(subscribers.c.chat_id == chat_id))
        return cast(Language | None, value)

    async def languages(self, limit: int) -> list[tuple[int, Language]] | None:
        """Every subscriber's language, or None when there are more than *limit* subscribers."""
        async with self._db.connect() as conn:
            if (await conn.scalar(sa.select(sa.func.count()).select_from(subscribers)) or 0) > limit:
                return None
            rows = await conn.execute(sa.select(subscribers.c.chat_id, subscribers.c.language))
            return [(row[0], cast(Language, row[1])) for row in rows]

    async def upsert_profile(
        self,
        chat_id: int,
        *,
        language: Language,
        kind: SubscriberKind | None = None,
        business_category: BusinessCategory | None = None,
        business_name: str | None = None,
    ) -> Subscriber:
        """Create the subscriber or update the given profile fields; reactivates an inactive one."""
        now = utcnow()
        values: dict[str, object] = {"language": language, "updated_at": now, "active": True}
        if kind is not None:
            values["kind"] = kind.value
            values["business_category"] = business_category.value if business_category else None
            values["business_name"] = business_name
        insert = self._db.insert(subscribers).values(
            {"chat_id": chat_id, "created_at": now, "kind": SubscriberKind.RESIDENT.value, **values}
        )
        statement = insert.on_conflict_do_update(index_elements=[subscribers.c.chat_id], set_=values)
        async with self._db.transaction() as conn:
            await conn.execute(statement)
            loaded = await self._load(conn, chat_id)
        assert loaded is not None
        return loaded

    async def reactivate(self, chat_id: int) -> None:
        """The person is talking to the bot again after blocking it: send to them again."""
        async with self._db.transaction() as conn:
            await conn.execute(
                subscribers.update()
                .where(subscribers.c.chat_id == chat_id, subscribers.c.active.is_(False))
                .values(active=True, updated_at=utcnow())
            )

    async def set_language(self, chat_id: int, language: Language) -> None:
        async with self._db.transaction() as conn:
            await conn.execute(
                subscribers.update()
                .where(subscribers.c.chat_id == chat_id)
                .values(language=language, updated_at=utcnow())
            )

    async def set_quiet_hours(self, chat_id: int, quiet_hours: str | None) -> None:
        """The person's quiet hours: "22:00-07:00", "" for none, None for the configured default."""
        async with self._db.transaction() as conn:
            await conn.execute(
                subscribers.update()
                .where(subscribers.c.chat_id == chat_id)
                .values(quiet_hours=quiet_hours, updated_at=utcnow())
            )

    async def quiet_hours_of(self, chat_id: int) -> str | None:
        async with self._db.connect() as conn:
            value = await conn.scalar(sa.select(subscribers.c.quiet_hours).where(subscribers.c.chat_id == chat_id))
        return cast(str | None, value)

    async def add_districts(self, requests: Sequence[DistrictRequest]) -> list[list[str]]:
        """Subscribe each chat to its districts (creating new subscribers); per request, the ids newly added.

        Set-based: one short transaction of three statements for any number of requests, so the
        `SubscriptionBatcher` can commit many people's subscriptions at once.
        """
        if not requests:
            return []
        now = utcnow()
        people = {r.chat_id: r.language for r in requests}
        rows = {(r.chat_id, d) for r in requests for d in r.district_ids}
        # Each INSERT is one statement with many parameter sets (compiled once, whatever the batch size).
        new_subscribers = [
            {
                "chat_id": c,
                "language": lang,
                "kind": SubscriberKind.RESIDENT.value,
                "created_at": now,
                "updated_at": now,
            }
            for c, lang in people.items()
        ]
        added: set[tuple[int, str]] = set()
        async with self._db.transaction() as conn:
            await conn.execute(self._db.insert(subscribers).on_conflict_do_nothing(), new_subscribers)
            if rows:
                new_rows = (
                    self._db.insert(subscriptions)
                    .on_conflict_do_nothing()
                    .returning(subscriptions.c.chat_id, subscriptions.c.district_id)
                )
                params = [{"chat_id": c, "district_id": d, "created_at": now} for c, d in sorted(rows)]
                added = {(row[0], row[1]) for row in await conn.execute(new_rows, params)}
            # asking to subscribe again also undoes "blocked the bot": they are reachable once more
            await conn.execute(
                subscribers.update()
                .where(subscribers.c.chat_id.in_(list(people)), subscribers.c.active.is_(False))
                .values(active=True, updated_at=now)
            )
            changed = {c for c, _ in added}
            if changed:
                await conn.execute(
                    subscribers.update().where(subscribers.c.chat_id.in_(changed)).values(updated_at=now)
                )
        return [[d for d in dict.fromkeys(r.district_ids) if (r.chat_id, d) in added] for r in requests]

    async def remove_districts(self, chat_id: int, district_ids: Iterable[str] | None) -> list[str]:
        """Unsubscribe from the districts (all of them when None); returns those that were removed."""
        async with self._db.transaction() as conn:
            existing = await self._district_ids(conn, chat_id)
            removed = existing if district_ids is None else [d for d in existing if d in set(district_ids)]
            if removed:
                await conn.execute(
                    subscriptions.delete().where(
                        subscriptions.c.chat_id == chat_id, subscriptions.c.district_id.in_(removed)
                    )
                )
                await self._touch(conn, chat_id)
        return removed

    async def forget(self, chat_id: int, *, keep_official_record: bool = False) -> bool:
        """Erase the chat from every table, in one transaction; True if anything named it.

        1. What is not sent yet, pending or in flight (`sending`), is cancelled: the dispatcher
           re-checks its claims before sending, and a late answer cannot put a cancelled row back in
           the queue (`OutboxRepository.record`).
        2. The chat's delivery rows are anonymised, not deleted, so every broadcast's report keeps its
           true counts (sent, blocked, failed, cancelled): each row's chat id becomes
           FORGOTTEN_CHAT_BASE - (its own row id), and its message id, error and language are cleared
           (language is NOT NULL: ""; an empty language is also counted in no follow-up preview).
           The placeholder
           - cannot collide: row ids are unique, so UNIQUE(broadcast_id, chat_id) holds however many
             people of one broadcast are forgotten;
           - is never a real chat: Telegram's chat ids fit in 52 bits, this is below -2**62;
           - is never selected: follow-ups take only chats that are still active subscribers, and no
             subscriber has such an id; nothing with it is left pending or in flight;
           - links nothing: each row has its own, so the person's rows are neither tied to each other
             nor told apart from anyone else's.
        3. Campaign acknowledgements, subscriptions and the profile (language, kind, business name,
           quiet hours) are deleted.
        4. Audit rows naming the chat are anonymised unless they record an official's acts
           (`anonymise_chat`); `keep_official_record` (a configured official) leaves the audit log alone.
        """
        row = deliveries.c
        async with self._db.transaction() as conn:
            await conn.execute(
                deliveries.update()
                .where(row.chat_id == chat_id, row.state.in_(_UNSENT))
                .values(state=DeliveryState.CANCELLED.value, lease_until=None)
            )
            anonymised = await conn.execute(
                deliveries.update()
                .where(row.chat_id == chat_id)
                .values(
                    chat_id=sa.literal(FORGOTTEN_CHAT_BASE, sa.BigInteger) - row.id,
                    language="",
                    message_id=None,
                    error=None,
                )
            )
            acks = await conn.execute(campaign_acks.delete().where(campaign_acks.c.chat_id == chat_id))
            # chat flows under any key naming them (their chat, or them in a group): ...:<chat>:...:<user>:...
            await conn.execute(flow_states.delete().where(flow_states.c.key.like(f"%:{chat_id}:%")))
            await conn.execute(subscriptions.delete().where(subscriptions.c.chat_id == chat_id))
            profile = await conn.execute(subscribers.delete().where(subscribers.c.chat_id == chat_id))
            audited = 0 if keep_official_record else await anonymise_chat(conn, chat_id)
        return bool(profile.rowcount or anonymised.rowcount or acks.rowcount or audited)

    async def count_by_district(self) -> dict[str, int]:
        async with self._db.connect() as conn:
            rows = await conn.execute(
                sa.select(subscriptions.c.district_id, sa.func.count())
                .select_from(subscriptions.join(subscribers))
                .where(subscribers.c.active.is_(True))
                .group_by(subscriptions.c.district_id)
            )
            return {row[0]: row[1] for row in rows}

    async def _touch(self, conn: AsyncConnection, chat_id: int) -> None:
        await conn.execute(subscribers.update().where(subscribers.c.chat_id == chat_id).values(updated_at=utcnow()))

    @staticmethod
    async def _district_ids(conn: AsyncConnection, chat_id: int) -> list[str]:
        rows = await conn.scalars(
            sa.select(subscriptions.c.district_id)
            .where(subscriptions.c.chat_id == chat_id)
            .order_by(subscriptions.c.created_at, subscriptions.c.district_id)
        )
        return list(rows)

    async def _load(self, conn: AsyncConnection, chat_id: int) -> Subscriber | None:
        row = (await conn.execute(sa.select(subscribers).where(subscribers.c.chat_id == chat_id))).first()
        if row is None:
            return None
        category = row.business_category
        return Subscriber(
            chat_id=row.chat_id,
            language=cast(Language, row.language),
            kind=SubscriberKind(row.kind),
            business_category=BusinessCategory(category) if category else None,
            business_name=row.business_name,
            active=bool(row.active),
            districts=tuple(await self._district_ids(conn, chat_id)),
            created_at=row.created_at,
            updated_at=row.updated_at,
        )
