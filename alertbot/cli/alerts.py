"""`alertbot templates`, `alertbot alert send|follow-up|status|cancel|cap` and `alertbot audit`: officials' work
from a shell.

Validation and rendering are the chat's (AlertService), so a drill script and a duty officer on their
phone get the same checks, the same texts and the same audit trail.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import time
from datetime import datetime
from typing import Any

import click

from alertbot.cli.common import config_option, fail, official_id, with_services
from alertbot.config import AppConfig, parse_duration
from alertbot.content.i18n import Texts
from alertbot.content.templates import MessageTemplates
from alertbot.core.clock import utcnow
from alertbot.core.domain import LANGUAGES, Audience, BroadcastStatus, Severity
from alertbot.core.errors import AlertError, BroadcastNotFoundError
from alertbot.services.alerts import FOLLOW_UP_TEMPLATES, DeliveryReport, Preview
from alertbot.services.container import Services
from alertbot.services.drafts import AlertDraft
from alertbot.services.reach import reach_notes

WAIT_POLL_SECONDS = 0.5


@click.command()
@config_option
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def templates(config: AppConfig, as_json: bool) -> None:
    """List the message templates with their variables."""
    language = config.bot.default_language
    catalog = MessageTemplates().catalog
    if as_json:
        rows: list[dict[str, Any]] = [
            {
                "id": spec.id,
                "title": spec.title[language],
                "titles": spec.title,
                "kind": spec.kind,
                "severity": spec.severity,
                "cap_event": spec.cap_event,
                "cap_category": spec.cap_category,
                "variables": [
                    {
                        "name": v.name,
                        "required": v.required,
                        "description": v.description[language],
                        "example": v.example[language],
                    }
                    for v in spec.variables
                ],
            }
            for spec in catalog.templates
        ]
        click.echo(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    for spec in catalog.templates:
        click.echo(f"{spec.id:<20} {spec.kind:<10} {spec.severity or '-':<9} {spec.title['en']} / {spec.title['zh']}")
        for v in spec.variables:
            mark = "*" if v.required else " "
            click.echo(f"    {mark} {v.name:<16} {v.description['en']}  (e.g. {v.example['en']})")
    click.echo("* required")


def _variables(pairs: tuple[str, ...]) -> dict[str, str]:
    values: dict[str, str] = {}
    for pair in pairs:
        name, separator, value = pair.partition("=")
        if not separator or not name.strip():
            fail(f"--var takes name=value, not {pair!r}")
        values[name.strip()] = value
    return values


@click.group()
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
def send(
    config: AppConfig,
    *,
    template: str,
    districts: tuple[str, ...],
    audience: str,
    severity: str | None,
    variables: tuple[str, ...],
    exercise: bool,
    yes: bool,
    wait: bool,
    official: int | None,
    at: str | None = None,
) -> None:
    """Validate, preview and queue a warning; a running bot sends it."""
    actor = official_id(config, official)
    try:
        parsed_audience = Audience.parse(audience)
    except ValueError as error:
        fail(str(error))
        raise
    words = [w for d in districts for w in d.split()] if districts != ("*",) else ["*"]
    draft = AlertDraft(
        template_id=template,
        variables=_variables(variables),
        districts=tuple(words),
        audience=parsed_audience,
        severity=Severity(severity) if severity else None,
        exercise=exercise,
    )

    async def work(services: Services) -> None:
        alerts = services.alerts
        try:
            send_at = alerts.parse_send_at(at) if at else None
            if send_at is not None:
                alerts.check_send_at(send_at)
            preview = await alerts.preview(actor, draft)
        except AlertError as error:
            fail(str(error))
        await _confirm(services, actor, preview, yes=yes, wait=wait, send_at=send_at)

    with_services(config, work)


async def _confirm(
    services: Services, actor: int, preview: Preview, *, yes: bool, wait: bool, send_at: datetime | None = None
) -> None:
    """Show the exact texts and the reach, ask (unless --yes), then queue it (or ask for approval)."""
    alerts = services.alerts
    mode = "EXERCISE" if preview.draft.exercise else "LIVE"
    for language in LANGUAGES:
        click.echo(f"--- {language}: {preview.recipients[language]} recipients ---")
        click.echo(preview.texts[language])
    for note in reach_notes(Texts(services.translator, "en"), preview):
        click.echo(note)
    approval = " (needs a supervisor's approval)" if preview.needs_approval else ""
    when = f" at {send_at:%Y-%m-%d %H:%M %Z}" if send_at else ""
    question = f"Send {mode} to {preview.total} recipients{when}{approval}?"
    if not yes and not click.confirm(question, default=False):
        fail("cancelled; nothing was queued", 1)
    try:
        confirmation = await alerts.confirm(
            actor, preview.draft, force_duplicate=yes, report_chat_id=actor, send_at=send_at
        )
    except AlertError as error:
        fail(str(error))
    broadcast = confirmation.broadcast
    if confirmation.outcome == "duplicate":
        fail(f"the same warning was confirmed recently as #{broadcast.id}; not queued again", 1)
    state = "queued" if confirmation.outcome == "queued" else "waiting for a supervisor's approval"
    if send_at is not None:
        state += f", to be sent at {send_at:%Y-%m-%d %H:%M %Z}"
    click.echo(f"broadcast {broadcast.id} {state} ({mode}, {broadcast.recipients or preview.total} recipients)")
    if wait:
        await _wait(services, broadcast.id)


@alert.command("follow-up")
@config_option
@click.argument("broadcast_id", type=int)
@click.option("--template", "-t", required=True, type=click.Choice(list(FOLLOW_UP_TEMPLATES)),
              help="update, all_clear or sent_in_error.")  # fmt: skip
@click.option("--var", "variables", multiple=True, metavar="NAME=VALUE", help="A template variable; repeat.")
@click.option("--yes", "-y", is_flag=True, help="Do not ask for confirmation.")
@click.option("--wait", is_flag=True, help="Show progress until every message has an outcome.")
@click.option("--as", "official", type=int, default=None,
              help="Telegram id of the official (or $ALERTBOT_OFFICIAL_ID).")  # fmt: skip
def follow_up(
    config: AppConfig, broadcast_id: int, template: str, variables: tuple[str, ...], yes: bool, wait: bool,
    official: int | None,
) -> None:  # fmt: skip
    """An Update, All clear or Sent in error of a warning, to the chats it reached (the chat's rules)."""
    actor = official_id(config, official)
    values = _variables(variables)

    async def work(services: Services) -> None:
        try:
            draft = await services.alerts.follow_up_draft(actor, broadcast_id, template)
            preview = await services.alerts.preview(actor, dataclasses.replace(draft, variables=values))
        except AlertError as error:
            fail(str(error), 1 if isinstance(error, BroadcastNotFoundError) else 2)
        await _confirm(services, actor, preview, yes=yes, wait=wait)

    with_services(config, work)


@alert.command("cap")
@config_option
@click.argument("broadcast_id", type=int)
def cap_document(config: AppConfig, broadcast_id: int) -> None:
    """Print a warning or follow-up as a CAP 1.2 document (what GET /api/v1/alerts/ID/cap answers)."""
    from alertbot.content import cap

    async def work(services: Services) -> bytes:
        try:
            exporter = services.cap_export
            return cap.dumps(await exporter.alert(await exporter.issued(broadcast_id)))
        except AlertError as error:
            fail(str(error), 1)

    click.echo(with_services(config, work).decode())


async def _wait(services: Services, broadcast_id: int) -> None:
    """Show a progress bar until every delivery has an outcome (a running bot does the sending)."""
    report = await services.alerts.report(broadcast_id)
    while report.broadcast.status is BroadcastStatus.PENDING_APPROVAL:
        await asyncio.sleep(WAIT_POLL_SECONDS)
        report = await services.alerts.report(broadcast_id)
    if report.broadcast.status not in (BroadcastStatus.QUEUED, BroadcastStatus.DONE):
        fail(f"broadcast {broadcast_id} was {report.broadcast.status.value}", 1)
    total = report.counts.total
    done = total - report.counts.open
    started = time.monotonic()
    with click.progressbar(length=total, label=f"#{broadcast_id}", show_eta=True, show_pos=True) as bar:
        bar.update(done)
        while report.counts.open:
            await asyncio.sleep(WAIT_POLL_SECONDS)
            report = await services.alerts.report(broadcast_id)
            now_done = report.counts.total - report.counts.open
            bar.update(now_done - done)
            done = now_done
    click.echo(_summary(report) + f" in {time.monotonic() - started:.1f} s")


def _summary(report: DeliveryReport) -> str:
    c = report.counts
    return (
        f"#{report.broadcast.id} {report.broadcast.status.value}: sent {c.sent}, blocked {c.blocked}, "
        f"failed {c.failed}, cancelled {c.cancelled}, pending {c.open} of {c.total}"
    )


@alert.command("status")
@config_option
@click.argument("broadcast_id", type=int)
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def status(config: AppConfig, broadcast_id: int, as_json: bool) -> None:
    """The delivery report of a broadcast."""

    async def work(services: Services) -> DeliveryReport:
        try:
            return await services.alerts.report(broadcast_id)
        except AlertError as error:
            fail(str(error), 1)
            raise

    report = with_services(config, work)
    b, c = report.broadcast, report.counts
    data: dict[str, Any] = {
        "id": b.id, "kind": b.kind.value, "template": b.template_id, "status": b.status.value,
        "severity": b.severity.value if b.severity else None, "exercise": b.exercise,
        "districts": list(b.districts), "audience": str(b.audience), "created_by": b.created_by,
        "approved_by": b.approved_by, "created_at": b.created_at.isoformat(), "follows": b.follows_id,
        "recipients": c.total, "sent": c.sent, "pending": c.open, "blocked": c.blocked, "failed": c.failed,
        "cancelled": c.cancelled,
        "failures": [{"chat_id": chat, "state": state, "error": error} for chat, state, error in report.failures],
    }  # fmt: skip
    if as_json:
        click.echo(json.dumps(data, ensure_ascii=False, indent=2))
        return
    zone = config.bot.zone
    click.echo(f"#{b.id} {b.template_id} ({'EXERCISE' if b.exercise else 'LIVE'}, {data['severity'] or '-'}) "
               f"{b.status.value}")  # fmt: skip
    click.echo(f"created {b.created_at.astimezone(zone):%Y-%m-%d %H:%M:%S} by {b.created_by}"
               + (f", approved by {b.approved_by}" if b.approved_by else ""))  # fmt: skip
    click.echo(f"districts: {', '.join(b.districts)}; audience: {b.audience}")
    click.echo(_summary(report))
    for failure in data["failures"]:
        click.echo(f"  {failure['state']:<8} chat {failure['chat_id']}: {failure['error']}")


@alert.command("cancel")
@config_option
@click.argument("broadcast_id", type=int)
@click.option(
    "--as", "official", type=int, default=None, help="Telegram id of the official (or $ALERTBOT_OFFICIAL_ID)."
)
def cancel(config: AppConfig, broadcast_id: int, official: int | None) -> None:
    """Stop a broadcast: messages not yet sent are not sent."""
    actor = official_id(config, official)

    async def work(services: Services) -> int:
        try:
            return await services.alerts.cancel(actor, broadcast_id)
        except AlertError as error:
            fail(str(error), 1)

    stopped = with_services(config, work)
    click.echo(f"#{broadcast_id}: {stopped} messages not yet sent were cancelled")


def _since(text: str | None, config: AppConfig) -> datetime | None:
    if not text:
        return None
    try:
        return utcnow() - parse_duration(text)
    except ValueError:
        pass
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        fail(f"--since takes a duration (2h, 7d) or a date/time (2026-11-29 or 2026-11-29T08:00), not {text!r}")
        raise
    return moment if moment.tzinfo else moment.replace(tzinfo=config.bot.zone)


@click.command()
@config_option
@click.option("--since", default=None, help="A duration (2h, 7d) or a date/time (2026-11-29T08:00).")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def audit(config: AppConfig, since: str | None, as_json: bool) -> None:
    """Print the audit log of officials' actions."""
    start = _since(since, config)

    async def work(services: Services) -> list[Any]:
        return await services.audit.entries(since=start)

    entries = with_services(config, work)
    if as_json:
        rows = [dataclasses.asdict(e) | {"at": e.at.isoformat()} for e in entries]
        click.echo(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    zone = config.bot.zone
    for e in entries:
        who = f"{e.actor_id} {e.actor_name or ''}".strip() if e.actor_id is not None else "system"
        target = f" #{e.broadcast_id}" if e.broadcast_id else ""
        details = json.dumps(e.details, ensure_ascii=False, sort_keys=True)
        click.echo(f"{e.at.astimezone(zone):%Y-%m-%d %H:%M:%S}  {who:<28} {e.action:<17}{target}  {details}")
    if not entries:
        click.echo("no audit entries" + (f" since {start.astimezone(zone):%Y-%m-%d %H:%M}" if start else ""))
