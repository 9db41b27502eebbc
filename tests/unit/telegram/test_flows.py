"""Where flows live: FSM state in the database (no Redis), per-person buckets in this process or in Redis."""

from __future__ import annotations

import asyncio

from aiogram.fsm.state import State, StatesGroup
from aiogram.fsm.storage.base import StorageKey
from redis.asyncio import Redis

from alertbot.storage import Database
from alertbot.telegram.flows import FlowStates, LocalBuckets, RedisBuckets
from tests.harness import REDIS_TEST_URL, fresh_redis_prefix


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
