"""/forgetme really forgets: no follow-up, no pending message and no stored row names the person afterwards.

End to end where it matters (the real bot polls the Bot API test double, the real dispatcher sends); the
storage rules (cancelling in-flight rows, who follow-ups select, audit anonymisation) run on SQLite and
PostgreSQL.
"""

from __future__ import annotations

import asyncio
import dataclasses
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from aiogram.fsm.storage.base import StorageKey

from alertbot.app import Application, Services, build_services
from alertbot.config import AppConfig
from alertbot.core.domain import BusinessCategory, DeliveryState
from alertbot.sandbox.botapi import FakeBotAPI
from alertbot.sandbox.botapi.state import ApiError
from alertbot.services.drafts import AlertDraft
from alertbot.storage import Database
from alertbot.storage.outbox import Claimed, Outcome
from alertbot.storage.tables import deliveries, metadata, subscribers
from tests.harness import (
    Person,
    delivery_rows,
    make_config,
    running_bot,
    seed_business,
    seed_residents,
    wait_until_done,
)

MakePerson = Callable[..., Person]

OFFICER = 1001
OFFICIALS = {1001, 1002, 1003}  # the example config's officials; none of them subscribes in these tests
TEST_CHAT = 777
EPOCH = 1  # the dispatch lease epoch under which the storage tests claim, as a dispatcher would
FORGETFUL = 918_273_645  # distinctive digits: any column holding them, as a number or inside text, is found
NEIGHBOURS = {2001: "zh-hans", 2002: "en"}
CHECK = {
    "id": "home_check", "template": "winter_co", "schedule": "0 19 * * 5", "audience": "all",
    "districts": ["heping"], "ack": True, "follow_up_after": "3d", "variables": {"hotline": "96177"},
}  # fmt: skip
GAS_LEAK = AlertDraft("gas_leak", {"location": "Beier Road 12", "hotline": "96177"}, ("heping",))
ACK_BUTTON = "✅ I have completed the check"
FORGET_YES = "🗑 Yes, delete everything"


def forget_config(api: FakeBotAPI, db: Path | str, **sections: Any) -> AppConfig:
    return make_config(
        api,
        db,
        campaigns=[CHECK],  # type: ignore[arg-type]
        bot={"quiet_hours": "", "throttle_rate": 100.0, "throttle_burst": 100},
        dispatch={"progress_interval": 0.2} | sections.pop("dispatch", {}),
        scheduler={"grace": "1s"},
        alerts={"test_chats": [TEST_CHAT]},
        **sections,
    )


async def columns_naming(database: Database, chat_id: int) -> dict[str, int]:
    """Every column of every table whose value, read as text (JSON included), contains the chat id as a number.

    "As a number": not inside a longer run of digits (918273645 is not named by 9182736451).
    """
    found: dict[str, int] = {}
    number = re.compile(rf"(?<![0-9]){chat_id}(?![0-9])")
    async with database.connect() as conn:
        for table in metadata.sorted_tables:
            for column in table.columns:
                as_text = sa.cast(column, sa.Text)
                values = await conn.scalars(sa.select(as_text).where(as_text.like(f"%{chat_id}%")))
                count = sum(1 for value in values if number.search(value))
                if count:
                    found[f"{table.name}.{column.name}"] = count
    return found


async def flow_of(application: Application, user_id: int) -> tuple[str | None, dict[str, Any]]:
    """The person's flow in their private chat, as the bot's FSM storage (the database, or Redis) holds it."""
    storage = application.dispatcher.fsm.storage
    key = StorageKey(bot_id=application.bot.id, chat_id=user_id, user_id=user_id)
    return await storage.get_state(key), await storage.get_data(key)


def texts_received(api: FakeBotAPI, chat: int) -> list[str]:
    return [m["text"] for m in api.messages(chat)]


async def targets(database: Database, broadcast_id: int) -> set[int]:
    return {row.chat_id for row in await delivery_rows(database, broadcast_id)}


