"""The `alertbot` command line: run the bot, check config and templates, manage the database."""

from __future__ import annotations

import asyncio
import sys

import click

from alertbot.cli.alerts import alert, audit, templates
from alertbot.cli.campaigns import campaigns
from alertbot.cli.common import config_option, fail
from alertbot.cli.status import status
from alertbot.config import TOKEN_ENV, AppConfig
from alertbot.core.errors import AppError
from alertbot.core.logs import configure_logging

NO_TOKEN_HINT = (
    f"alertbot: no Telegram bot token. Create a bot with @BotFather in Telegram (/newbot), then set "
    f"{TOKEN_ENV}=<token> or put it in config.toml under [telegram] token."
)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def main() -> None:
    """alertbot: gas-safety warnings and seasonal reminders for residents and businesses, over Telegram."""


@main.command()
@config_option
@click.option(
    "--log-level",
    type=click.Choice(["DEBUG", "INFO", "WARNING", "ERROR"], case_sensitive=False),
    help="Overrides [logging] level.",
)
def run(config: AppConfig, log_level: str | None) -> None:
    """Run the bot (long polling, or a webhook: [telegram] mode) with the configured storage.

    SIGTERM or Ctrl-C stops it gracefully: no more updates, in-flight ones and sends finish, the lease is released.
    """
    if not config.token:
        fail(NO_TOKEN_HINT, 2)
    configure_logging((log_level or config.logging.level).upper(), secrets=config.secrets, format=config.logging.format)
    from alertbot.app import build_application, event_loop_factory

    async def serve() -> None:
        application = await build_application(config)
        try:
            await application.run()
        finally:
            await application.stop()

    try:
        with asyncio.Runner(loop_factory=event_loop_factory()) as runner:
            runner.run(serve())
    except AppError as exc:
        fail(str(exc), exc.exit_code)


@main.command()
@config_option
def check(config: AppConfig) -> None:
    """Validate the config and render every message template in both languages with sample values."""
    from alertbot.content.templates import MessageTemplates

    try:
        templates = MessageTemplates()
    except AppError as exc:
        fail(str(exc), 1)
    problems = templates.check_all()
    for problem in problems:
        click.echo(f"problem: {problem}", err=True)
    if problems:
        sys.exit(1)
    click.echo(
        f"config OK: {len(config.districts)} districts, {len(config.officials)} officials; "
        f"templates OK: {len(templates.catalog.templates)} in zh and en"
    )


@main.group()
def db() -> None:
    """Database maintenance."""


@db.command("upgrade")
@config_option
def db_upgrade(config: AppConfig) -> None:
    """Apply schema migrations (also done automatically when the bot starts)."""
    from alertbot.storage import Database

    async def upgrade() -> str | None:
        database = Database(config.storage.url)
        try:
            await database.upgrade()
            return await database.current_revision()
        finally:
            await database.close()

    click.echo(f"database at revision {asyncio.run(upgrade())}")


main.add_command(templates)
main.add_command(alert)
main.add_command(audit)
main.add_command(campaigns)
main.add_command(status)
