"""The `alertbot` command line: run the bot, check config and templates, manage the database."""

from __future__ import annotations

import asyncio
import sys

import click

from alertbot.cli.alerts import alert, audit, templates
from alertbot.cli.api_keys import api_keys
from alertbot.cli.campaigns import campaigns
from alertbot.cli.common import config_option, fail
from alertbot.cli.sandbox import sandbox
from alertbot.cli.status import status
from alertbot.config import TOKEN_ENV, AppConfig
from alertbot.core.errors import AppError
from alertbot.core.logs import configure_logging
from alertbot.sandbox.setup import is_sandbox_database

NO_TOKEN_HINT = (
    f"alertbot: no Telegram bot token. Create a bot with @BotFather in Telegram (/newbot), then set "
    f"{TOKEN_ENV}=<token> or put it in config.toml under [telegram] token. "
    "To try alertbot offline: uv run alertbot sandbox"
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
    if is_sandbox_database(config.storage.url):
        fail(f"[storage] url is a sandbox's database ({config.storage.url}): it holds simulated people only", 2)
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
@click.option(
    "--online", is_flag=True, help="Also ask Telegram: the token, and whether the bot may post to each channel."
)
def check(config: AppConfig, online: bool) -> None:
    """Validate the config and render every message template in both languages with sample values.

    With --online, also check the token with Telegram and each district channel: the bot must be an
    administrator allowed to post. A channel it cannot use is a warning (the bot runs without it).
    """
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
    if online:
        if not config.token:
            fail(NO_TOKEN_HINT, 2)
        check_online(config)


def check_online(config: AppConfig) -> None:
    from alertbot.services.channels import ChannelDirectory
    from alertbot.services.districts import DistrictDirectory
    from alertbot.telegram.channels import look_up
    from alertbot.telegram.factory import create_bot

    districts = DistrictDirectory(config.districts)
    channels = ChannelDirectory.of(districts)

    async def ask() -> str:
        bot = create_bot(config)
        try:
            me = await bot.me()
            channels.connect(lambda channel: look_up(bot, channel))
            statuses = await channels.check_all()
        finally:
            await bot.session.close()
        for channel in statuses:
            if channel.usable:
                click.echo(f"channel {channel.channel} ({channel.title}): OK, {channel.members} members")
            else:
                click.echo(f"warning: channel {channel.channel} cannot be used: {channel.problem}", err=True)
        return f"@{me.username}"

    try:
        username = asyncio.run(ask())
    except AppError as exc:
        fail(str(exc), exc.exit_code)
    except Exception as exc:  # the token refused, Telegram unreachable
        from alertbot.core.redact import scrub

        fail(f"Telegram: {scrub(exc, secrets=config.secrets)}", 1)
    click.echo(f"Telegram OK: the token is {username}'s; {len(channels.channels)} channels checked")


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
main.add_command(api_keys)
main.add_command(sandbox)
