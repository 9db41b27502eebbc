"""Text that alertbot stores about failures: one line, bounded, and free of secrets.

Telegram errors can carry the request URL (`/bot<token>/sendMessage`) or a proxy's whole HTML page;
`scrub()` turns any such text into a short plain line that fits a bounded column and never holds the
token. (Log records are masked separately, in `alertbot.core.logs`.)
"""

from __future__ import annotations

import re
from collections.abc import Iterable

# A bot token: the bot's numeric id, a colon and 30+ characters of [A-Za-z0-9_-].
_TOKEN = re.compile(r"\b\d{5,}:[A-Za-z0-9_-]{30,}")
# Whatever sits in a Bot API path, /bot<token>/method (test doubles' short tokens included).
_BOT_PATH = re.compile(r"/bot[^/\s'\"]+/")
_TAG = re.compile(r"<[^>]*>")
_SPACE = re.compile(r"\s+")
REDACTED = "***"


def scrub(text: object, limit: int = 200, secrets: Iterable[str] = ()) -> str:
    """A one-line, bounded, secret-free form of `text` (an exception, an error body ...)."""
    value = str(text)
    for secret in secrets:
        if secret:
            value = value.replace(secret, REDACTED)
    value = _BOT_PATH.sub(f"/bot{REDACTED}/", value)
    value = _TOKEN.sub(REDACTED, value)
    if "<" in value and ">" in value:  # an HTML page from a proxy: keep its words, not its markup
        value = _TAG.sub(" ", value)
    value = _SPACE.sub(" ", value).strip()
    if len(value) > limit:
        value = value[: max(0, limit - 1)] + "…"
    return value
