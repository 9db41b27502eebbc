"""Where flows live: FSM state in the database (no Redis), per-person buckets in this process or in Redis."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.fsm.storage.base import StorageKey
from redis.asyncio import Redis
from sqlalchemy.exc import DBAPIError

from alertbot.storage import Database
from alertbot.telegram.flows import FlowStates, LocalBuckets, RedisBuckets
from tests.harness import REDIS_TEST_URL, Statements, fresh_redis_prefix


class Steps(StatesGroup):
    district = State()


async def test_flow_state_survives_a_new_storage_on_the_same_database(database_url: str) -> None:
    database, restarted = Database(database_url), Database(database_url)
    await database.upgrade()
    key = StorageKey(bot_id=1, chat_id=42, user_id=42)
    other = StorageKey(bot_id=1, chat_id=43, user_id=43)
    try:
        first = FlowStates(database)
        await first.set_state(key, Steps.district)
        await first.set_data(key, {"draft": {"districts": ["heping"], "note": "和平区"}, "live": 17})
        await first.set_data(key, {"draft": {"districts": ["heping", "shenhe"]}, "live": 18})
        second = FlowStates(restarted)  # another instance (or a restarted one) on the same database
        assert await second.get_state(key) == "Steps:district"
        assert await second.get_data(key) == {"draft": {"districts": ["heping", "shenhe"]}, "live": 18}
        assert await second.get_state(other) is None and await second.get_data(other) == {}
        await second.set_state(key, None)
        await second.set_data(key, {})
        assert await first.get_state(key) is None and await first.get_data(key) == {}
        from sqlalchemy import func, select

        from alertbot.storage.tables import flow_states

        async with database.connect() as conn:
            assert await conn.scalar(select(func.count()).select_from(flow_states)) == 0, "an ended flow leaves a row"
    finally:
        await database.close()
        await restarted.close()


async def test_remembered_flows_cost_no_read_after_the_first_and_a_clear_is_one_delete(database_url: str) -> None:
    database = Database(database_url)
    await database.upgrade()
    key = StorageKey(bot_id=1, chat_id=42, user_id=42)
    try:
        flows = FlowStates(database, remember=True)
        statements = Statements(database)
        assert await flows.get_state(key) is None  # a person the bot has not seen: read once
        await flows.set_state(key, Steps.district)
        await flows.set_data(key, {"district": "heping"})
        for _ in range(3):
            assert await flows.get_state(key) == "Steps:district"
            assert await flows.get_data(key) == {"district": "heping"}
        assert statements.of("SELECT") == ["SELECT"]
        assert statements.of("INSERT", "DELETE", "UPDATE") == ["INSERT", "INSERT"]
        context = FSMContext(flows, key)
        await context.clear()  # aiogram: set_state(None), then set_data({})
        assert await flows.get_state(key) is None and await flows.get_data(key) == {}
        restarted = FlowStates(database, remember=True)
        assert await restarted.get_state(key) is None, "the cleared flow is gone from the database too"
        await flows.set_state(key, Steps.district)
        del statements.seen[:]
        await context.clear()  # a step without data, as after /start: ends in one statement
        assert statements.of("SELECT", "INSERT", "DELETE", "UPDATE") == ["DELETE"]
        data = await flows.get_data(key)
        data["mutated"] = True  # a handler changing what it was handed changes nothing stored
        assert await flows.get_data(key) == {}
    finally:
        await database.close()


async def test_a_write_that_fails_is_not_remembered(tmp_path: Path) -> None:
    database = Database(f"sqlite:///{tmp_path / 'flows.db'}")
    await database.upgrade()
    key = StorageKey(bot_id=1, chat_id=42, user_id=42)
    try:
        flows = FlowStates(database, remember=True)
        await flows.set_state(key, Steps.district)
        async with database.transaction() as conn:
            await conn.exec_driver_sql(
                "CREATE TRIGGER refuse BEFORE UPDATE ON flow_states BEGIN SELECT RAISE(ABORT, 'refused'); END"
            )
        with pytest.raises(DBAPIError, match="refused"):
            await flows.set_data(key, {"district": "heping"})
        assert await flows.get_data(key) == {}, "what the database refused is not what the next update sees"
        assert await flows.get_state(key) == "Steps:district"
    finally:
        await database.close()


async def test_concurrent_flow_writes_are_committed_together(database_url: str) -> None:
    database = Database(database_url)
    await database.upgrade()
    keys = [StorageKey(bot_id=1, chat_id=chat, user_id=chat) for chat in range(100, 150)]
    try:
        flows = FlowStates(database, remember=True)
        await asyncio.gather(*(flows.get_state(key) for key in keys))
        statements = Statements(database)
        await asyncio.gather(*(flows.set_state(key, Steps.district) for key in keys))
        writes = statements.of("INSERT")
        assert 1 <= len(writes) < len(keys) / 5, f"{len(writes)} INSERTs for {len(keys)} people at once"
        restarted = FlowStates(database)
        assert [await restarted.get_state(key) for key in keys] == ["Steps:district"] * len(keys)
    finally:
        await database.close()


async def test_local_bucket_allows_a_burst_then_refuses() -> None:
    buckets = LocalBuckets(rate=0.0001, burst=3)
    assert [await buckets.take(1) for _ in range(5)] == [True, True, True, False, False]
    assert await buckets.take(2) is True


async def test_redis_buckets_are_shared_by_instances() -> None:
    async with fresh_redis_prefix() as prefix:
        one, two = Redis.from_url(REDIS_TEST_URL), Redis.from_url(REDIS_TEST_URL)
        try:
            first, second = RedisBuckets(one, prefix, 0.0001, 3), RedisBuckets(two, prefix, 0.0001, 3)
            taken = await asyncio.gather(*(bucket.take(7) for bucket in (first, second) * 4))
            assert sorted(taken) == [False] * 5 + [True] * 3, "two instances together may take only the burst"
            assert await second.take(8) is True
            refilling = RedisBuckets(one, prefix, 50.0, 1)
            assert await refilling.take(9) is True and await refilling.take(9) is False
            await asyncio.sleep(0.05)
            assert await refilling.take(9) is True
        finally:
            await one.aclose()
            await two.aclose()


async def test_flows_remembered_at_start_answer_every_read_until_memory_overflows(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    database = Database(f"sqlite:///{tmp_path / 'flows.db'}")
    await database.upgrade()
    keys = [StorageKey(bot_id=1, chat_id=chat, user_id=chat) for chat in range(1, 6)]
    try:
        before = FlowStates(database)
        await before.set_state(keys[0], Steps.district)
        await before.set_data(keys[1], {"category": "restaurant"})
        monkeypatch.setattr("alertbot.telegram.flows.REMEMBERED", 3)
        flows = FlowStates(database, remember=True)
        assert await flows.remember_all() == 2
        statements = Statements(database)
        assert await flows.get_state(keys[0]) == "Steps:district"
        assert await flows.get_data(keys[1]) == {"category": "restaurant"}
        assert await flows.get_state(keys[2]) is None and await flows.get_data(keys[3]) == {}
        assert statements.of("SELECT") == [], "all stored flows are in memory: an unknown person has none"
        await FSMContext(flows, keys[0]).clear()
        assert await flows.get_state(keys[0]) is None
        await flows.set_state(keys[2], Steps.district)
        await flows.set_state(keys[3], Steps.district)
        await flows.set_state(keys[4], Steps.district)  # a fourth flow: the oldest leaves memory
        del statements.seen[:]
        assert await flows.get_state(StorageKey(bot_id=1, chat_id=9, user_id=9)) is None
        assert statements.of("SELECT") == ["SELECT"], "memory no longer holds every flow: a miss is read"
        assert await flows.get_data(keys[1]) == {"category": "restaurant"}, "the one that left is read back"
        assert await FlowStates(database).get_state(keys[3]) == "Steps:district"
        monkeypatch.setattr("alertbot.telegram.flows.REMEMBERED", 1)
        assert await FlowStates(database, remember=True).remember_all() is None, "too many to hold: none loaded"
    finally:
        await database.close()
