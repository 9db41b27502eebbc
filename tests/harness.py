"""End-to-end harness: the real alertbot Application polling the Bot API test double over HTTP.

`Person` scripts one Telegram user: `say()` sends a text and returns the bot's reply, `tap()` presses
an inline button and returns the callback answer (by then the handler's edits have been made).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import socket
import sys
import uuid
from collections.abc import AsyncIterator, Iterable
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from sqlalchemy import event

from alertbot.app import Application, build_application
from alertbot.config import AppConfig, load_config
from alertbot.core.domain import BusinessCategory, SubscriberKind
from alertbot.sandbox.botapi import FakeBotAPI
from alertbot.storage import Database
from alertbot.storage.subscribers import DistrictRequest, SubscriberRepository

REPO = Path(__file__).resolve().parent.parent
REDIS_TEST_URL = os.environ.get("ALERTBOT_TEST_REDIS", "redis://127.0.0.1:6379/0")
EXAMPLE_CONFIG = REPO / "config.example.toml"


def write_config(folder: Path, api: FakeBotAPI, db_path: Path, extra: str = "") -> Path:
    """A config file for a real `alertbot` process: the example, pointed at the double and a database."""
    text = (
        EXAMPLE_CONFIG.read_text(encoding="utf-8")
        .split("\n[[campaigns]]")[0]  # no seasonal campaigns: they would fire on their own dates
        .replace('api_base = "https://api.telegram.org"', f'api_base = "{api.base_url}"')
        .replace("sqlite:///alertbot.db", f"sqlite:///{db_path}")
        .replace("port = 8080 ", "port = 0 ")  # any free port: processes may run side by side
    )
    for line in extra.strip().splitlines():  # "section.key = value" overrides
        key, value = (part.strip() for part in line.split("=", 1))
        text = override(text, *key.split("."), value)
    path = folder / "config.toml"
    path.write_text(text, encoding="utf-8")
    return path


def override(text: str, section: str, name: str, value: str) -> str:
    """*text* (TOML) with `name = value` in `[section]`: the key's line replaced, or added under the header."""
    header = re.search(rf"(?m)^\[{re.escape(section)}\][^\n]*\n", text)
    if header is None:
        return f"{text.rstrip()}\n\n[{section}]\n{name} = {value}\n"
    end = text.find("\n[", header.end())
    end = len(text) if end < 0 else end + 1
    body = text[header.end() : end]
    changed, found = re.subn(rf"(?m)^{re.escape(name)} = .*$", lambda _: f"{name} = {value}", body, count=1)
    if not found:
        changed = f"{name} = {value}\n{body}"
    return text[: header.end()] + changed + text[end:]


def free_port() -> int:
    """A TCP port nothing listens on now (for a server whose URL must be known before it starts)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def process_environment(**extra: str) -> dict[str, str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("ALERTBOT_")}
    return environment | extra


TEST_STORAGE = os.environ.get("ALERTBOT_TEST_STORAGE", "sqlite")
"""Where the tests that take a SQLite file (`db_path`) keep their data: "sqlite", "postgresql" (a fresh
database per test) or "postgresql+redis" (also the chat flows in Redis). `.ci/run` runs the suite a second
time with "postgresql"."""


class _Substitute:
    """This test's stand-ins for its SQLite file, set by the `db_path` fixture (see TEST_STORAGE)."""

    storage_url: str | None = None
    redis_prefix: str | None = None


substitute = _Substitute()


def make_config(api: FakeBotAPI, db_path: Path | str, **sections: dict[str, Any]) -> AppConfig:
    """The example config pointed at the test double and a database (a SQLite file path, or a URL).

    A path is this test's database: under ALERTBOT_TEST_STORAGE=postgresql it stands for a fresh PostgreSQL
    database (and with +redis, the chat flows go to Redis)."""
    base = load_config(EXAMPLE_CONFIG)
    data = base.model_dump(mode="python")
    data["telegram"] = {"token": api.token, "api_base": api.base_url}
    if isinstance(db_path, str):
        data["storage"] = {"url": db_path}
    else:
        data["storage"] = {"url": substitute.storage_url or f"sqlite:///{db_path}"}
        if substitute.redis_prefix:
            data["redis"] = {"url": REDIS_TEST_URL, "prefix": substitute.redis_prefix}
    data["campaigns"] = []  # the example's seasonal campaigns would fire on their own dates: tests add their own
    data["server"] = {**data["server"], "port": 0}  # any free port: many bots run in one test process
    for section, values in sections.items():
        if isinstance(data.get(section), dict):
            data[section] = {**data[section], **values}
        else:
            data[section] = values
    return AppConfig.model_validate(data)


_running: dict[int, Application] = {}  # by id() of their Database: the bots the seeding helpers keep informed


async def _seeded(database: Database) -> None:
    """The seeding helpers write subscribers behind a running bot's back, as nothing in the product does (the
    bot is their only writer and remembers them): the bot reloads what it remembers, as it does at start."""
    application = _running.get(id(database))
    if application is not None:
        await application.services.subscriptions.remember_all()


