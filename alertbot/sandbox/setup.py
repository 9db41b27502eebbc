"""The sandbox's own configuration, made from the configured one, and the guards that keep it apart from production.

What it keeps: the districts, templates, campaigns, dispatch pace, quiet hours and languages. What it replaces:
the token (a made-up one, valid only at the local Bot API server), ``api_base`` (that server, on 127.0.0.1),
the storage (a SQLite file in the sandbox folder, marked as a sandbox's), Redis (none), the officials (the
sandbox's duty officer and supervisor) and the test chats. Where no district has a channel, each gets a
Chinese and an English one, so the page can show channel posts.

``alertbot run`` refuses a database in a sandbox folder (:func:`is_sandbox_database`), and the sandbox refuses
a folder that holds the configured production database, so neither can ever use the other's data.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from alertbot.config import AppConfig, OfficialConfig
from alertbot.core.errors import ConfigError

SANDBOX_BOT_ID = 700_000_001
SANDBOX_BOT_USERNAME = "alertbot_sandbox_bot"
DATABASE_NAME = "sandbox.db"
MARKER_NAME = "ALERTBOT-SANDBOX"
LOCK_NAME = ".lock"
MARKER_TEXT = (
    "This folder is an alertbot sandbox's (uv run alertbot sandbox): its database holds simulated people only.\n"
    "alertbot run refuses to use a database in it. Delete the folder to reset the sandbox.\n"
)
LOOPBACK = "127.0.0.1"
SIMULATED_AT_ONCE = 256

OFFICER_ID, SUPERVISOR_ID = 1001, 1002
SANDBOX_OFFICIALS = (
    OfficialConfig(telegram_id=OFFICER_ID, name="Duty officer Zhang Wei (sandbox)", districts=["*"], role="officer"),
    OfficialConfig(telegram_id=SUPERVISOR_ID, name="Supervisor Liu Yang (sandbox)", districts=["*"], role="supervisor"),
)
"""The sandbox's officials, in place of the configured ones (whose Telegram ids are real people's)."""


def sandbox_token() -> str:
    """A token of Telegram's shape that Telegram never issued: made up afresh for every sandbox run."""
    return f"{SANDBOX_BOT_ID}:SANDBOX-{secrets.token_urlsafe(24)}"


def _sqlite_file(url: str) -> Path | None:
    """The file of a ``sqlite:///relative`` or ``sqlite:////absolute`` URL (None: not SQLite, or in memory)."""
    path = url.split("?", 1)[0].removeprefix("sqlite:///") if url.startswith("sqlite:///") else ""
    return Path(path).expanduser().resolve() if path and path != ":memory:" else None


def is_sandbox_database(url: str) -> bool:
    """Whether *url* is a SQLite file in a sandbox folder (``alertbot run`` refuses it)."""
    path = _sqlite_file(url)
    return path is not None and (path.parent / MARKER_NAME).is_file()


@contextlib.contextmanager
def folder_lock(folder: Path) -> Iterator[None]:
    """Held while a sandbox runs in *folder*: a second one there would delete the first one's database."""
    folder.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(folder / LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            import fcntl
        except ImportError:  # not POSIX: no lock, as before
            yield
            return
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            message = f"another sandbox runs in {folder}; stop it, or choose another folder with --folder"
            raise ConfigError(message) from None
        yield
    finally:
        os.close(descriptor)


def check_folder(folder: Path, production: AppConfig) -> Path:
    """*folder*, resolved, if a sandbox may use it: refused (ConfigError) when the configured production database
    lives there (the sandbox starts afresh every time, and must never touch real subscribers), or when it holds
    files and is not a sandbox's."""
    folder = folder.expanduser().resolve()
    production_file = _sqlite_file(production.storage.url)
    if production_file is not None and production_file.parent == folder:
        raise ConfigError(
            f"the sandbox folder {folder} holds the configured database ({production.storage.url}); "
            "choose another folder with --folder"
        )
    mine = {MARKER_NAME, LOCK_NAME}
    if folder.exists() and any(p.name not in mine for p in folder.iterdir()) and not (folder / MARKER_NAME).is_file():
        raise ConfigError(f"{folder} is not empty and not a sandbox folder; choose another folder with --folder")
    return folder


def prepare_folder(folder: Path, production: AppConfig) -> Path:
    """The sandbox folder (:func:`check_folder`), marked, and the path of a fresh database in it (a previous
    run's database removed)."""
    folder = check_folder(folder, production)
    database = folder / DATABASE_NAME
    folder.mkdir(parents=True, exist_ok=True)
    (folder / MARKER_NAME).write_text(MARKER_TEXT, encoding="utf-8")
    for leftover in (database, database.with_name(DATABASE_NAME + "-wal"), database.with_name(DATABASE_NAME + "-shm")):
        leftover.unlink(missing_ok=True)
    return database


def _channel_name(district_id: str, language: str) -> str:
    return f"@{district_id[:20]}_alerts_{language}"


def sandbox_config(production: AppConfig, *, api_base: str, token: str, database: Path) -> AppConfig:
    """The configuration the real bot runs with in the sandbox (see the module's docstring)."""
    if urlsplit(api_base).hostname != LOOPBACK:
        raise ConfigError(f"the sandbox's Bot API must be on {LOOPBACK}, not {urlsplit(api_base).hostname}")
    data: dict[str, Any] = production.model_dump(mode="python")
    data["telegram"] = {
        **data["telegram"],
        "token": token,
        "api_base": api_base,
        "mode": "polling",
        "webhook_url": "",
        "webhook_secret": "",
        # the simulated people tap at once where people take seconds, so their updates wait out the per-chat
        # spacing of the bot's replies in the handler: more of them at a time keeps onboarding 2,000 short
        "concurrent_updates": max(production.telegram.concurrent_updates, SIMULATED_AT_ONCE),
    }
    data["storage"] = {"url": f"sqlite:///{database}"}
    data.pop("redis", None)
    data["officials"] = [official.model_dump() for official in SANDBOX_OFFICIALS]
    data["alerts"] = {**data["alerts"], "test_chats": []}
    data["server"] = {**data["server"], "host": LOOPBACK, "port": 0}
    if not any(district.channels for district in production.districts):
        for district in data["districts"]:
            district["channels"] = {language: _channel_name(district["id"], language) for language in ("zh", "en")}
    return AppConfig.model_validate(data)
