"""Prometheus metrics of one bot process, in the text format of prometheus-client.

Counters are read at scrape time from the objects that keep them (the outbox sender, the pacer), so
nothing on the sending path waits for metrics; the queue depth, the latest broadcasts' delivery times
and the campaign occurrences are read from the database per scrape (`Scrape`).
Each Application has its own registry (tests run many in one process).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from importlib.metadata import PackageNotFoundError, version
from typing import Any

from aiogram import BaseMiddleware
from aiogram.types import TelegramObject
from prometheus_client import CollectorRegistry, Gauge, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from alertbot.core.domain import PRIORITY
from alertbot.delivery.leadership import Leadership
from alertbot.delivery.pacing import Pacer
from alertbot.delivery.sender import OutboxSender
from alertbot.storage.outbox import DeliveryTimes
from alertbot.telegram.middlewares import Handler

PRIORITY_NAMES = {number: (severity.value if severity else "reminder") for severity, number in PRIORITY.items()}


def _version() -> str:
    try:
        return version("alertbot")
    except PackageNotFoundError:  # pragma: no cover - run from a checkout that was never installed
        return "unknown"


@dataclass
class Scrape:
    """What one scrape read from the database (empty where the database did not answer)."""

    queue: dict[int, int] = field(default_factory=dict)
    delivery_times: list[DeliveryTimes] = field(default_factory=list)
    occurrences: dict[tuple[str, str], int] = field(default_factory=dict)


class _Snapshot(Collector):
    """The sender's and pacer's totals, the lease, and what this scrape read from the database."""

    def __init__(self, sender: OutboxSender, pacer: Pacer, leadership: Leadership, instance: str) -> None:
        self._sender, self._pacer, self._leadership, self._instance = sender, pacer, leadership, instance
        self.scrape = Scrape()

    def collect(self) -> Iterator[Metric]:
        info = GaugeMetricFamily("alertbot_build_info", "The running alertbot's version.", labels=["version"])
        info.add_metric([_version()], 1)
        yield info
        yield CounterMetricFamily("alertbot_messages_sent", "Deliveries Telegram accepted.", self._sender.sent_count)
        failed = CounterMetricFamily("alertbot_messages_failed", "Deliveries that ended unsent.", labels=["reason"])
        for reason, count in sorted(self._sender.failed_by_reason.items()):
            failed.add_metric([reason], count)
        yield failed
        yield CounterMetricFamily("alertbot_flood_waits", "429 answers on message requests.", self._pacer.flood_waits)
        yield CounterMetricFamily(
            "alertbot_flood_paused_seconds", "Seconds the token was paused by 429s.", self._pacer.paused_seconds
        )
        yield GaugeMetricFamily(
            "alertbot_send_rate", "Messages per second Telegram accepted over the last 10 s.", self._sender.send_rate()
        )
        depth = GaugeMetricFamily("alertbot_queue_depth", "Deliveries not yet sent.", labels=["priority"])
        for priority, count in sorted(self.scrape.queue.items()):
            depth.add_metric([PRIORITY_NAMES.get(priority, str(priority))], count)
        yield depth
        yield from self._delivery_times()
        occurrences = GaugeMetricFamily(
            "alertbot_campaign_occurrences", "Campaign occurrences by outcome.", labels=["campaign", "status"]
        )
        for (campaign, status), count in sorted(self.scrape.occurrences.items()):
            occurrences.add_metric([campaign, status], count)
        yield occurrences
        holder = GaugeMetricFamily("alertbot_lease_holder", "1 while this instance sends.", labels=["instance"])
        term = self._leadership.term
        holder.add_metric([self._instance], 1 if term is not None and term.valid() else 0)
        yield holder

    def _delivery_times(self) -> Iterator[Metric]:
        labels = ["broadcast", "kind"]
        first = GaugeMetricFamily(
            "alertbot_broadcast_first_delivery_seconds", "Seconds from confirm (queued) to the first delivery, "
            "for the latest broadcasts.", labels=labels,
        )  # fmt: skip
        last = GaugeMetricFamily(
            "alertbot_broadcast_last_delivery_seconds", "Seconds from confirm (queued) to the last delivery "
            "(so far, while finished is 0).", labels=[*labels, "finished"],
        )  # fmt: skip
        for times in self.scrape.delivery_times:
            first.add_metric([str(times.broadcast_id), times.kind], times.first_seconds)
            last.add_metric([str(times.broadcast_id), times.kind, str(int(times.finished))], times.latest_seconds)
        yield first
        yield last


class Metrics:
    def __init__(self, sender: OutboxSender, pacer: Pacer, leadership: Leadership, instance: str) -> None:
        self.registry = CollectorRegistry()
        self._snapshot = _Snapshot(sender, pacer, leadership, instance)
        self.registry.register(self._snapshot)
        self.update_seconds = Histogram(
            "alertbot_update_seconds", "Time to handle one Telegram update.", registry=self.registry,
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
        )  # fmt: skip
        self.updates_in_progress = Gauge(
            "alertbot_updates_in_progress", "Updates being handled now ([telegram] concurrent_updates at most).",
            registry=self.registry,
        )  # fmt: skip

    def render(self, scrape: Scrape) -> bytes:
        self._snapshot.scrape = scrape
        return generate_latest(self.registry)

    def middleware(self) -> BaseMiddleware:
        """An update middleware that times every update's handling."""
        return _TimeUpdates(self.update_seconds, self.updates_in_progress)


class _TimeUpdates(BaseMiddleware):
    def __init__(self, histogram: Histogram, in_progress: Gauge) -> None:
        self._histogram = histogram
        self._in_progress = in_progress

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        started = time.perf_counter()
        self._in_progress.inc()
        try:
            return await handler(event, data)
        finally:
            self._in_progress.dec()
            self._histogram.observe(time.perf_counter() - started)
