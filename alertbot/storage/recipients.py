"""Who a broadcast goes to, and its fan-out: every delivery row written at once, set-based (INSERT ... SELECT).

The functions work inside the caller's connection: `BroadcastRepository` queues a broadcast's deliveries
in the very transaction that writes or approves it, so nothing is sent before all of them exist.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from alertbot.core.domain import Audience, DeliveryState
from alertbot.storage.database import as_utc
from alertbot.storage.tables import campaign_acks, deliveries, subscribers, subscriptions

DUE_AT_ONCE = datetime(2000, 1, 1, tzinfo=UTC)
"""`not_before` of deliveries that may go out at once: no host's clock (a CLI's that runs ahead, a clock
stepped back) can hold a warning back."""

_REACHED = [DeliveryState.SENT.value, DeliveryState.PENDING.value, DeliveryState.SENDING.value]
_COLUMNS = ["broadcast_id", "chat_id", "language", "priority", "state", "attempts", "not_before"]


@dataclass(frozen=True, slots=True)
class FanOut:
    """How a broadcast's deliveries are selected beyond its districts, audience or original."""

    not_before: Callable[[str | None], datetime] | None = None
    """Reminders: when a person with these quiet hours (None: the default) may receive it."""
    skip_acknowledged_of: int | None = None
    """Campaign follow-ups: leave out who confirmed this occurrence."""


def audience_recipients(district_ids: Sequence[str], audience: Audience) -> sa.Select[Any]:
    """(chat_id, language, quiet_hours) of the active subscribers of these districts within the audience."""
    conditions: list[sa.ColumnElement[bool]] = [
        subscribers.c.active.is_(True),
        subscriptions.c.district_id.in_(list(district_ids)),
    ]
    if audience.kind is not None:
        conditions.append(subscribers.c.kind == audience.kind.value)
    if audience.category is not None:
        conditions.append(subscribers.c.business_category == audience.category.value)
    return (
        sa.select(subscribers.c.chat_id, subscribers.c.language, subscribers.c.quiet_hours)
        .select_from(subscribers.join(subscriptions))
        .where(*conditions)
        .distinct()
    )


def follow_up_recipients(original_id: int, fan_out: FanOut) -> sa.Select[Any]:
    """(chat_id, language, quiet_hours) of everyone a follow-up of `original_id` goes to.

    The chats of the original (for reminders: those it reached, minus confirmers) that are still active
    subscribers: nobody who was forgotten (their rows name no chat any more), blocked the bot or
    unsubscribed from everything since is written to again. Someone who moved to another district still
    hears the all clear for the warning they received. Exercises never come here: theirs go to the
    officials and test chats of the config.
    """
    states = [DeliveryState.SENT.value] if fan_out.skip_acknowledged_of is not None else _REACHED
    still_subscribed = (
        sa.select(subscriptions.c.chat_id).where(subscriptions.c.chat_id == deliveries.c.chat_id).exists()
    )
    source = (
        sa.select(deliveries.c.chat_id, deliveries.c.language, subscribers.c.quiet_hours)
        .select_from(deliveries.join(subscribers, subscribers.c.chat_id == deliveries.c.chat_id))
        .where(
            deliveries.c.broadcast_id == original_id,
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


def recipients_of(row: Any, fan_out: FanOut) -> sa.Select[Any]:
    """(chat_id, language, quiet_hours) of everyone the broadcast `row` (of the broadcasts table) goes to."""
    if row.follows_id is None:
        return audience_recipients(row.districts, Audience.parse(row.audience))
    return follow_up_recipients(row.follows_id, fan_out)


async def count_by_language(conn: AsyncConnection, recipients: sa.Select[Any]) -> dict[str, int]:
    """How many of these recipients read each language."""
    selected = recipients.subquery()
    rows = await conn.execute(sa.select(selected.c.language, sa.func.count()).group_by(selected.c.language))
    return {row[0]: row[1] for row in rows}


async def write_deliveries(
    conn: AsyncConnection,
    row: Any,
    now: datetime,
    exercise_chats: dict[int, str] | None,
    fan_out: FanOut,
) -> int:
    """Insert the delivery rows of the broadcast `row`, one INSERT ... SELECT per quiet-hours group.

    Returns how many delivery rows the broadcast has.
    """
    broadcast_id = row.id
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
        recipients = recipients_of(row, fan_out).subquery()
        groups: list[tuple[sa.ColumnElement[bool], datetime]] = [(sa.true(), due)]
        if fan_out.not_before is not None:  # reminders wait for the end of each person's quiet hours
            values = list(await conn.scalars(sa.select(recipients.c.quiet_hours).distinct()))
            groups = [
                (recipients.c.quiet_hours.is_(None) if v is None else recipients.c.quiet_hours == v,
                 fan_out.not_before(v))
                for v in values
            ]  # fmt: skip
        for condition, not_before in groups:
            source = sa.select(
                sa.literal(broadcast_id), recipients.c.chat_id, recipients.c.language, sa.literal(row.priority),
                sa.literal(DeliveryState.PENDING.value), sa.literal(0),
                sa.literal(not_before, sa.DateTime(timezone=True)),
            ).where(condition)  # fmt: skip
            await conn.execute(deliveries.insert().from_select(_COLUMNS, source))
    count = await conn.scalar(
        sa.select(sa.func.count()).select_from(deliveries).where(deliveries.c.broadcast_id == broadcast_id)
    )
    return count or 0
