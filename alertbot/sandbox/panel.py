"""The page's side panel: the latest warning reaching the simulated population, live.

Twice a second: the warning's deliveries by state (from the bot's database, as the bot records Telegram's
answers), their history for the chart, the pace the local Bot API server measures against the token's limit,
the district channels' posts, and the officials' progress message as the bot edits it.
"""

from __future__ import annotations

import time
from typing import Any

from alertbot.config import AppConfig
from alertbot.core.domain import Broadcast, BroadcastKind, BroadcastStatus
from alertbot.sandbox.botapi import FakeBotAPI
from alertbot.sandbox.chats import clock, message_html
from alertbot.sandbox.people import PopulationProgress
from alertbot.storage.broadcasts import BroadcastRepository

JSON = dict[str, Any]

KINDS = (BroadcastKind.WARNING, BroadcastKind.FOLLOW_UP, BroadcastKind.REMINDER)
CHANNEL_POSTS_SHOWN = 20


class Panel:
    """Reads the state the side panel shows; keeps each warning's counts over time for its chart."""

    def __init__(
        self,
        api: FakeBotAPI,
        broadcasts: BroadcastRepository,
        config: AppConfig,
        population: PopulationProgress,
        *,
        personas: dict[int, str],
        channels: dict[int, str],
    ) -> None:
        self._api = api
        self._broadcasts = broadcasts
        self._config = config
        self._population = population
        self._personas = personas  # private chat id -> persona id
        self._channels = channels  # channel chat id -> its language
        self._series: dict[int, list[list[float]]] = {}
        self._started: dict[int, float] = {}

    async def latest(self) -> Broadcast | None:
        """The newest warning, follow-up or reminder, or one waiting for approval."""
        newest = await self._broadcasts.issued(KINDS, limit=1, awaiting_approval=True)
        return newest[0] if newest else None

    async def read(self) -> JSON:
        broadcast = await self.latest()
        return {
            "broadcast": await self._broadcast(broadcast) if broadcast is not None else None,
            "pace": {"per_second": self._per_second(), "limit": self._limit(broadcast)},
            "channels": self._channel_posts(),
            "progress": self._progress(broadcast),
            "population": self._population.as_json(),
        }

    async def _broadcast(self, broadcast: Broadcast) -> JSON:
        counts = await self._broadcasts.counts(broadcast.id)
        recipients = counts.total - counts.cancelled if counts.total else broadcast.recipients  # none queued yet
        pending = counts.open
        series = self._series.setdefault(broadcast.id, [])
        now = time.monotonic()
        if counts.sent or counts.blocked or counts.failed:
            start = self._started.setdefault(broadcast.id, now)
            point = [round(now - start, 2), counts.sent, pending, counts.blocked + counts.failed]
            if not series or series[-1][1:] != point[1:] or pending:
                series.append(point)
        return {
            "id": broadcast.id,
            "title": broadcast.titles.get("en") or broadcast.template_id,
            "titles": broadcast.titles,
            "severity": broadcast.severity.value if broadcast.severity else None,
            "status": "sending"
            if broadcast.status is BroadcastStatus.QUEUED and counts.sent
            else broadcast.status.value,
            "exercise": broadcast.exercise,
            "recipients": recipients,
            "delivered": counts.sent,
            "pending": pending,
            "blocked": counts.blocked + counts.failed,
            "cancelled": counts.cancelled,
            "series": series[-600:],
        }

    def _per_second(self) -> int:
        """Messages the local server accepted in the last second (the global window Telegram counts)."""
        cutoff = time.monotonic() - 1.0
        count = 0
        for sent_at in reversed(self._api.send_times):
            if sent_at < cutoff:
                break
            count += 1
        return count

    def _limit(self, broadcast: Broadcast | None) -> float:
        """The pace the warning goes at, as the sender picks it (exercises are never paid)."""
        dispatch = self._config.dispatch
        if broadcast is None or broadcast.exercise:
            return dispatch.rate
        return dispatch.rate_for(broadcast.severity)

    def _channel_posts(self) -> list[JSON]:
        posts = []
        for chat_id, language in self._channels.items():
            chat = self._api.chat(chat_id)
            for stored in self._api.messages(chat_id):
                posts.append(
                    {
                        "title": chat.get("title", str(chat_id)),
                        "username": chat.get("username"),
                        "language": language,
                        "html": message_html(stored),
                        "time": clock(stored["date"], self._config.bot.zone, seconds=True),
                        "seq": stored["sent_at"],
                    }
                )
        posts.sort(key=lambda post: post.pop("seq"), reverse=True)
        return posts[:CHANNEL_POSTS_SHOWN]

    def _progress(self, broadcast: Broadcast | None) -> JSON | None:
        if broadcast is None or broadcast.report_message_id is None:
            return None
        chat = broadcast.report_chat_id or broadcast.created_by
        stored = self._api.message(chat, broadcast.report_message_id)
        if stored is None:
            return None
        return {
            "persona": self._personas.get(chat),
            "html": message_html(stored),
        }
