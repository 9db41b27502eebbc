"""Storage against real databases: migrations match the schema; SQLite settings; concurrent writers."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory

from alertbot.core.domain import BusinessCategory, SubscriberKind
from alertbot.storage import Database
from alertbot.storage.database import alembic_config
from alertbot.storage.subscribers import DistrictRequest, SubscriberRepository
from alertbot.storage.tables import metadata


async def test_migrations_produce_the_declared_schema(database_url: str) -> None:
    database = Database(database_url)
    try:
        await database.upgrade()
        async with database.connect() as conn:
            diff = await conn.run_sync(lambda sync: compare_metadata(MigrationContext.configure(sync), metadata))
        assert diff == []
        head = ScriptDirectory.from_config(alembic_config()).get_current_head()
        assert head is not None and await database.current_revision() == head
    finally:
        await database.close()


async def test_sqlite_pragmas(tmp_path: Path) -> None:
    database = Database(f"sqlite:///{tmp_path / 'p.db'}")
    try:
        async with database.connect() as conn:
            assert (await conn.exec_driver_sql("PRAGMA journal_mode")).scalar() == "wal"
            assert (await conn.exec_driver_sql("PRAGMA busy_timeout")).scalar() == 10_000
            assert (await conn.exec_driver_sql("PRAGMA foreign_keys")).scalar() == 1
    finally:
        await database.close()


async def test_concurrent_writers_and_forget(database_url: str) -> None:
    database = Database(database_url)
    await database.upgrade()
    repo = SubscriberRepository(database)
    try:
        await asyncio.gather(*(repo.upsert_profile(n, language="zh") for n in range(50)))
        one_at_a_time = await asyncio.gather(
            *(repo.add_districts([DistrictRequest(n % 5, "zh", ("heping", "tiexi"))]) for n in range(50))
        )
        assert sum(len(r[0]) for r in one_at_a_time) == 10  # each of chats 0..4 gains the two districts once
        batched = await repo.add_districts(
            [DistrictRequest(60, "en", ("heping",)), DistrictRequest(60, "en", ("heping", "tiexi")),
             DistrictRequest(61, "zh", ("faku", "faku")), DistrictRequest(0, "zh", ("heping", "faku"))]
        )  # fmt: skip
        assert batched == [["heping"], ["heping", "tiexi"], ["faku"], ["faku"]]
        assert (await repo.get(61)).language == "zh"  # type: ignore[union-attr]
        await repo.remove_districts(60, None)
        await repo.remove_districts(61, None)
        await repo.remove_districts(0, ["faku"])
        business = await repo.upsert_profile(
            7,
            language="en",
            kind=SubscriberKind.BUSINESS,
            business_category=BusinessCategory.LPG_RETAILER,
            business_name="Gas & Co",
        )
        assert business.business_category is BusinessCategory.LPG_RETAILER
        assert await repo.count_by_district() == {"heping": 5, "tiexi": 5}
        assert await repo.forget(3) is True
        assert await repo.get(3) is None
        assert await repo.forget(3) is False
        assert await repo.count_by_district() == {"heping": 4, "tiexi": 4}
    finally:
        await database.close()


async def test_group_commit_batches_concurrent_requests_and_reports_failures() -> None:
    from alertbot.storage.batching import GroupCommit

    batches: list[list[int]] = []

    async def write(requests: Sequence[int]) -> list[int]:
        batches.append(list(requests))
        await asyncio.sleep(0.01)
        if 13 in requests:
            raise ValueError("unlucky batch")
        return [r * 2 for r in requests]

    group = GroupCommit(write, max_batch=4)
    results = await asyncio.gather(*(group.submit(n) for n in range(10)), return_exceptions=True)
    assert results == [n * 2 for n in range(10)]
    assert batches == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]
    failed = await asyncio.gather(group.submit(13), group.submit(14), return_exceptions=True)
    assert all(isinstance(f, ValueError) for f in failed)
    assert await group.submit(3) == 6