# -- end to end ---------------------------------------------------------------------------------------


async def test_forgotten_resident_gets_no_follow_up_and_leaves_no_trace(
    api: FakeBotAPI, database_url: str, person: MakePerson
) -> None:
    async with running_bot(forget_config(api, database_url)) as bot:
        alerts, campaigns = bot.services.alerts, bot.services.campaigns
        for chat, language in NEIGHBOURS.items():
            await person(chat, language).say("/subscribe heping")
        forgetful = person(FORGETFUL, "en")
        welcome = await forgetful.say("/start")  # the onboarding buttons stay usable below
        await forgetful.say("/subscribe heping")
        assert "for officials only" in (await forgetful.say("/alert"))["text"]  # audited with their id

        warning = (await alerts.confirm(OFFICER, GAS_LEAK)).broadcast
        await wait_until_done(bot, warning.id)
        reminder = (await campaigns.fire("home_check", datetime.now(UTC))).broadcast
        assert reminder is not None
        await wait_until_done(bot, reminder.id)
        for chat in (*NEIGHBOURS, FORGETFUL):
            assert warning.texts["en" if chat == FORGETFUL else NEIGHBOURS[chat][:2]] in texts_received(api, chat)
        neighbour = person(2002, "en")
        reminder_message = next(m for m in neighbour.messages if m["text"] == reminder.texts["en"])
        assert "recorded" in (await neighbour.tap(reminder_message, ACK_BUTTON))["text"]
        assert "22:00" in (await forgetful.say("/quiet 22:00-07:00"))["text"]

        confirm = await forgetful.say("/forgetme")
        # an onboarding flow left half-way: state and data in the FSM storage
        await forgetful.tap(welcome, "🏪 Business")
        await forgetful.tap(welcome, "Restaurant / catering")
        assert await flow_of(bot, FORGETFUL) == ("Onboarding:business_name", {"category": "restaurant"})
        before = await columns_naming(bot.database, FORGETFUL)
        stored = ["subscribers.chat_id", "subscriptions.chat_id", "deliveries.chat_id", "audit_log.actor_id"]
        if not bot.config.redis.url.get_secret_value():
            stored.append("flow_states.key")  # the half-finished flow, kept in the database
        for where in stored:
            assert where in before, (where, before)  # the search finds the id wherever it is stored

        await forgetful.tap(confirm, FORGET_YES)
        assert "no longer stores anything" in forgetful.current(confirm)["text"]
        assert await flow_of(bot, FORGETFUL) == (None, {})  # (e) no FSM state or data is kept for them
        assert await columns_naming(bot.database, FORGETFUL) == {}  # (d)
        counts = await bot.services.broadcasts.counts(warning.id)
        assert (counts.sent, counts.total) == (3, 3)  # the report keeps its true figures

        # (a) follow-ups of the warning reach the neighbours only, and the preview counts only them
        received = len(forgetful.messages)
        for template, variables in (("update", {"details": "Road reopened."}), ("all_clear", {}),
                                    ("sent_in_error", {})):  # fmt: skip
            draft = await alerts.follow_up_draft(OFFICER, warning.id, template)
            draft = dataclasses.replace(draft, variables=variables)
            assert (await alerts.preview(OFFICER, draft)).total == 2, template
            follow_up = (await alerts.confirm(OFFICER, draft)).broadcast
            assert await targets(bot.database, follow_up.id) == set(NEIGHBOURS), template
            await wait_until_done(bot, follow_up.id)
            for chat, language in NEIGHBOURS.items():
                assert texts_received(api, chat)[-1] == follow_up.texts[language[:2]]  # type: ignore[index]

        # (b) the campaign follow-up goes to the neighbour who did not confirm, not to the forgotten one
        [campaign_follow_up] = await campaigns.send_follow_ups(datetime.now(UTC) + timedelta(days=3, minutes=1))
        assert await targets(bot.database, campaign_follow_up.id) == {2001}
        async with bot.database.transaction() as conn:  # due now, as if those three days had passed
            await conn.execute(
                deliveries.update()
                .where(deliveries.c.broadcast_id == campaign_follow_up.id)
                .values(not_before=datetime.now(UTC) - timedelta(minutes=1))
            )
        await wait_until_done(bot, campaign_follow_up.id)
        assert texts_received(api, 2001)[-1] == campaign_follow_up.texts["zh"]
        await asyncio.sleep(0.3)
        assert len(forgetful.messages) == received
        assert await columns_naming(bot.database, FORGETFUL) == {}


