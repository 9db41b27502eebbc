"""Storage against real databases: migrations match the schema; SQLite settings; concurrent writers."""

from __future__ import annotations

import asyncio
from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from alertbot.domain import BusinessCategory, SubscriberKind
from alertbot.storage import Database
from alertbot.storage.subscribers import SubscriberRepository
from alertbot.storage.tables import metadata


async def test_migrations_produce_the_declared_schema(tmp_path: Path) -> None:
    database = Database(f"sqlite:///{tmp_path / 'm.db'}")
    try:
        await database.upgrade()
        async with database.connect() as conn:
            diff = await conn.run_sync(lambda sync: compare_metadata(MigrationContext.configure(sync), metadata))
        assert diff == []
        assert await database.current_revision() == "0001"
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


async def test_concurrent_writers_and_forget(tmp_path: Path) -> None:
    database = Database(f"sqlite:///{tmp_path / 'c.db'}")
    await database.upgrade()
    repo = SubscriberRepository(database)
    try:
        await asyncio.gather(*(repo.upsert_profile(n, language="zh") for n in range(50)))
        results = await asyncio.gather(
            *(repo.add_districts(n % 5, ["heping", "tiexi"], language="zh") for n in range(50))
        )
        assert sum(len(r) for r in results) == 10  # each of chats 0..4 gains the two districts once
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
