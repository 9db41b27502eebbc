"""Shared fixtures: the Bot API test double, a config pointing at it, and the running bot."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from alertbot.app import Application
from alertbot.config import AppConfig
from alertbot.sandbox.botapi import FakeBotAPI
from tests import stalls
from tests.harness import (
    TEST_STORAGE,
    Person,
    fresh_postgres,
    fresh_redis_prefix,
    make_config,
    running_bot,
    substitute,
)


@pytest.fixture(autouse=True)
def _quiet_collector() -> Iterator[None]:
    """No full collection of the suite's heap while a test runs (see tests/stalls.py)."""
    yield from stalls.quiet_collector()


@pytest.fixture
async def api() -> AsyncIterator[FakeBotAPI]:
    async with FakeBotAPI() as fake:
        yield fake
        fake.assert_no_spec_violations()
        assert fake.unanswered_callbacks() == [], "callback queries left unanswered"


@contextlib.asynccontextmanager
async def _backend(kind: str, sqlite_file: Path) -> AsyncIterator[str]:
    """A storage URL: a SQLite file, or a fresh PostgreSQL database (skipped if unreachable, unless CI=true)."""
    if kind == "sqlite":
        yield f"sqlite:///{sqlite_file}"
        return
    async with fresh_postgres() as url:
        yield url


@pytest.fixture(params=["sqlite", "postgresql"])
async def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """Storage tests run on a real SQLite file and on a real PostgreSQL database."""
    async with _backend(request.param, tmp_path / "storage.db") as url:
        yield url


@pytest.fixture(params=["sqlite", "postgresql"])
async def backend_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """The storage URL of a test that runs once per database: a SQLite file under ``tmp_path``, then a fresh
    PostgreSQL database (dropped afterwards). The PostgreSQL run is skipped with the reason when the server
    is unreachable, and fails instead under ``CI=true``."""
    async with _backend(request.param, tmp_path / "alertbot.db") as url:
        yield url


@pytest.fixture
def backend_config(api: FakeBotAPI, backend_url: str) -> AppConfig:
    """Like ``config``, but on ``backend_url``: the test runs on SQLite and on PostgreSQL."""
    return make_config(api, backend_url)


@pytest.fixture
async def db_path(tmp_path: Path) -> AsyncIterator[Path]:
    """This test's database file. Under ALERTBOT_TEST_STORAGE=postgresql[+redis], configs made from it
    (`make_config`) use a fresh PostgreSQL database instead (and Redis for chat flows)."""
    async with contextlib.AsyncExitStack() as stack:
        if TEST_STORAGE.startswith("postgresql"):
            substitute.storage_url = await stack.enter_async_context(fresh_postgres())
        if TEST_STORAGE.endswith("+redis"):
            substitute.redis_prefix = await stack.enter_async_context(fresh_redis_prefix())
        try:
            yield tmp_path / "alertbot.db"
        finally:
            substitute.storage_url = substitute.redis_prefix = None


@pytest.fixture
def config(api: FakeBotAPI, db_path: Path) -> AppConfig:
    return make_config(api, db_path)


@pytest.fixture
async def bot(config: AppConfig) -> AsyncIterator[Application]:
    async with running_bot(config) as application:
        yield application


@pytest.fixture
def person(api: FakeBotAPI) -> Callable[..., Person]:
    def make(user_id: int, language_code: str | None = "en", **_: Any) -> Person:
        return Person(api, user_id, language_code)

    return make


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Under ALERTBOT_TEST_STORAGE=postgresql[+redis] (`.ci/run`'s second pass), only the tests whose database it
    replaces run: one that takes no `db_path` would run exactly as in the first pass."""
    if TEST_STORAGE == "sqlite":
        return
    kept = [item for item in items if "db_path" in getattr(item, "fixturenames", ())]
    if len(kept) < len(items):
        config.hook.pytest_deselected(items=[item for item in items if item not in kept])
        items[:] = kept
