"""A warning's posts to its district channels: written with its deliveries, sent before them by the dispatcher.

One post per channel and broadcast (the channels of all its districts, each once). A follow-up is posted to
the channels where its original went out, as a reply to that post. Posts are claimed and recorded under the
dispatch lease's epoch like deliveries; a withdrawal (cancel, sent in error) cancels those not yet sent.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from alertbot.core.domain import DeliveryState
from alertbot.core.redact import scrub
from alertbot.storage.database import Database, as_utc
from alertbot.storage.tables import broadcasts, channel_posts

_OPEN = [DeliveryState.PENDING.value, DeliveryState.SENDING.value]


@dataclass(frozen=True, slots=True)
class ClaimedPost:
    id: int
    broadcast_id: int
    channel: str
    language: str
    reply_to: int | None
    attempts: int
    epoch: int


@dataclass(frozen=True, slots=True)
class ChannelPost:
    """A channel post as the report shows it."""

    channel: str
    language: str
    state: DeliveryState
    sent_at: datetime | None
    error: str | None


async def write_channel_posts(conn: AsyncConnection, row: Any, due: datetime) -> int:
    """The channel posts of the broadcast `row` being queued (none for an exercise). Returns how many."""
    if row.exercise:
        return 0
    if row.follows_id is not None:  # replies to the original's posts that went out
        original = channel_posts.c
        sent = await conn.execute(
            sa.select(original.channel, original.language, original.message_id).where(
                original.broadcast_id == row.follows_id, original.state == DeliveryState.SENT.value
            )
        )
        posts = [(r.channel, r.language, r.message_id) for r in sent]
    else:
        posts = [(channel, language, None) for channel, language in row.channels or []]
    if posts:
        await conn.execute(
            channel_posts.insert(),
            [
                {
                    "broadcast_id": row.id, "channel": channel, "language": language, "reply_to": reply_to,
                    "state": DeliveryState.PENDING.value, "attempts": 0, "not_before": due,
                }
                for channel, language, reply_to in posts
            ],
        )  # fmt: skip
    return len(posts)


async def cancel_channel_posts(conn: AsyncConnection, broadcast_id: int, reason: str) -> None:
    """A withdrawal: the broadcast's posts not yet sent are not sent (the sender checks a claimed one just
    before it goes: it is no longer `sending`)."""
    await conn.execute(
        channel_posts.update()
        .where(channel_posts.c.broadcast_id == broadcast_id, channel_posts.c.state.in_(_OPEN))
        .values(state=DeliveryState.CANCELLED.value, error=scrub(reason), lease_until=None)
    )


def open_posts(broadcast_id: Any) -> sa.Exists:
    """Has the broadcast a channel post still pending or in flight? (It is not done before they end.)"""
    return (
        sa.select(channel_posts.c.id)
        .where(channel_posts.c.broadcast_id == broadcast_id, channel_posts.c.state.in_(_OPEN))
        .exists()
    )


def first_post_untried(broadcast_id: Any) -> sa.Exists:
    """Has the broadcast a channel post not yet tried once? (Its direct messages wait for that first try.)"""
    return (
        sa.select(channel_posts.c.id)
        .where(
            channel_posts.c.broadcast_id == broadcast_id,
            channel_posts.c.state.in_(_OPEN),
            channel_posts.c.attempts == 0,
        )
        .exists()
    )


class ChannelPostRepository:
    def __init__(self, database: Database) -> None:
        self._db = database

    async def claim(self, claim_ttl: timedelta, epoch: int, limit: int = 20) -> list[ClaimedPost]:
        """Take the due posts (of broadcasts not withdrawn), gravest first, and mark them in flight."""
        post, broadcast = channel_posts.c, broadcasts.c
        async with self._db.transaction() as conn:
            now = await self._db.now(conn)
            due = (
                sa.select(post.id)
                .join(broadcasts, broadcast.id == post.broadcast_id)
                .where(
                    post.state == DeliveryState.PENDING.value, post.not_before <= now, broadcast.withdrawn_at.is_(None)
                )
                .order_by(broadcast.priority, post.id)
                .limit(limit)
            )
            if not self._db.is_sqlite:
                due = due.with_for_update(of=channel_posts, skip_locked=True)
            rows = (
                await conn.execute(
                    channel_posts.update()
                    .where(post.id.in_(due.scalar_subquery()))
                    .values(state=DeliveryState.SENDING.value, lease_until=now + claim_ttl, claim_epoch=epoch)
                    .returning(post.id, post.broadcast_id, post.channel, post.language, post.reply_to, post.attempts)
                )
            ).all()
        return sorted((ClaimedPost(r[0], r[1], r[2], r[3], r[4], r[5], epoch) for r in rows), key=lambda p: p.id)

    async def still_claimed(self, post: ClaimedPost) -> bool:
        """Is the post still ours to send (not withdrawn since it was claimed)?"""
        async with self._db.connect() as conn:
            state = await conn.scalar(
                sa.select(channel_posts.c.state).where(
                    channel_posts.c.id == post.id, channel_posts.c.claim_epoch == post.epoch
                )
            )
        return state == DeliveryState.SENDING.value

    async def record(
        self,
        post: ClaimedPost,
        state: DeliveryState,
        *,
        chat_id: int | None = None,
        message_id: int | None = None,
        error: str | None = None,
        retry_in: float | None = None,
        tried: bool = True,
    ) -> None:
        """Telegram's answer for a claimed post (under its claim's epoch); `tried=False`: put back untried.
        A retry of a withdrawn post ends cancelled; `sent` is recorded whatever happened since (it is the truth)."""
        row = channel_posts.c
        async with self._db.transaction() as conn:
            now = await self._db.now(conn)
            values: dict[str, Any] = {
                "state": state.value, "lease_until": None, "error": scrub(error) if error else None,
                "attempts": row.attempts + 1 if tried else row.attempts,
            }  # fmt: skip
            if state is DeliveryState.SENT:
                values |= {"chat_id": chat_id, "message_id": message_id, "sent_at": now}
            if state is DeliveryState.PENDING:
                withdrawn = await conn.scalar(
                    sa.select(broadcasts.c.withdrawn_at).where(broadcasts.c.id == post.broadcast_id)
                )
                if withdrawn is not None:
                    values["state"] = DeliveryState.CANCELLED.value
                values["not_before"] = now + timedelta(seconds=retry_in or 0.0)
            await conn.execute(
                channel_posts.update().where(row.id == post.id, row.claim_epoch == post.epoch).values(values)
            )

    async def release_claims(self, epoch: int, *, other_epochs: bool, expired_only: bool) -> int:
        """Back to pending: posts in flight under other epochs (or this one), whose claim ran out with
        `expired_only`. (The sender awaits each post it sends, so none of its own is in flight between steps.)"""
        row = channel_posts.c
        async with self._db.transaction() as conn:
            now = await self._db.now(conn)
            epochs = row.claim_epoch != epoch if other_epochs else row.claim_epoch == epoch
            mine = sa.and_(row.state == DeliveryState.SENDING.value, epochs)
            if expired_only:
                mine = sa.and_(mine, row.lease_until < now)
            result = await conn.execute(
                channel_posts.update().where(mine).values(state=DeliveryState.PENDING.value, lease_until=None)
            )
            return int(result.rowcount)

    async def of(self, broadcast_id: int) -> list[ChannelPost]:
        row = channel_posts.c
        async with self._db.connect() as conn:
            rows = await conn.execute(
                sa.select(row.channel, row.language, row.state, row.sent_at, row.error)
                .where(row.broadcast_id == broadcast_id)
                .order_by(row.id)
            )
            return [ChannelPost(r[0], r[1], DeliveryState(r[2]), as_utc(r[3]), r[4]) for r in rows]
