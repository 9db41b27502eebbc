"""What every `alertbot` command shares: `--config`, `--as`, failing with a message, running with services.

Exit codes: 0 done, 1 refused or not found (nothing changed), 2 bad input or config (`AppError.exit_code`).
"""

from __future__ import annotations

import asyncio
import functools
import os
import sys
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar

import click

from alertbot.config import CONFIG_ENV, AppConfig, load_config
from alertbot.core.errors import AppError

if TYPE_CHECKING:  # the services take a second to load: a bad argument is answered before that
    from alertbot.services.container import Services

F = TypeVar("F", bound=Callable[..., Any])
T = TypeVar("T")

OFFICIAL_ENV = "ALERTBOT_OFFICIAL_ID"
TIME_FORMAT = "%Y-%m-%d %H:%M"


def fail(message: str, code: int = 2) -> NoReturn:
    """Print `alertbot: message` on stderr and exit with `code`."""
    click.echo(message if message.startswith("alertbot:") else f"alertbot: {message}", err=True)
    sys.exit(code)


def config_option(command: F) -> F:
    """`--config PATH` (or $ALERTBOT_CONFIG) on a command; the loaded AppConfig is passed as `config`."""

    @click.option(
        "--config",
        "config_path",
        envvar=CONFIG_ENV,
        type=click.Path(dir_okay=False),
        default=None,
        help=f"Config file (TOML). Default: ${CONFIG_ENV}, else config.toml, else config.example.toml.",
    )
    @functools.wraps(command)
    def wrapper(config_path: str | None, **kwargs: Any) -> Any:
        try:
            config = load_config(config_path)
        except AppError as exc:
            fail(str(exc), exc.exit_code)
        return command(config=config, **kwargs)

    return wrapper  # type: ignore[return-value]


def official_id(config: AppConfig, given: int | None) -> int:
    """The official a command acts as: `--as`, else $ALERTBOT_OFFICIAL_ID; exit 2 naming the officials."""
    chosen = given if given is not None else os.environ.get(OFFICIAL_ENV)
    if chosen is None or str(chosen).strip() == "":
        known = "; ".join(f"{o.telegram_id} {o.name}" for o in config.officials) or "none configured"
        fail(f"say who is sending: --as TELEGRAM_ID (or {OFFICIAL_ENV}). Officials: {known}")
    try:
        return int(str(chosen))
    except ValueError:
        fail(f"--as must be a Telegram user id, not {chosen!r}")


def with_services(config: AppConfig, work: Callable[[Services], Awaitable[T]]) -> T:
    """Run `work` with the services (database migrated), then close them; an AppError exits with its code."""
    from alertbot.services.container import build_services

    async def run() -> T:
        services = await build_services(config)
        try:
            return await work(services)
        finally:
            await services.database.close()

    try:
        return asyncio.run(run())
    except AppError as error:
        fail(str(error), error.exit_code)
