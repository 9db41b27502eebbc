"""`alertbot status`: is this deployment sending? Lease holder, instances, queue depth, last errors.

It reads only the database (any host can run it); exit code 0 when some live instance dispatches or
nothing waits to be sent, 1 when deliveries wait and no instance sends them.
"""

from __future__ import annotations

import asyncio
import json
import sys
from datetime import datetime
from typing import Any

import click

from alertbot.cli.common import config_option
from alertbot.config import AppConfig
from alertbot.core.domain import PRIORITY
from alertbot.delivery.leadership import LEASE_NAME
from alertbot.storage import Database
from alertbot.storage.instances import InstanceRepository
from alertbot.storage.leases import LeaseRepository
from alertbot.storage.outbox import OutboxRepository

PRIORITY_NAMES = {value: (key.value if key else "reminder") for key, value in PRIORITY.items()}


async def collect(config: AppConfig) -> dict[str, Any]:
    """The status as plain data (also the --json output)."""
    database = Database(config.storage.url)
    try:
        await database.upgrade()
        now = await database.now()
        lease = await LeaseRepository(database).current(LEASE_NAME)
        rows = await InstanceRepository(database).all()
        depth = await OutboxRepository(database).queue_depth()
    finally:
        await database.close()
    ttl = config.dispatch.lease_ttl
    instances = [
        {
            "name": row.name,
            "process": row.process,
            "alive": (now - row.seen_at) <= ttl,
            "seen_seconds_ago": round((now - row.seen_at).total_seconds(), 1),
            "dispatching": row.dispatching and (now - row.seen_at) <= ttl,
            "last_error": row.last_error,
            "last_error_at": _iso(row.last_error_at),
        }
        for row in rows
    ]
    held = lease is not None and lease.expires_at > now
    return {
        "lease": None
        if lease is None
        else {
            "holder": lease.holder,
            "process": lease.process,
            "epoch": lease.epoch,
            "held": held,
            "expires_in_seconds": round((lease.expires_at - now).total_seconds(), 1),
        },
        "instances": instances,
        "queue": {PRIORITY_NAMES.get(priority, str(priority)): count for priority, count in depth.items()},
        "dispatching": any(i["dispatching"] for i in instances),
    }


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


@click.command()
@config_option
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def status(config: AppConfig, as_json: bool) -> None:
    """Is the bot sending? The dispatch lease holder, each instance, the queue by priority, last errors.

    Exit code 1 when deliveries wait and no instance dispatches them.
    """
    status = asyncio.run(collect(config))
    waiting = sum(status["queue"].values())
    healthy = status["dispatching"] or waiting == 0
    if as_json:
        click.echo(json.dumps(status, ensure_ascii=False, indent=2))
        sys.exit(0 if healthy else 1)
    lease = status["lease"]
    if lease is None or not lease["held"]:
        click.echo("dispatch lease: nobody holds it")
    else:
        click.echo(
            f"dispatch lease: {lease['holder']} ({lease['process']}), epoch {lease['epoch']}, "
            f"renewed until {lease['expires_in_seconds']} s from now"
        )
    if not status["instances"]:
        click.echo("instances: none running")
    for item in status["instances"]:
        state = "dispatching" if item["dispatching"] else ("standing by" if item["alive"] else "not seen")
        click.echo(f"instance {item['name']}: {state}, last seen {item['seen_seconds_ago']} s ago ({item['process']})")
        if item["last_error"]:
            click.echo(f"  last error at {item['last_error_at']}: {item['last_error']}")
    queue = ", ".join(f"{name} {count}" for name, count in status["queue"].items()) or "empty"
    click.echo(f"queue (not yet sent): {queue}")
    if not healthy:
        click.echo(f"alertbot: {waiting} deliveries wait and no instance is dispatching", err=True)
    sys.exit(0 if healthy else 1)
