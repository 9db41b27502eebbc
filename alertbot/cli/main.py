"""The `alertbot` command line: run the bot, check config and templates, manage the database."""

from __future__ import annotations

import asyncio
import functools
import sys
from collections.abc import Callable
from typing import Any, TypeVar

import click

from alertbot.config import CONFIG_ENV, TOKEN_ENV, AppConfig, load_config
from alertbot.core.errors import AppError
from alertbot.core.logs import configure_logging

F = TypeVar("F", bound=Callable[..., Any])

NO_TOKEN_HINT = (
    f"alertbot: no Telegram bot token. Create a bot with @BotFather in Telegram (/newbot), then set "
    f"{TOKEN_ENV}=<token> or put it in config.toml under [telegram] token."
)


def config_option(command: F) -> F:
    """`--config PATH` (or $ALERTBOT_CONFIG) on every subcommand; the loaded AppConfig is passed as `config`."""

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


def fail(message: str, code: int = 1) -> None:
    click.echo(f"alertbot: {message}" if not message.startswith("alertbot:") else message, err=True)
    sys.exit(code)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def main() -> None:
    """alertbot: gas-safety warnings and seasonal reminders for residents and businesses, over Telegram."""


@main.command()
@config_option
@click.option("--log-level", default="INFO", show_default=True, help="DEBUG, INFO, WARNING or ERROR.")
def run(config: AppConfig, log_level: str) -> None:
    """Run the bot (long polling) with the configured storage."""
    if not config.token:
        fail(NO_TOKEN_HINT, 2)
    configure_logging(log_level.upper(), secrets=[config.token])
    from alertbot.app import build_application

    async def serve() -> None:
        application = await build_application(config)
        try:
            await application.run_polling()
        finally:
            await application.stop()

    try:
        asyncio.run(serve())
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


@main.command()
@config_option
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def status(config: AppConfig, as_json: bool) -> None:
    """Is the bot sending? The dispatch lease holder, each instance, the queue by priority, last errors.

    Exit code 1 when deliveries wait and no instance dispatches them.
    """
    from alertbot.cli.status import status_command

    status_command(config, as_json)


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


@main.command()
@config_option
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def templates(config: AppConfig, as_json: bool) -> None:
    """List the message templates with their variables."""
    from alertbot.cli.alerts import templates_command

    templates_command(as_json, config.bot.default_language)


@main.group()
def alert() -> None:
    """Send warnings and read their delivery reports."""


@alert.command("send")
@config_option
@click.option("--template", "-t", required=True, help="Template id (see `alertbot templates`).")
@click.option("--district", "-d", "districts", multiple=True, required=True,
              help="District id or name; repeat for several; '*' for all (needs scope '*').")  # fmt: skip
@click.option("--audience", default="all", show_default=True,
              help="all | residents | businesses | business:CATEGORY")  # fmt: skip
@click.option("--severity", type=click.Choice(["extreme", "severe", "moderate", "minor"]),
              help="Default: the template's.")  # fmt: skip
@click.option("--var", "variables", multiple=True, metavar="NAME=VALUE", help="A template variable; repeat.")
@click.option("--exercise", is_flag=True, help="An exercise: only officials and test chats receive it.")
@click.option("--yes", "-y", is_flag=True, help="Do not ask for confirmation (and send even if a duplicate).")
@click.option("--wait", is_flag=True, help="Show progress until every message has an outcome.")
@click.option("--as", "official", type=int, default=None,
              help="Telegram id of the official sending it (or $ALERTBOT_OFFICIAL_ID).")  # fmt: skip
@click.option("--at", default=None, metavar="TIME",
              help="Send later: 18:30, 12-01 08:00 or 2026-12-01 08:00 (bot time zone).")  # fmt: skip
def alert_send(config: AppConfig, **options: Any) -> None:
    """Validate, preview and queue a warning; a running bot sends it."""
    from alertbot.cli.alerts import send_command

    send_command(config, **options)


@alert.command("status")
@config_option
@click.argument("broadcast_id", type=int)
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def alert_status(config: AppConfig, broadcast_id: int, as_json: bool) -> None:
    """The delivery report of a broadcast."""
    from alertbot.cli.alerts import status_command

    status_command(config, broadcast_id, as_json)


@alert.command("cancel")
@config_option
@click.argument("broadcast_id", type=int)
@click.option(
    "--as", "official", type=int, default=None, help="Telegram id of the official (or $ALERTBOT_OFFICIAL_ID)."
)
def alert_cancel(config: AppConfig, broadcast_id: int, official: int | None) -> None:
    """Stop a broadcast: messages not yet sent are not sent."""
    from alertbot.cli.alerts import cancel_command

    cancel_command(config, broadcast_id, official)


@main.command()
@config_option
@click.option("--since", default=None, help="A duration (2h, 7d) or a date/time (2026-11-29T08:00).")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def audit(config: AppConfig, since: str | None, as_json: bool) -> None:
    """Print the audit log of officials' actions."""
    from alertbot.cli.alerts import audit_command

    audit_command(config, since, as_json)


@main.group()
def campaigns() -> None:
    """Seasonal reminder campaigns: list them, preview a reminder, run one now."""


@campaigns.command("list")
@config_option
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def campaigns_list(config: AppConfig, as_json: bool) -> None:
    """Each campaign: schedule, season, audience, state, next and last run, delivered and confirmed."""
    from alertbot.cli.campaigns import list_command

    list_command(config, as_json)


@campaigns.command("preview")
@config_option
@click.argument("campaign_id")
@click.option("--language", type=click.Choice(["zh", "en"]), default=None, help="Only this language's text.")
def campaigns_preview(config: AppConfig, campaign_id: str, language: str | None) -> None:
    """Print the reminder exactly as the campaign would send it now."""
    from alertbot.cli.campaigns import preview_command

    preview_command(config, campaign_id, "zh" if language == "zh" else "en" if language == "en" else None)


@campaigns.command("run")
@config_option
@click.argument("campaign_id")
@click.option("--as", "official", type=int, default=None,
              help="Telegram id of the official running it (or $ALERTBOT_OFFICIAL_ID).")  # fmt: skip
@click.option("--yes", "-y", is_flag=True, help="Do not ask for confirmation.")
def campaigns_run(config: AppConfig, campaign_id: str, official: int | None, yes: bool) -> None:
    """Send an occurrence now, outside the schedule (audited); a running bot delivers it."""
    from alertbot.cli.campaigns import run_command

    run_command(config, campaign_id, official, yes)
