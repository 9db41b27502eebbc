"""The host's clock in UTC: the one place alertbot asks this machine what time it is.

Times that several hosts must agree on (leases, claims, when a delivery is due) come from the database's
clock instead (`alertbot.storage.database.Database.now`).
"""

from __future__ import annotations

from datetime import UTC, datetime


def utcnow() -> datetime:
    """Now, on this host's clock, as an aware UTC datetime."""
    return datetime.now(UTC)
