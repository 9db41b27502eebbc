"""Is this instance ready to serve? The database answers, its schema is current, and if this instance holds
the dispatch lease, its outbox sender runs without failing."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

from alertbot.core.health import Health
from alertbot.delivery.leadership import Leadership
from alertbot.storage.database import Database, head_revision

CHECK_SECONDS = 2.0  # a database slower than this to answer counts as not answering


@dataclass(frozen=True)
class Readiness:
    ready: bool
    checks: dict[str, Any]


async def readiness(database: Database, leadership: Leadership, sender: Health) -> Readiness:
    checks: dict[str, Any] = {}
    try:
        revision = await asyncio.wait_for(database.current_revision(), CHECK_SECONDS)
    except Exception as error:  # any failure to answer is "not ready", with the reason
        checks["database"] = f"not answering: {type(error).__name__}"
        return Readiness(False, checks)
    checks["database"] = "ok"
    head = head_revision()
    checks["migrations"] = "ok" if revision == head else f"at {revision}, expected {head}"
    leading = leadership.term is not None and leadership.term.valid()
    checks["dispatching"] = leading
    if leading:
        checks["sender"] = "ok" if sender.failures == 0 else f"failing: {sender.last_error}"
    ready = checks["migrations"] == "ok" and checks.get("sender", "ok") == "ok"
    return Readiness(ready, checks)
