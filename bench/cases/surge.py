"""A surge of new residents, in polling and in webhook mode: updates answered per second and reply latency.

`alertbot run` (SQLite file, logging at WARNING) takes updates from the double, by long polling or through
its webhook (the double posts like Telegram: at most `webhook_max_connections` posts open at once, a chat's
next update only after its previous one was taken). 5,000 residents (quick: 500; ids from 1,000,000, zh
and en alternately, districts in turn) each send `/start` and, when the welcome arrives, `/subscribe
<district>`, as people do: 260 new residents a second by default (520 updates/s offered), or all at once
(`--surge-arrival-rate 0`). Latency of an update: from its enqueueing in the double to the double storing
the reply (both on the double's clock). Per mode: updates/s (answers ÷ the time from the first enqueue to
the last reply; target ≥ 500), p95 latency (target < 1 s), the bot's CPU per update, and every resident
in the database (`subscribers`, `subscriptions`).

Before the surge, in polling mode, 200 residents (quick: 50) send `/subscribe heping tiexi` in the same
instant (what the old bench/residents_at_once.py measured): the slowest answer (target < 1 s).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import math
import secrets
import sqlite3
import tempfile
import time
from pathlib import Path
from typing import Any

import asyncpg

from bench.common import DISTRICTS, config_file, redis_reason, services, storage
from bench.context import Context, Unavailable
from bench.double import BenchBotAPI
from bench.processes import Measured, alertbot, cpu_seconds, own_cpu_seconds, wait_ready
from bench.report import at_least, below, exactly
from tests.harness import REDIS_TEST_URL, free_port

FIRST_CHAT = 2_000_000
WARM_UP_CHAT = 1_999_999
AT_ONCE_CHAT = 3_000_000
TARGET_RATE = 500.0  # updates/s
TARGET_P95 = 1.0  # seconds
IDLE_SECONDS = 2.0


def add_arguments(group: argparse._ArgumentGroup) -> None:
    group.add_argument("--surge-residents", type=int, help="default 5,000 (quick: 500)")
    group.add_argument(
        "--surge-arrival-rate", type=float, default=260.0, help="new residents per second (0: all at once)"
    )
    group.add_argument("--surge-mode", choices=["polling", "webhook"], action="append", help="default: both")
    group.add_argument("--surge-storage", choices=["sqlite", "postgresql"], default="sqlite")
    group.add_argument("--surge-redis", action="store_true", help=f"chat flows, throttling in Redis ({REDIS_TEST_URL})")
    group.add_argument("--surge-max-connections", type=int, default=40, help="[telegram] webhook_max_connections")
    group.add_argument("--surge-at-once", type=int, help="residents subscribing in the same instant: 200 (quick: 50)")


class Surge:
    """The residents: each /start, on the welcome its /subscribe, on the confirmation done."""

    def __init__(self, api: BenchBotAPI, chats: range) -> None:
        self.api = api
        self.chats = chats
        self.stage: dict[int, int] = {}  # chat -> 1: /start sent, 2: /subscribe sent, 3: confirmed
        self.sent_at: dict[tuple[int, int], float] = {}  # (chat, stage) -> enqueued
        self.latencies: list[float] = []
        self.unexpected: list[tuple[int, str]] = []  # (chat, text) of replies that were not the expected ones
        self.first_enqueue: float | None = None
        self.last_reply = 0.0
        self.done = asyncio.Event()
        self.confirmed = 0
        api.listeners.append(self.on_reply)

    def start(self, chat: int) -> None:
        self._send(chat, 1, "/start")

    def _send(self, chat: int, stage: int, text: str) -> None:
        now = time.monotonic()
        if self.first_enqueue is None:
            self.first_enqueue = now
        self.stage[chat] = stage
        self.sent_at[chat, stage] = now
        self.api.send_text(chat, text, language_code="zh" if chat % 2 else "en")

    def on_reply(self, chat: int, message: dict[str, Any]) -> None:
        if chat not in self.chats:
            return
        stage = self.stage.get(chat)
        if stage not in (1, 2):
            if stage is not None:
                self.unexpected.append((chat, str(message.get("text"))))
            return
        self.latencies.append(message["sent_at"] - self.sent_at[chat, stage])
        self.last_reply = message["sent_at"]
        text = str(message.get("text"))
        if stage == 1:
            if not message.get("reply_markup"):  # the welcome asks resident or business, with buttons
                self.unexpected.append((chat, text))
            self.stage[chat] = 0  # between the reply and the resident's next message
            district = DISTRICTS[(chat - self.chats.start) % len(DISTRICTS)]
            # the resident answers as soon as the welcome is stored (after the double's handler returns)
            asyncio.get_running_loop().call_soon(self._send, chat, 2, f"/subscribe {district}")
        else:
            if "✅" not in text:
                self.unexpected.append((chat, text))
            self.stage[chat] = 3
            self.confirmed += 1
            if self.confirmed == len(self.chats):
                self.done.set()

    @property
    def answered(self) -> int:
        return len(self.latencies)

    async def enqueue(self, rate: float | None) -> None:
        if not rate:
            for chat in self.chats:
                self.start(chat)
            return
        began, sent = time.monotonic(), 0
        while sent < len(self.chats):
            due = min(len(self.chats), int((time.monotonic() - began) * rate) + 1)
            for chat in self.chats[sent:due]:
                self.start(chat)
            sent = due
            await asyncio.sleep(0.005)


def percentile(ordered: list[float], q: float) -> float:
    return ordered[max(0, min(len(ordered) - 1, math.ceil(q * len(ordered)) - 1))]


async def run(ctx: Context) -> None:
    residents = ctx.args.surge_residents or ctx.size(5_000, 500)
    if ctx.args.surge_redis and (reason := await redis_reason()) is not None:
        raise Unavailable(reason)
    for mode in ctx.args.surge_mode or ["polling", "webhook"]:
        await one(ctx, mode, residents)


async def one(ctx: Context, mode: str, residents: int) -> None:
    chats = range(FIRST_CHAT, FIRST_CHAT + residents)
    arrival = ctx.args.surge_arrival_rate or None
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        async with BenchBotAPI() as api, storage(ctx.args.surge_storage, folder) as url, redis(ctx) as prefix:
            port = free_port()
            lines = [f"server.port = {port}"]
            if mode == "webhook":
                lines += [
                    'telegram.mode = "webhook"',
                    f'telegram.webhook_url = "http://127.0.0.1:{port}/tg/hook"',
                    f"telegram.webhook_max_connections = {ctx.args.surge_max_connections}",
                    f'telegram.webhook_secret = "{secrets.token_urlsafe(24)}"',
                ]
            if prefix is not None:
                lines += [f'redis.url = "{REDIS_TEST_URL}"', f'redis.prefix = "{prefix}"']
            config = config_file(folder, api, url, *lines)
            async with services(config):
                pass  # migrated before the bot starts
            async with alertbot(ctx, mode, config, api) as bot:
                ready = (lambda: api.calls("setWebhook")) if mode == "webhook" else (lambda: api.calls("getUpdates"))
                await wait_ready(bot, port, ready)
                # one resident first, so the figures are not those of the first request's lazy set-up
                warm_up = Surge(api, range(WARM_UP_CHAT, WARM_UP_CHAT + 1))
                warm_up.start(WARM_UP_CHAT)
                await asyncio.wait_for(warm_up.done.wait(), 30)
                if mode == "polling":
                    await at_once(ctx, api, ctx.args.surge_at_once or ctx.size(200, 50))
                await bot.profile()
                idle = cpu_seconds(bot.pid)
                await asyncio.sleep(IDLE_SECONDS)  # what the bot's background work (sender, scheduler) costs alone
                idle = (cpu_seconds(bot.pid) - idle) / IDLE_SECONDS
                surge = Surge(api, chats)
                bot_cpu, own_cpu = cpu_seconds(bot.pid), own_cpu_seconds()
                progress = ctx.progress(
                    lambda: f"{mode}: {surge.answered:,}/{2 * residents:,} answered, {api.pending_updates()} queued"
                )
                async with progress:
                    await surge.enqueue(arrival)
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(surge.done.wait(), residents / 20 + 60)
                bot_cpu, own_cpu = cpu_seconds(bot.pid) - bot_cpu, own_cpu_seconds() - own_cpu
            subscribers, subscribed = await count_residents(url, chats)
    report(ctx, mode, surge, bot, bot_cpu, own_cpu, idle, subscribers, subscribed, arrival)


def report(
    ctx: Context, mode: str, surge: Surge, bot: Measured, bot_cpu: float, own_cpu: float, idle: float,
    subscribers: int, subscribed: int, arrival: float | None,
) -> None:  # fmt: skip
    residents, updates = len(surge.chats), 2 * len(surge.chats)
    assert surge.first_enqueue is not None
    wall = surge.last_reply - surge.first_enqueue
    rate = surge.answered / wall if wall > 0 else 0.0
    ordered = sorted(surge.latencies) or [math.inf]
    offered = "all at once" if arrival is None else f"{arrival:g} residents/s ({2 * arrival:g} updates/s offered)"
    store = ctx.args.surge_storage + (" + Redis" if ctx.args.surge_redis else "")
    ctx.row(f"{mode}: updates/s", rate, target=at_least(TARGET_RATE),
            note=f"{surge.answered:,}/{updates:,} answered in {wall:.1f} s; {offered}; {store}")  # fmt: skip
    ctx.row(f"{mode}: reply latency p95", percentile(ordered, 0.95), "s", target=below(TARGET_P95, "s"),
            note=f"p50 {percentile(ordered, 0.5) * 1000:.0f} ms, p99 {percentile(ordered, 0.99) * 1000:.0f} ms, "
                 f"max {ordered[-1] * 1000:.0f} ms")  # fmt: skip
    ctx.row(f"{mode}: bot CPU per update", bot_cpu / max(1, surge.answered) * 1000, "ms",
            note=f"bot {bot_cpu / wall:.2f} of a core (idle before: {idle:.2f}), double and residents "
                 f"{own_cpu / wall:.2f}")  # fmt: skip
    wrong = updates - surge.answered + len(surge.unexpected)
    ctx.row(f"{mode}: missing or unexpected replies", wrong, target=exactly(0),
            note="; ".join(f"chat {chat}: {text[:60]!r}" for chat, text in surge.unexpected[:2]))  # fmt: skip
    ctx.row(f"{mode}: residents not saved", residents - subscribed, target=exactly(0),
            note=f"{subscribers:,} subscribers, {subscribed:,} with a subscription")  # fmt: skip


async def at_once(ctx: Context, api: BenchBotAPI, residents: int) -> None:
    """Residents send /subscribe in the same instant: the slowest answer against the 1 s budget."""
    ids = range(AT_ONCE_CHAT, AT_ONCE_CHAT + residents)
    sent_at: dict[int, float] = {}
    answered: dict[int, float] = {}
    done = asyncio.Event()

    def on_reply(chat: int, message: dict[str, Any]) -> None:
        if chat in sent_at and chat not in answered:
            answered[chat] = message["sent_at"] - sent_at[chat]
            if len(answered) == residents:
                done.set()

    api.listeners.append(on_reply)
    for chat in ids:
        sent_at[chat] = time.monotonic()
        api.send_text(chat, "/subscribe heping tiexi", language_code="zh" if chat % 2 else "en")
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(done.wait(), 30)
    ordered = sorted(answered.values()) or [math.inf]
    ctx.row(f"{residents} residents /subscribe at once: slowest answer", ordered[-1], "s", target=below(1.0, "s"),
            note=f"p50 {percentile(ordered, 0.5) * 1000:.0f} ms, p95 {percentile(ordered, 0.95) * 1000:.0f} ms; "
                 f"{len(answered)}/{residents} answered; polling")  # fmt: skip


@contextlib.asynccontextmanager
async def redis(ctx: Context) -> Any:
    if not ctx.args.surge_redis:
        yield None
        return
    from tests.harness import fresh_redis_prefix

    async with fresh_redis_prefix() as prefix:
        yield prefix


async def count_residents(url: str, chats: range) -> tuple[int, int]:
    """(subscribers, residents with a subscription) among `chats`, straight from the database."""
    low, high = chats.start, chats.stop - 1
    queries = (
        "SELECT count(*) FROM subscribers WHERE chat_id BETWEEN {0} AND {1}",
        "SELECT count(DISTINCT chat_id) FROM subscriptions WHERE chat_id BETWEEN {0} AND {1}",
    )
    if url.startswith("sqlite:///"):
        with contextlib.closing(sqlite3.connect(url.removeprefix("sqlite:///"))) as db:
            first, second = (int(db.execute(q.format(low, high)).fetchone()[0]) for q in queries)
            return first, second
    connection = await asyncpg.connect(url)
    try:
        first, second = [int(await connection.fetchval(q.format(low, high))) for q in queries]
        return first, second
    finally:
        await connection.close()