@contextlib.asynccontextmanager
async def running_bot(config: AppConfig) -> AsyncIterator[Application]:
    """Build the application and take updates (polling or webhook) in the background until the block ends."""
    application = await build_application(config)
    polling = asyncio.create_task(application.run(handle_signals=False))
    _running[id(application.database)] = application
    try:
        await application.until_started(polling, 10)  # a start that fails raises at once, not after 10 s
        yield application
    finally:
        _running.pop(id(application.database), None)
        await application.stop()
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.wait_for(polling, timeout=10)


POSTGRES_ADMIN_URL = os.environ.get("ALERTBOT_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test")
#: Seconds the reachability probe waits for the server before the tests are skipped.
PROBE_TIMEOUT = 1.0

_probe_results: dict[str, str | None] = {}


def in_ci() -> bool:
    """Whether ``CI`` is set to true (as CI services do): missing test servers are then errors, not skips."""
    return os.environ.get("CI", "").strip().lower() in {"1", "true", "yes"}


def _redacted(url: str) -> str:
    """*url* without its password, for messages."""
    return re.sub(r"(://[^:/@]+):[^@/]*@", r"\1:***@", url)


async def postgres_unreachable_reason(url: str | None = None) -> str | None:
    """``None`` if PostgreSQL at *url* (default ``POSTGRES_ADMIN_URL``) accepts a connection, else why not.

    Probed once per process and URL (connect and ``SELECT 1`` within ``PROBE_TIMEOUT`` seconds); the
    outcome is cached, so a missing server costs one short timeout per test run, not one per test.
    """
    url = url or POSTGRES_ADMIN_URL
    if url not in _probe_results:
        try:
            connection = await asyncio.wait_for(asyncpg.connect(url, timeout=PROBE_TIMEOUT), PROBE_TIMEOUT + 0.5)
            try:
                await asyncio.wait_for(connection.fetchval("SELECT 1"), PROBE_TIMEOUT)
            finally:
                await connection.close(timeout=PROBE_TIMEOUT)
        except Exception as error:  # refused, timed out, auth, no such database, bad URL: all unusable
            _probe_results[url] = f"{type(error).__name__}: {error}".rstrip(": ")
        else:
            _probe_results[url] = None
    return _probe_results[url]


async def postgres_available(url: str | None = None) -> bool:
    """Whether the test PostgreSQL server is reachable (cached probe, see :func:`postgres_unreachable_reason`)."""
    return await postgres_unreachable_reason(url) is None


async def require_postgres(url: str | None = None) -> None:
    """Skip the calling test if PostgreSQL is unreachable - or, under ``CI=true``, fail it."""
    reason = await postgres_unreachable_reason(url)
    if reason is None:
        return
    message = (
        f"PostgreSQL not reachable at {_redacted(url or POSTGRES_ADMIN_URL)}: {reason}; "
        "set ALERTBOT_TEST_POSTGRES or start it (CI=true makes this an error)"
    )
    if in_ci():
        pytest.fail(message, pytrace=False)
    pytest.skip(message)


@contextlib.asynccontextmanager
async def fresh_postgres() -> AsyncIterator[str]:
    """A new, empty PostgreSQL database on the project's server, dropped afterwards.

    Skips the test when the server is unreachable (fails it under ``CI=true``): see :func:`require_postgres`.
    """
    await require_postgres()
    name = f"alertbot_test_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(POSTGRES_ADMIN_URL)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
        yield POSTGRES_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


async def require_redis(url: str = REDIS_TEST_URL) -> None:
    """Skip the calling test if Redis is unreachable - or, under ``CI=true``, fail it."""
    from redis.asyncio import Redis

    client = Redis.from_url(url, socket_connect_timeout=PROBE_TIMEOUT)
    try:
        await client.ping()
    except Exception as error:
        message = f"Redis not reachable at {_redacted(url)}: {error}; set ALERTBOT_TEST_REDIS or start it"
        if in_ci():
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    finally:
        await client.aclose()


@contextlib.asynccontextmanager
async def fresh_redis_prefix() -> AsyncIterator[str]:
    """A key prefix of its own on the test Redis (``[redis] prefix``); its keys are deleted afterwards."""
    from redis.asyncio import Redis

    await require_redis()
    prefix = f"alertbot_test_{uuid.uuid4().hex[:12]}"
    try:
        yield prefix
    finally:
        client = Redis.from_url(REDIS_TEST_URL)
        try:
            keys = [key async for key in client.scan_iter(match=f"{prefix}:*")]
            if keys:
                await client.delete(*keys)
        finally:
            await client.aclose()


