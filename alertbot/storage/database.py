"""The async engine: URL normalisation, SQLite pragmas (WAL, busy timeout, foreign keys) and migrations."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic import command
from alembic.config import Config as AlembicConfig
from sqlalchemy import Table, event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from alertbot.core.clock import utcnow

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"


def as_utc(value: datetime | None) -> datetime | None:
    """SQLite hands datetimes back without their zone; everything alertbot stores is UTC."""
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=UTC)


SQLITE_BUSY_TIMEOUT_MS = 10_000


def async_url(url: str) -> str:
    """Map the config's plain URL to the async driver: sqlite -> aiosqlite, postgresql -> asyncpg."""
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        parsed = parsed.set(drivername="sqlite+aiosqlite")
    elif backend in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+asyncpg")
    return parsed.render_as_string(hide_password=False)


WRITE_OPTION = "alertbot_write"


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # SQLAlchemy, not the driver, starts transactions (see _sqlite_begin).
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def _sqlite_begin(connection: Connection) -> None:
    # Write transactions take the write lock up front: two deferred transactions that both read and
    # then write would otherwise fail with "database is locked" instead of waiting their turn.
    # Reads run in autocommit: each SELECT sees a consistent snapshot on its own (WAL), and skipping
    # BEGIN saves a round trip to the driver thread on the busiest path, the language lookup.
    if connection.get_execution_options().get(WRITE_OPTION, False):
        connection.exec_driver_sql("BEGIN IMMEDIATE")


class Database:
    """Owns the engine; repositories borrow connections from it through `transaction()`/`connect()`."""

    def __init__(self, url: str) -> None:
        self.url = async_url(url)
        self.is_sqlite = self.url.startswith("sqlite")
        options: dict[str, Any] = {}
        if not self.is_sqlite:
            # A connection the server dropped (restart, failover, pg_terminate_backend) is found before
            # use and replaced, instead of failing the next statement. (A SQLite file has no server to
            # drop it; a ping there would only cost a round trip to the driver thread per checkout.)
            options["pool_pre_ping"] = True
        if self.is_sqlite:
            options["connect_args"] = {"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000}
        self.engine: AsyncEngine = create_async_engine(self.url, **options)
        # SQLite has one writer at a time: queue this process's writers on the event loop rather than
        # letting them poll the file lock from driver threads. Other processes still meet busy_timeout.
        self._write_lock = asyncio.Lock() if self.is_sqlite else None
        if self.is_sqlite:
            event.listen(self.engine.sync_engine, "connect", _sqlite_pragmas)
            event.listen(self.engine.sync_engine, "begin", _sqlite_begin)

    def insert(self, table: Table) -> sqlite.Insert | postgresql.Insert:
        """An INSERT of this database's dialect, so callers can add ON CONFLICT clauses."""
        return postgresql.insert(table) if self.engine.dialect.name == "postgresql" else sqlite.insert(table)

    async def now(self, connection: AsyncConnection | None = None) -> datetime:
        """The database's clock: on PostgreSQL the server's, so hosts whose clocks differ still agree.

        SQLite lives on one host, whose clock is the database's.
        """
        if self.is_sqlite:
            return utcnow()
        if connection is not None:
            value = await connection.scalar(sa.select(sa.func.clock_timestamp()))
        else:
            async with self.engine.connect() as conn:
                value = await conn.scalar(sa.select(sa.func.clock_timestamp()))
        result = as_utc(value)
        assert result is not None
        return result

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncConnection]:
        """One write transaction: committed when the block ends, rolled back on an exception."""
        if self._write_lock is None:
            async with self.engine.begin() as connection:
                yield connection
            return
        async with self._write_lock, self.engine.connect() as connection:
            await connection.execution_options(**{WRITE_OPTION: True})
            async with connection.begin():
                yield connection

    @asynccontextmanager
    async def connect(self) -> AsyncIterator[AsyncConnection]:
        """A connection for reads (SQLite: autocommit, one snapshot per statement)."""
        async with self.engine.connect() as connection:
            yield connection

    async def upgrade(self, revision: str = "head") -> None:
        """Bring the schema to `revision` with Alembic (run at start and by `alertbot db upgrade`)."""
        async with self.transaction() as connection:
            await connection.run_sync(_run_upgrade, revision)

    async def current_revision(self) -> str | None:
        async with self.engine.connect() as connection:
            return await connection.run_sync(_current_revision)

    async def close(self) -> None:
        await self.engine.dispose()


def alembic_config(connection: Connection | None = None) -> AlembicConfig:
    config = AlembicConfig()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["connection"] = connection
    return config


def _run_upgrade(connection: Connection, revision: str) -> None:
    command.upgrade(alembic_config(connection), revision)


def _current_revision(connection: Connection) -> str | None:
    from alembic.runtime.migration import MigrationContext

    return MigrationContext.configure(connection).get_current_revision()


@functools.cache
def head_revision() -> str | None:
    """The newest migration shipped with this code (what `upgrade()` brings a database to)."""
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(alembic_config()).get_current_head()
