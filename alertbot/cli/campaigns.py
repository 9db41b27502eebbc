"""`alertbot campaigns list|preview|run`: the seasonal reminder campaigns from a shell.

Running a campaign goes through CampaignService like the chat's Run now button: the same official and
scope checks, the same exactly-once occurrence record and the same audit entry. The occurrence and its
deliveries are written to the database; a running bot sends them (one started later sends them then).
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypeVar

import click

from alertbot.cli.common import TIME_FORMAT, config_option, fail, official_id, with_services
from alertbot.config import AppConfig, CampaignConfig
from alertbot.core.clock import utcnow
from alertbot.core.domain import LANGUAGES, Language
from alertbot.services.officials import ALL_DISTRICTS

if TYPE_CHECKING:  # the bot's modules take seconds to load: a mistyped campaign id is answered at once
    from alertbot.services.campaigns import CampaignView
    from alertbot.services.container import Services

T = TypeVar("T")


@click.group()
def campaigns() -> None:
    """Seasonal reminder campaigns: list them, preview a reminder, run one now."""


def _campaign(config: AppConfig, campaign_id: str) -> CampaignConfig:
    """The configured campaign, or exit 2 naming the known ones (before the database is opened)."""
    for campaign in config.campaigns:
        if campaign.id == campaign_id:
            return campaign
    known = ", ".join(c.id for c in config.campaigns) or "none configured"
    return fail(f"unknown campaign {campaign_id!r}; campaigns: {known}")


def _local(moment: datetime | None, config: AppConfig) -> str:
    return moment.astimezone(config.bot.zone).strftime(TIME_FORMAT) if moment else "-"


def _state(view: CampaignView) -> str:
    return "disabled" if not view.campaign.enabled else "paused" if view.paused else "active"


# -- list ------------------------------------------------------------------------------------------


def _row(services: Services, view: CampaignView) -> dict[str, Any]:
    campaign, counts = view.campaign, view.counts
    spec = services.alerts.templates.catalog.get(campaign.template)
    return {
        "id": campaign.id, "template": campaign.template, "title": dict(spec.title), "state": _state(view),
        "enabled": campaign.enabled, "paused": view.paused, "schedule": campaign.schedule,
        "timezone": services.config.bot.timezone,
        "season": {"from": campaign.season.start, "to": campaign.season.end} if campaign.season else None,
        "audience": campaign.audience, "districts": list(campaign.districts), "ack": campaign.ack,
        "follow_up_after_seconds": (
            int(campaign.follow_up_after.total_seconds()) if campaign.follow_up_after else None
        ),
        "next_run": view.next_run.isoformat() if view.next_run else None,
        "last_run": counts.last_at.isoformat() if counts.last_at else None, "last_status": counts.last_status,
        "occurrences": counts.occurrences, "delivered": counts.delivered,
        "confirmed": counts.acknowledged if campaign.ack else None,
    }  # fmt: skip


@campaigns.command("list")
@config_option
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def list_campaigns(config: AppConfig, as_json: bool) -> None:
    """Each campaign: schedule, season, audience, state, next and last run, delivered and confirmed."""

    async def work(services: Services) -> list[dict[str, Any]]:
        return [_row(services, view) for view in await services.campaigns.views(utcnow())]

    rows = with_services(config, work)
    if as_json:
        click.echo(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    if not rows:
        click.echo("no campaigns configured")
        return
    click.echo(f"times in {config.bot.timezone}")
    for row in rows:
        click.echo(_text(config, row))


def _text(config: AppConfig, row: dict[str, Any]) -> str:
    """One campaign as three lines of text."""
    season = f"{row['season']['from']} to {row['season']['to']}" if row["season"] else "all year"
    last = "-"
    if row["last_run"]:
        last = f"{_local(datetime.fromisoformat(row['last_run']), config)} {row['last_status']}"
    next_run = _local(datetime.fromisoformat(row["next_run"]), config) if row["next_run"] else "-"
    confirmed = f", confirmed {row['confirmed']}" if row["ack"] else ""
    return (
        f"{row['id']} [{row['state']}] {row['title']['en']} / {row['title']['zh']}\n"
        f"    schedule {row['schedule']}; season {season}; audience {row['audience']}; "
        f"districts {', '.join(row['districts'])}\n"
        f"    next {next_run}; last {last}; delivered {row['delivered']}{confirmed}"
    )


# -- preview ------------------------------------------------------------------------------------------


@campaigns.command("preview")
@config_option
@click.argument("campaign_id")
@click.option("--language", type=click.Choice(LANGUAGES), default=None, help="Only this language's text.")
def preview(config: AppConfig, campaign_id: str, language: Language | None) -> None:
    """Print the reminder exactly as the campaign would send it now."""
    campaign = _campaign(config, campaign_id)
    languages = (language,) if language else LANGUAGES

    async def work(services: Services) -> dict[Language, str]:
        now = utcnow()
        return {lang: services.campaigns.render(campaign.id, lang, now) for lang in languages}

    texts = with_services(config, work)
    for lang in languages:
        if language is None:
            click.echo(f"--- {lang} ---")
        click.echo(texts[lang])


# -- run ------------------------------------------------------------------------------------------------


@campaigns.command("run")
@config_option
@click.argument("campaign_id")
@click.option("--as", "official", type=int, default=None,
              help="Telegram id of the official running it (or $ALERTBOT_OFFICIAL_ID).")  # fmt: skip
@click.option("--yes", "-y", is_flag=True, help="Do not ask for confirmation.")
def run(config: AppConfig, campaign_id: str, official: int | None, yes: bool) -> None:
    """Send an occurrence now, outside the schedule (audited); a running bot delivers it."""
    campaign = _campaign(config, campaign_id)
    from alertbot.core.errors import CampaignError

    actor = official_id(config, official)

    async def work(services: Services) -> None:
        campaigns = services.campaigns
        now = utcnow()
        try:
            if not yes:
                texts = await campaigns.preview(actor, campaign.id, now)
                for language in LANGUAGES:
                    click.echo(f"--- {language} ---")
                    click.echo(texts[language])
                districts = "all" if ALL_DISTRICTS in campaign.districts else ", ".join(campaign.districts)
                question = f"Send {campaign.id} now (audience {campaign.audience}; districts {districts})?"
                if not click.confirm(question, default=False):
                    fail("cancelled; nothing was queued", 1)
            result = await campaigns.run_now(actor, campaign.id, now)
        except CampaignError as error:
            fail(str(error))
        at = _local(result.occurrence_at, config)
        if result.broadcast is None:
            fail(f"{campaign.id}: the occurrence at {at} was already sent; not sent again", 1)
        click.echo(
            f"{campaign.id}: occurrence {at} ({config.bot.timezone}) {result.status}, "
            f"{result.broadcast.recipients} recipients (broadcast {result.broadcast.id}); a running bot delivers it"
        )

    with_services(config, work)