async def test_pending_deliveries_to_a_forgotten_chat_are_not_sent(api: FakeBotAPI, db_path: Path) -> None:
    """(c) Forgetting in the middle of a big broadcast: the person's queued message never goes out."""
    residents = range(50_000, 50_080)
    async with running_bot(forget_config(api, db_path, dispatch={"rate": 20})) as bot:
        await seed_residents(bot.database, residents, ("heping",))
        warning = (await bot.services.alerts.confirm(OFFICER, GAS_LEAK)).broadcast
        await api.wait_until(lambda: len(api.calls("sendMessage")) >= 5, timeout=10)
        async with bot.database.connect() as conn:
            last = (
                await conn.execute(
                    sa.select(deliveries.c.id, deliveries.c.chat_id)
                    .where(deliveries.c.broadcast_id == warning.id, deliveries.c.state == "pending")
                    .order_by(deliveries.c.priority.desc(), deliveries.c.id.desc())
                    .limit(1)
                )
            ).one()  # the last in the queue: seconds away from being claimed at 20 messages/s
        victim = Person(api, last.chat_id, "zh-hans")
        confirm = await victim.say("/forgetme")
        await victim.tap(confirm, "🗑 确定，全部删除")
        assert "不再保存" in victim.current(confirm)["text"]

        await wait_until_done(bot, warning.id)
        await asyncio.sleep(0.3)
        assert warning.texts["zh"] not in texts_received(api, last.chat_id)
        assert [p["chat_id"] for m, p in api.requests if m == "sendMessage"].count(last.chat_id) == 1  # the prompt
        counts = await bot.services.broadcasts.counts(warning.id)
        assert (counts.sent, counts.cancelled, counts.total) == (79, 1, 80)
        [row] = [r for r in await delivery_rows(bot.database, warning.id) if r.id == last.id]
        assert row.state == "cancelled" and row.chat_id != last.chat_id
        assert await columns_naming(bot.database, last.chat_id) == {}


# -- storage rules, on SQLite and PostgreSQL -------------------------------------------------------------


@pytest.fixture
async def services(api: FakeBotAPI, database_url: str) -> Any:
    built = await build_services(forget_config(api, database_url))
    yield built
    await built.database.close()


async def deliver_all(services: Services, broadcast_id: int) -> None:
    """What the dispatcher would leave behind, without sending: every row of the broadcast sent."""
    async with services.database.transaction() as conn:
        await conn.execute(
            deliveries.update()
            .where(deliveries.c.broadcast_id == broadcast_id)
            .values(state="sent", message_id=deliveries.c.id, sent_at=datetime.now(UTC))
        )


async def claim_all(services: Services) -> list[Claimed]:
    return await services.outbox.claim(1000, timedelta(minutes=5), EPOCH)


def is_placeholder(chat_id: int) -> bool:
    """Telegram's chat ids fit in 52 bits; a forgotten row's chat id is far outside that range."""
    return abs(chat_id) > 2**53


