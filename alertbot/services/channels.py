"""What is known of the district channels: can the bot post there, and how many members each has.

The Telegram layer looks a channel up (`getChat`, `getChatMember`, `getChatMemberCount`, see
`alertbot.telegram.channels`) and connects that lookup here; the preview and the report read the latest answer,
refreshed when it is older than `FRESH_SECONDS`. Without a lookup (the command line) member counts are unknown.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass

from alertbot.core.redact import scrub
from alertbot.services.districts import DistrictDirectory

log = logging.getLogger(__name__)

FRESH_SECONDS = 300.0
LOOKUP_TIMEOUT = 3.0  # a preview never waits longer than this for Telegram


@dataclass(frozen=True, slots=True)
class ChannelStatus:
    channel: str  # as configured
    usable: bool  # the bot is an administrator allowed to post
    members: int | None = None
    title: str | None = None
    problem: str | None = None  # why it cannot be used (or could not be looked up)


ChannelLookup = Callable[[str], Awaitable[ChannelStatus]]


def channel_chat_id(channel: str) -> int | str:
    """What the Bot API takes for a configured channel: its id as a number, or the "@username"."""
    return int(channel) if channel.lstrip("-").isdigit() else channel


class ChannelDirectory:
    def __init__(self, channels: Iterable[str], clock: Callable[[], float] = time.monotonic) -> None:
        self.channels = list(dict.fromkeys(channels))
        self._lookup: ChannelLookup | None = None
        self._known: dict[str, tuple[float, ChannelStatus]] = {}
        self._clock = clock

    @classmethod
    def of(cls, districts: DistrictDirectory) -> ChannelDirectory:
        """The channels configured for the districts, each once."""
        return cls(channel for channel, _language in districts.channels(districts.ids))

    def connect(self, lookup: ChannelLookup) -> None:
        self._lookup = lookup

    async def status(self, channel: str) -> ChannelStatus | None:
        """The latest answer for `channel` (looked up again if stale); None if nothing is known."""
        known = self._known.get(channel)
        if known is not None and self._clock() - known[0] < FRESH_SECONDS:
            return known[1]
        if self._lookup is None:
            return known[1] if known else None
        try:
            status = await asyncio.wait_for(self._lookup(channel), LOOKUP_TIMEOUT)
        except Exception as error:  # Telegram away or slow: the last answer (if any) is better than none
            log.warning("could not look up channel %s: %s", channel, scrub(error))
            return known[1] if known else None
        self._known[channel] = (self._clock(), status)
        return status

    async def check_all(self) -> list[ChannelStatus]:
        """Every configured channel looked up now (at start and by `alertbot check --online`)."""
        self._known.clear()
        results = await asyncio.gather(*(self.status(c) for c in self.channels))
        return [
            result or ChannelStatus(channel, usable=False, problem="could not be looked up")
            for channel, result in zip(self.channels, results, strict=True)
        ]
