"""What the cases share before anything is measured: a config pointed at the double, a database (a SQLite
file, or a fresh PostgreSQL database dropped afterwards), subscribers seeded in bulk, a warning queued.

Subscribers are written straight into the tables (`alertbot.storage.tables`) in chunks of set-based
INSERTs, before the bot starts (it loads what it remembers at start), so even a million take seconds.
"""

from __future__ import annotations

import contextlib
import tomllib
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TypeVar

import asyncpg
import sqlalchemy as sa

from alertbot.app import build_services
from alertbot.config import load_config
from alertbot.services.container import Services
from alertbot.services.drafts import AlertDraft
from alertbot.storage import Database
from alertbot.storage.tables import subscribers, subscriptions
from bench.context import Context, Unavailable
from bench.double import BenchBotAPI
from bench.processes import Measured, alertbot, wait_polling
from tests.harness import EXAMPLE_CONFIG, POSTGRES_ADMIN_URL, REDIS_TEST_URL, write_config

FIRST_CHAT = 1_000_000
OFFICER = 1001  # the example config's city duty officer (scope "*")
SUPERVISOR = 1002
DISTRICTS: list[str] = [d["id"] for d in tomllib.loads(EXAMPLE_CONFIG.read_text(encoding="utf-8"))["districts"]]
GAS_LEAK = {"location": "中山路 3 号", "hotline": "96177"}
SEED_CHUNK = 20_000
T = TypeVar("T")


def config_file(folder: Path, api: BenchBotAPI, url: str | None = None, *lines: str, extra_toml: str = "") -> Path:
    """The example config pointed at the double and the database `url` (default: a SQLite file in `folder`),
    with "section.key = value" overrides; `extra_toml` is appended (e.g. a [[campaigns]] entry)."""
    overrides = list(lines)
    if url is not None:
        overrides.append(f'storage.url = "{url}"')
    overrides.append('logging.level = "WARNING"')
    path = write_config(folder, api, folder / "bench.db", "\n".join(overrides))
    if extra_toml:
        path.write_text(path.read_text(encoding="utf-8") + "\n" + extra_toml.strip() + "\n", encoding="utf-8")
    return path


@contextlib.asynccontextmanager
async def services(config: Path) -> AsyncIterator[Services]:
    """The services of `config`'s database (migrated), as the CLI builds them; closed afterwards."""
    built = await build_services(load_config(config))
    try:
        yield built
    finally:
        await built.database.close()


async def postgres_reason() -> str | None:
    """Why the PostgreSQL server of the tests (ALERTBOT_TEST_POSTGRES) cannot be used, or None."""
    try:
        connection = await asyncpg.connect(POSTGRES_ADMIN_URL, timeout=2)
    except Exception as error:
        return f"PostgreSQL not reachable at {POSTGRES_ADMIN_URL}: {type(error).__name__}: {error}"
    await connection.close()
    return None


@contextlib.asynccontextmanager
async def storage(kind: str, folder: Path, name: str = "bench") -> AsyncIterator[str]:
    """A database URL: a new SQLite file in `folder`, or a new PostgreSQL database dropped afterwards."""
    if kind == "sqlite":
        yield f"sqlite:///{folder / (name + '.db')}"
        return
    reason = await postgres_reason()
    if reason is not None:
        raise Unavailable(reason)
    database = f"alertbot_bench_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(POSTGRES_ADMIN_URL)
    try:
        await admin.execute(f'CREATE DATABASE "{database}"')
        yield POSTGRES_ADMIN_URL.rsplit("/", 1)[0] + f"/{database}"
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        await admin.close()


async def redis_reason() -> str | None:
    """Why the Redis of the tests (ALERTBOT_TEST_REDIS) cannot be used, or None."""
    from redis.asyncio import Redis

    client = Redis.from_url(REDIS_TEST_URL, socket_connect_timeout=2)
    try:
        await client.ping()
    except Exception as error:
        return f"Redis not reachable at {REDIS_TEST_URL}: {error}"
    finally:
        await client.aclose()
    return None


async def seed(
    database: Database, chats: range, districts: Sequence[str], *, language: str = "zh", chunk: int = SEED_CHUNK
) -> None:
    """Subscribe `chats` (residents, `language`) to `districts` in turn: chat i to districts[i % n]."""
    now = datetime.now(UTC)
    for start in range(0, len(chats), chunk):
        part = chats[start : start + chunk]
        people = [
            {"chat_id": c, "language": language, "kind": "resident", "active": True, "created_at": now,
             "updated_at": now}
            for c in part
        ]  # fmt: skip
        wishes = [
            {"chat_id": c, "district_id": districts[(c - chats.start) % len(districts)], "created_at": now}
            for c in part
        ]
        async with database.transaction() as conn:
            await conn.execute(subscribers.insert(), people)
            await conn.execute(subscriptions.insert(), wishes)


async def count_subscribers(database: Database) -> int:
    async with database.connect() as conn:
        return int(await conn.scalar(sa.select(sa.func.count()).select_from(subscribers)) or 0)


async def queue_warning(
    built: Services, districts: Sequence[str] = ("heping",), *, report: bool = False, template: str = "gas_leak",
    variables: dict[str, str] | None = None,
) -> int:  # fmt: skip
    """Confirm a warning as the duty officer (approved by the supervisor if it needs it); its broadcast id."""
    draft = AlertDraft(template, variables or GAS_LEAK, tuple(districts))
    confirmation = await built.alerts.confirm(OFFICER, draft, report_chat_id=OFFICER if report else None)
    if confirmation.outcome == "pending_approval":
        await built.alerts.decide(SUPERVISOR, confirmation.broadcast.id, approve=True)
    elif confirmation.outcome != "queued":
        raise RuntimeError(f"the warning was not queued: {confirmation.outcome}")
    return confirmation.broadcast.id


@contextlib.asynccontextmanager
async def launch(ctx: Context, label: str, config: Path, api: BenchBotAPI) -> AsyncIterator[Measured]:
    """`alertbot run` started as soon as its database is migrated, without waiting for it (Python and aiogram
    take seconds to import): seed and queue meanwhile, then `wait_polling`."""
    async with services(config):
        pass
    async with alertbot(ctx, label, config, api) as bot:
        yield bot


@contextlib.asynccontextmanager
async def prepared_alertbot(
    ctx: Context, label: str, config: Path, api: BenchBotAPI, prepare: Callable[[Services], Awaitable[T]]
) -> AsyncIterator[tuple[Measured, T]]:
    """`launch`, `prepare(services)` (seeding, queueing) while the bot starts, then until it polls."""
    async with launch(ctx, label, config, api) as bot:
        async with services(config) as built:
            prepared = await prepare(built)
        await wait_polling(api, bot)
        yield bot, prepared


def subfolder(folder: Path, name: str) -> Path:
    """A folder of its own for one bot's config, database and log."""
    path = folder / name
    path.mkdir(exist_ok=True)
    return path


async def warning_text(folder: Path, api: BenchBotAPI) -> str:
    """The text alertbot sends (in Chinese) for the warning `queue_warning` queues, from a database of its own."""
    config = config_file(folder, api, f"sqlite:///{folder / 'text.db'}")
    async with services(config) as built:
        await seed(built.database, range(FIRST_CHAT, FIRST_CHAT + 1), ("heping",))
        broadcast = await built.alerts.get(await queue_warning(built))
    assert broadcast is not None
    return broadcast.texts["zh"]