async def test_forgetting_cancels_pending_and_in_flight_deliveries(services: Services) -> None:
    pending_one, in_flight_one = 700_001, 700_002
    await seed_residents(services.database, [10, 11, pending_one, in_flight_one], ("heping",))
    warning = (await services.alerts.confirm(OFFICER, GAS_LEAK)).broadcast
    assert await services.subscriptions.forget(pending_one) is True
    claimed = await claim_all(services)
    assert {c.chat_id for c in claimed} == {10, 11, in_flight_one}  # the forgotten row is never claimed
    assert await services.subscriptions.forget(in_flight_one) is True
    assert await services.subscriptions.forget(in_flight_one) is False  # nothing left the second time

    rows = {r.id: r for r in await delivery_rows(services.database, warning.id)}
    forgotten = [r for r in rows.values() if r.chat_id not in (10, 11)]
    assert len(forgotten) == 2  # two placeholders in one broadcast: no UNIQUE(broadcast_id, chat_id) clash
    for row in forgotten:
        assert row.state == "cancelled" and is_placeholder(row.chat_id)
        assert (row.message_id, row.error, row.language, row.lease_until) == (None, None, "", None)
    for chat in (pending_one, in_flight_one):
        assert await columns_naming(services.database, chat) == {}
    counts = await services.broadcasts.counts(warning.id)
    assert (counts.sending, counts.cancelled, counts.total) == (2, 2, 4)


async def test_a_late_answer_does_not_revive_a_forgotten_delivery(services: Services) -> None:
    """The dispatcher's answer for a row forgotten while in flight neither re-queues it nor names the person."""
    await seed_residents(services.database, [10, FORGETFUL], ("heping",))
    warning = (await services.alerts.confirm(OFFICER, GAS_LEAK)).broadcast
    claimed = {c.chat_id: c for c in await claim_all(services)}
    await services.subscriptions.forget(FORGETFUL)
    late = claimed[FORGETFUL]
    await services.outbox.record([Outcome(late.id, DeliveryState.PENDING, epoch=late.epoch, retry_in=0.0)])
    await services.outbox.release_claims(EPOCH + 1, other_epochs=True, expired_only=False)
    [row] = [r for r in await delivery_rows(services.database, warning.id) if r.id == late.id]
    assert row.state == "cancelled"  # not back in the queue
    assert late.id not in {c.id for c in await claim_all(services)}  # the neighbour's released claim is taken again
    # Telegram had accepted it after all: whatever the row records now, it does not name the person
    await services.outbox.record([Outcome(late.id, DeliveryState.SENT, epoch=late.epoch, message_id=5)])
    [row] = [r for r in await delivery_rows(services.database, warning.id) if r.id == late.id]
    assert is_placeholder(row.chat_id) and row.language == ""
    assert await columns_naming(services.database, FORGETFUL) == {}


async def test_follow_ups_select_only_active_subscribers(services: Services) -> None:
    """(f) Follow-ups and campaign follow-ups go to those still subscribed and reachable, nobody else."""
    stays, unsubscribed, blocked, forgotten, moved = 10, 11, 12, 13, 14
    people = [stays, unsubscribed, blocked, forgotten, moved]
    await seed_residents(services.database, people, ("heping",))
    alerts, campaigns, subscriptions = services.alerts, services.campaigns, services.subscriptions
    warning = (await alerts.confirm(OFFICER, GAS_LEAK)).broadcast
    await deliver_all(services, warning.id)
    now = datetime.now(UTC)
    reminder = (await campaigns.fire("home_check", now)).broadcast
    assert reminder is not None
    await deliver_all(services, reminder.id)
    exercise = (await alerts.confirm(OFFICER, dataclasses.replace(GAS_LEAK, exercise=True))).broadcast
    await deliver_all(services, exercise.id)
    assert await targets(services.database, exercise.id) == OFFICIALS | {TEST_CHAT}

    await subscriptions.unsubscribe(unsubscribed, None)
    async with services.database.transaction() as conn:  # what recording a "blocked" answer does
        await conn.execute(subscribers.update().where(subscribers.c.chat_id == blocked).values(active=False))
    await subscriptions.forget(forgotten)
    await subscriptions.unsubscribe(moved, ["heping"])  # left the warning's district for another
    await subscriptions.subscribe(moved, "zh", ["tiexi"])

    # someone who moved on still hears the all clear of the warning they received; nobody else does
    all_clear = await alerts.follow_up_draft(OFFICER, warning.id, "all_clear")
    assert (await alerts.preview(OFFICER, all_clear)).total == 2  # the preview counts exactly them
    follow_up = (await alerts.confirm(OFFICER, all_clear)).broadcast
    assert await targets(services.database, follow_up.id) == {stays, moved}
    assert follow_up.recipients == 2
    [campaign_follow_up] = await campaigns.send_follow_ups(now + timedelta(days=3, minutes=1))
    assert await targets(services.database, campaign_follow_up.id) == {stays, moved}
    # officials who never subscribed still get an exercise's follow-up: they come from the config
    exercise_clear = await alerts.follow_up_draft(OFFICER, exercise.id, "all_clear")
    exercise_follow_up = (await alerts.confirm(OFFICER, exercise_clear)).broadcast
    assert await targets(services.database, exercise_follow_up.id) == OFFICIALS | {TEST_CHAT}


