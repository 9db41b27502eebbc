"""How long a warning will take to reach everyone, and what a paid one costs — from the pace, not a guess.

The dispatcher sends gravest first, at `[dispatch] rate` (or `paid_rate` for the severities in `paid_for`), a
little under it (`PACE_HEADROOM`). So the last direct message of a warning leaves after everything of its
priority or graver that is already due (each at its own pace), then its own recipients. Language groups are
interleaved, so each group's last message comes at about the same time as the last of all.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from alertbot.config import PACE_HEADROOM, DispatchConfig
from alertbot.core.domain import PRIORITY, Severity

_SEVERITY_OF = {priority: severity for severity, priority in PRIORITY.items()}


@dataclass(frozen=True, slots=True)
class Estimate:
    recipients: int  # direct messages still to send
    paid: bool  # sent with allow_paid_broadcast
    rate: float  # its pace, messages/s
    ahead: int  # messages due before them (graver or older, already queued)
    seconds: float  # until the last of them
    charged: int = 0  # paid: about how many go above the free limit
    stars: float = 0.0  # paid: about what that costs


def estimate(
    config: DispatchConfig,
    severity: Severity | None,
    recipients: int,
    queued: Mapping[int, int],
    *,
    exercise: bool = False,
) -> Estimate:
    """`queued`: messages already due by priority (only those at this priority or graver count)."""
    priority = PRIORITY[severity]
    paid = not exercise and config.is_paid(severity)
    rate = config.paid_rate if paid else config.rate
    ahead = {p: n for p, n in queued.items() if p <= priority and n > 0}
    ahead_seconds = sum(n / (config.rate_for(_SEVERITY_OF.get(p)) * PACE_HEADROOM) for p, n in ahead.items())
    seconds = ahead_seconds + recipients / (rate * PACE_HEADROOM)
    charged = config.charged(recipients) if paid else 0
    return Estimate(
        recipients, paid, rate, sum(ahead.values()), seconds, charged, round(charged * config.paid_price_stars, 1)
    )
