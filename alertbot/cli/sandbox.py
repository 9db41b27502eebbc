"""`alertbot sandbox`: the whole system offline, with a browser chat page, for trying alertbot and for drills."""

from __future__ import annotations

import asyncio
from pathlib import Path

import click

from alertbot.cli.common import config_option, fail
from alertbot.config import AppConfig
from alertbot.core.errors import AppError
from alertbot.core.logs import configure_logging


@click.command()
@config_option
@click.option("--port", type=click.IntRange(0, 65535), default=8080, show_default=True, help="The page's port.")
@click.option(
    "--residents",
    type=click.IntRange(0, 100_000),
    default=2000,
    show_default=True,
    help="Simulated residents and businesses, who subscribe through the bot at start.",
)
@click.option(
    "--folder",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path(".alertbot-sandbox"),
    show_default=True,
    help="Where the sandbox keeps its own database (made afresh at every start).",
)
@click.option("--seed", type=int, default=2023, show_default=True, help="Draws the same population every time.")
@click.option(
    "--log-level", type=click.Choice(["DEBUG", "INFO", "WARNING", "ERROR"], case_sensitive=False), default="WARNING"
)
def sandbox(config: AppConfig, port: int, residents: int, folder: Path, seed: int, log_level: str) -> None:
    """Run the whole system offline: a local Telegram (Bot API) server, simulated residents, the real bot, and
    a chat page at http://127.0.0.1:PORT/ where you are a resident, a restaurant owner, the duty officer or the
    supervisor. Nothing reaches Telegram; the sandbox has its own database. Ctrl-C stops it.

    It uses the configured districts, templates, campaigns and pace; the officials are the sandbox's own.
    """
    configure_logging(log_level.upper(), secrets=config.secrets, format="text")
    from alertbot.app import event_loop_factory
    from alertbot.sandbox.runner import Sandbox, SandboxOptions

    def ready(url: str) -> None:
        click.echo(f"alertbot sandbox: open {url}  (nothing here reaches Telegram; Ctrl-C stops it)", err=True)

    runner = Sandbox(config, SandboxOptions(port=port, residents=residents, folder=folder, seed=seed))
    try:
        with asyncio.Runner(loop_factory=event_loop_factory()) as loop:
            loop.run(runner.run(ready))
    except AppError as exc:
        fail(str(exc), exc.exit_code)
    except OSError as exc:
        fail(str(exc), 2)