async def test_acks_and_audit_rows_naming_a_resident_go_and_officials_records_stay(services: Services) -> None:
    audit, subscriptions = services.audit, services.subscriptions
    resident, former_official, lookalike = FORGETFUL, 5_550_001, FORGETFUL * 10 + 1
    await seed_business(services.database, resident, BusinessCategory.RESTAURANT, ("heping",))
    reminder = (await services.campaigns.fire("home_check", datetime.now(UTC))).broadcast
    assert reminder is not None and reminder.occurrence_id is not None
    await deliver_all(services, reminder.id)
    assert (await services.campaigns.acknowledge(reminder.occurrence_id, resident)).new
    assert "campaign_acks.chat_id" in await columns_naming(services.database, resident)
    with pytest.raises(Exception, match="not an official"):
        await services.alerts.official(resident, "compose")
    await audit.record("refused", actor_id=None, attempted=f"ack from {resident}", chat=resident,
                       others=[lookalike, resident], note=f"see {lookalike}")  # fmt: skip
    await audit.record("send", actor_id=former_official, actor_name="Former duty officer", recipients=3)
    await audit.record("refused", actor_id=OFFICER, actor_name="City duty officer", attempted="cancel", reason="x")

    assert await subscriptions.forget(resident) is True
    assert await columns_naming(services.database, resident) == {}
    assert await subscriptions.forget(former_official) is False  # nothing stored about them but their acts
    assert await subscriptions.forget(OFFICER, official=True) is False

    entries = await audit.entries()
    refused, synthetic, sent, officers = entries
    assert (refused.action, refused.actor_id, refused.details["reason"]) == ("refused", None, "not an official")
    assert synthetic.details["chat"] is None and synthetic.details["others"] == [lookalike, None]
    assert synthetic.details["note"] == f"see {lookalike}" and str(resident) not in synthetic.details["attempted"]
    assert (sent.actor_id, sent.actor_name) == (former_official, "Former duty officer")  # an official's act
    assert (officers.actor_id, officers.details["attempted"]) == (OFFICER, "cancel")


async def test_forgetting_is_confirmed_even_when_telegram_refuses_the_menu_reset(
    api: FakeBotAPI, db_path: Path
) -> None:
    """The data is gone once /forgetme is confirmed: a 5xx or a 429 on resetting the chat's menu must not
    turn that into "something went wrong"."""
    async with running_bot(forget_config(api, db_path)) as bot:
        await seed_residents(bot.database, [51_000], ("heping",))
        person = Person(api, 51_000, "zh-hans")
        confirm = await person.say("/forgetme")
        api.fail_next("deleteMyCommands", ApiError.server_error())
        await person.tap(confirm, "🗑 确定，全部删除")
        assert "不再保存" in person.current(confirm)["text"]  # seeded in Chinese
        assert await bot.services.subscriptions.stored_language(51_000) is None
