"""A check that every stored text fits its column, so SQLite runs catch what PostgreSQL would refuse.

SQLite accepts a value of any length in a VARCHAR(n) column; PostgreSQL raises. Tests that store values
built from config or user input call `assert_values_fit` so both backends fail the same way.
"""

from __future__ import annotations

import sqlalchemy as sa

from alertbot.storage import Database
from alertbot.storage.tables import metadata


async def assert_values_fit(database: Database) -> None:
    """Every value in every bounded text column (VARCHAR(n)) is at most n characters long."""
    async with database.connect() as conn:
        existing = set(await conn.run_sync(lambda sync: sa.inspect(sync).get_table_names()))
        too_long: list[str] = []
        for table in metadata.sorted_tables:
            if table.name not in existing:
                continue
            for column in table.columns:
                if not isinstance(column.type, sa.String) or not column.type.length:
                    continue
                longest = await conn.scalar(sa.select(sa.func.max(sa.func.length(column))))
                if longest is not None and longest > column.type.length:
                    too_long.append(f"{table.name}.{column.name}: {longest} > {column.type.length}")
    assert too_long == [], too_long
