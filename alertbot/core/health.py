"""How a background loop is doing: consecutive failures, since when, and the last error (scrubbed).

Loops never die on an error: they record it here, wait `backoff()` and try again. Leadership reads
these to give up the dispatch lease when its jobs keep failing, and `alertbot status` shows the
last error.
"""

from __future__ import annotations

import logging
import random
import time
from dataclasses import dataclass, field
from datetime import datetime

from alertbot.core.clock import utcnow
from alertbot.core.redact import scrub

BACKOFF_BASE_SECONDS = 1.0
BACKOFF_MAX_SECONDS = 30.0


def backoff(attempt: int, base: float = BACKOFF_BASE_SECONDS, cap: float = BACKOFF_MAX_SECONDS) -> float:
    """Exponential backoff with jitter: base, 2 x base, 4 x base ... up to `cap`, times a random 0.5-1."""
    return min(cap, base * 2 ** max(0, attempt - 1)) * random.uniform(0.5, 1.0)


@dataclass
class Health:
    name: str
    failures: int = 0
    failing_since: float | None = None  # time.monotonic() of the first failure in a row
    last_error: str | None = None
    last_error_at: datetime | None = None
    _log: logging.Logger = field(default_factory=lambda: logging.getLogger("alertbot.health"), repr=False)

    def ok(self) -> None:
        if self.failures:
            self._log.info("%s recovered after %d failure(s)", self.name, self.failures)
        self.failures, self.failing_since = 0, None

    def failed(self, error: BaseException, doing: str) -> float:
        """Record a failure (logged with context); returns how long to wait before trying again."""
        self.failures += 1
        if self.failing_since is None:
            self.failing_since = time.monotonic()
        self.last_error = scrub(f"{doing}: {type(error).__name__}: {error}", limit=500)
        self.last_error_at = utcnow()
        wait = backoff(self.failures)
        # the first failure with its traceback, then one line each, so an outage does not flood the log
        self._log.error(
            "%s failed %s (failure %d in a row; retrying in %.1f s): %s",
            self.name, doing, self.failures, wait, self.last_error, exc_info=error if self.failures == 1 else None,
        )  # fmt: skip
        return wait

    def failing_for(self) -> float:
        """Seconds this loop has been failing without a success (0: healthy)."""
        return 0.0 if self.failing_since is None else time.monotonic() - self.failing_since