class Person:
    """One Telegram user talking to the bot in a private chat."""

    def __init__(self, api: FakeBotAPI, user_id: int, language_code: str | None = "en") -> None:
        self.api = api
        self.id = user_id
        self.language_code = language_code

    @property
    def messages(self) -> list[dict[str, Any]]:
        return self.api.messages(self.id)

    def _last_id(self) -> int:
        messages = self.messages
        return messages[-1]["message_id"] if messages else 0

    async def say(self, text: str, *, contains: str | None = None, timeout: float = 5.0) -> dict[str, Any]:
        """Send `text`; return the bot's next new message in this chat."""
        after = self._last_id()
        self.api.send_text(self.id, text, language_code=self.language_code)
        return await self.api.wait_for_message(self.id, after=after, contains=contains, timeout=timeout)

    async def tap(self, message: dict[str, Any], button: str, *, timeout: float = 5.0) -> dict[str, Any]:
        """Press the button labelled (or with callback data) `button`; return answerCallbackQuery's params."""
        query_id = self.api.tap(self.id, message, button, language_code=self.language_code)
        return await self.api.wait_for_answer(query_id, timeout=timeout)

    def current(self, message: dict[str, Any]) -> dict[str, Any]:
        """The present state of a bot message (after edits)."""
        for stored in self.messages:
            if stored["message_id"] == message["message_id"]:
                return stored
        raise AssertionError(f"message {message['message_id']} not found in chat {self.id}")

    def button_texts(self, message: dict[str, Any]) -> list[str]:
        return [text for text, _ in self.api.buttons(self.current(message))]


async def seed_residents(
    database: Database, chat_ids: Iterable[int], districts: tuple[str, ...], language: str = "zh"
) -> None:
    """Subscribe many residents at once, straight through the repository (set-based, in chunks)."""
    repository = SubscriberRepository(database)
    ids = list(chat_ids)
    for start in range(0, len(ids), 2000):
        chunk = ids[start : start + 2000]
        await repository.add_districts([DistrictRequest(c, language, districts) for c in chunk])  # type: ignore[arg-type]
    await _seeded(database)


async def seed_business(
    database: Database, chat_id: int, category: BusinessCategory, districts: tuple[str, ...], language: str = "zh"
) -> None:
    repository = SubscriberRepository(database)
    await repository.upsert_profile(
        chat_id, language=language, kind=SubscriberKind.BUSINESS, business_category=category,  # type: ignore[arg-type]
        business_name=f"Business {chat_id}",
    )  # fmt: skip
    await repository.add_districts([DistrictRequest(chat_id, language, districts)])  # type: ignore[arg-type]
    await _seeded(database)


async def delivery_rows(database: Database, broadcast_id: int) -> list[Any]:
    from sqlalchemy import select

    from alertbot.storage.tables import deliveries

    async with database.connect() as conn:
        return list((await conn.execute(select(deliveries).where(deliveries.c.broadcast_id == broadcast_id))).all())


async def wait_until_done(application: Application, broadcast_id: int, timeout: float = 30.0) -> None:
    """Until no delivery of the broadcast is pending or in flight."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        counts = await application.services.broadcasts.counts(broadcast_id)
        if counts.total and counts.open == 0:
            return
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"broadcast {broadcast_id} not done within {timeout}s: {counts}")
        await asyncio.sleep(0.05)


@contextlib.asynccontextmanager
async def alertbot_process(
    config: Path, api: FakeBotAPI, env: dict[str, str] | None = None
) -> AsyncIterator[asyncio.subprocess.Process]:
    """`alertbot run` as a real process (`env`: more of its environment, e.g. a `faketime` clock)."""
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "alertbot", "run", "--config", str(config),
        cwd=REPO, env=process_environment(ALERTBOT_TELEGRAM_TOKEN=api.token, **(env or {})),
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    try:
        yield process
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()


def faketime(offset: str) -> dict[str, str]:
    """Environment for a process whose clock is `offset` (e.g. "+30s") away from this host's (libfaketime).

    The library is preloaded into the process itself (not through the `faketime` wrapper, which would
    put a parent process of its own in between that a kill does not reach).
    """
    libraries = sorted(Path("/usr/lib").glob("*/faketime/libfaketime.so.1"))
    if not libraries:
        if in_ci():
            pytest.fail("libfaketime is not installed (apt-get install faketime): .ci/run installs it")
        pytest.skip("libfaketime is not installed (apt-get install faketime)")
    return {"LD_PRELOAD": str(libraries[0]), "FAKETIME": offset, "FAKETIME_DONT_RESET": "1"}


class Statements:
    """The SQL statements a database's engine runs (SELECT, INSERT, DELETE, ...), in order."""

    def __init__(self, database: Database) -> None:
        self.seen: list[str] = []
        self.texts: list[str] = []
        event.listen(database.engine.sync_engine, "before_cursor_execute", self._record)

    def _record(self, _conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        self.seen.append(statement.split(None, 1)[0].upper())
        self.texts.append(statement)

    def of(self, *kinds: str) -> list[str]:
        return [kind for kind in self.seen if kind in kinds]

    def on(self, table: str) -> list[str]:
        """The statements naming *table*."""
        return [text for text in self.texts if re.search(rf"\b{table}\b", text)]
