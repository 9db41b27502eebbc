"""`alertbot api-keys create|list|revoke`: keys for the HTTP API, each acting as one official.

A new key is printed once; the database keeps only its hash, so a lost key is revoked and replaced.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import click

from alertbot.cli.common import config_option, fail, with_services
from alertbot.config import AppConfig
from alertbot.core.errors import AppError

if TYPE_CHECKING:  # loaded by with_services, after the arguments are checked
    from alertbot.services.container import Services
    from alertbot.storage.api import ApiKey

TIME = "%Y-%m-%d %H:%M"


@click.group("api-keys")
def api_keys() -> None:
    """Keys for the HTTP API (/api/v1): create, list, revoke."""


@api_keys.command("create")
@config_option
@click.option("--name", required=True, help="What the key is for (e.g. scada-heping); shown in the audit log.")
@click.option("--as", "official", type=int, required=True, help="Telegram id of the official the key acts as.")
@click.option("--cap-import", type=click.Choice(["draft", "send"]), default=None,
              help="May POST CAP 1.2: drafts for the official in the chat, or sent (usual rules).")  # fmt: skip
def create(config: AppConfig, name: str, official: int, cap_import: str | None) -> None:
    """Create a key and print it once (only its hash is kept)."""

    async def work(services: Services) -> str:
        try:
            created = await services.api_keys.create(name, official, cap_import)  # type: ignore[arg-type]
        except AppError as error:
            fail(str(error), error.exit_code)
        return created.key

    key = with_services(config, work)
    click.echo(f"API key {name!r} for official {official} (shown once; keep it in a secret store):", err=True)
    click.echo(key)


@api_keys.command("list")
@config_option
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def list_keys(config: AppConfig, as_json: bool) -> None:
    """The keys: name, official, CAP import, created, revoked (never the keys themselves)."""

    async def work(services: Services) -> list[ApiKey]:
        return await services.api_keys.all()

    keys = with_services(config, work)
    if as_json:
        rows = [
            {"name": k.name, "official_id": k.official_id, "cap_import": k.cap_import,
             "created_at": k.created_at.isoformat(),
             "revoked_at": k.revoked_at.isoformat() if k.revoked_at else None}
            for k in keys
        ]  # fmt: skip
        click.echo(json.dumps(rows, indent=2))
        return
    if not keys:
        click.echo("no API keys (alertbot api-keys create --name NAME --as OFFICIAL_ID)")
    zone = config.bot.zone
    for k in keys:
        state = f"revoked {k.revoked_at.astimezone(zone):{TIME}}" if k.revoked_at else "active"
        click.echo(f"{k.name:<24} official {k.official_id:<12} cap-import {k.cap_import or '-':<6} "
                   f"created {k.created_at.astimezone(zone):{TIME}}  {state}")  # fmt: skip


@api_keys.command("revoke")
@config_option
@click.argument("name")
def revoke(config: AppConfig, name: str) -> None:
    """Revoke a key: its next request gets 401."""

    async def work(services: Services) -> None:
        try:
            await services.api_keys.revoke(name)
        except AppError as error:
            fail(str(error), 1)

    with_services(config, work)
    click.echo(f"API key {name!r} revoked")
