"""A million subscribers, in SQLite and in PostgreSQL: fan-out time, the bot's memory and its send rate.

1,000,000 residents (quick: 20,000) across the 13 districts of the example config, seeded in bulk into a
SQLite file and into a fresh PostgreSQL database (dropped afterwards). In each:

- the delivery rows of a warning to one district (Heping, a 13th) and to all districts (the confirm, and
  the supervisor's approval an every-district warning needs), timed in the service (target < 20 s for 1M);
- `alertbot run` (`rate = 1000, paid_broadcast = true`) against an unlimited double for the first 60 s
  (quick: 10 s) of the every-district warning: its peak RSS (VmHWM; target < 300 MiB) and its send rate;
- the same bot on a database of 20,000 (quick: 5,000) sending to all of them: the rate then ÷ that rate
  (target 1 ± 0.1: flat).
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from pathlib import Path

from alertbot.services.container import Services
from alertbot.services.drafts import AlertDraft
from bench.common import (
    DISTRICTS,
    FIRST_CHAT,
    GAS_LEAK,
    OFFICER,
    SUPERVISOR,
    config_file,
    prepared_alertbot,
    queue_warning,
    seed,
    services,
    storage,
)
from bench.context import Context, Unavailable
from bench.double import BenchBotAPI, Tally
from bench.processes import Measured, own_cpu_seconds, postgres_cpu_seconds, until
from bench.report import below, within

RATE = 1000
LINES = (f"dispatch.rate = {RATE}", "dispatch.paid_broadcast = true")


def add_arguments(group: argparse._ArgumentGroup) -> None:
    group.add_argument("--scale-subscribers", type=int, help="default 1,000,000 (quick: 20,000)")
    group.add_argument("--scale-baseline", type=int, help="recipients of the flat-rate baseline: 20,000 (quick: 5,000)")
    group.add_argument("--scale-seconds", type=float, help="of the big send measured: 60 (quick: 10)")
    group.add_argument(
        "--scale-storage", choices=["sqlite", "postgresql"], action="append", help="default: both, in turn"
    )


async def run(ctx: Context) -> None:
    count = ctx.args.scale_subscribers or ctx.size(1_000_000, 20_000)
    baseline = ctx.args.scale_baseline or ctx.size(20_000, 5_000)
    seconds = ctx.args.scale_seconds or ctx.seconds(60, 10)
    for kind in ctx.args.scale_storage or ["sqlite", "postgresql"]:
        try:
            await one(ctx, kind, count, baseline, seconds)
        except Unavailable as reason:
            ctx.not_run(f"{kind}", str(reason))


async def one(ctx: Context, kind: str, count: int, baseline: int, seconds: float) -> None:
    chats = range(FIRST_CHAT, FIRST_CHAT + count)
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        async with BenchBotAPI() as api:
            api.unlimited()
            async with storage(kind, folder, "big") as url:
                config = config_file(folder, api, url, *LINES)
                async with services(config) as built:
                    began = time.monotonic()
                    await seed(built.database, chats, DISTRICTS)
                    ctx.log(f"{kind}: {count:,} subscribers seeded in {time.monotonic() - began:.1f} s")
                    await fan_outs(ctx, kind, built, count)
                peak, rate, usage = await big_send(ctx, kind, config, api, chats, seconds)
        async with BenchBotAPI() as api:
            api.unlimited()
            async with storage(kind, folder, "baseline") as url:
                config = config_file(folder, api, url, *LINES)
                base_rate, base_peak, base_usage = await baseline_send(ctx, kind, config, api, baseline)
    ctx.row(f"{kind}: peak RSS of the bot, {count:,} subscribers", peak / 1024, "MiB", target=below(300, "MiB"),
            note=f"VmHWM over its start and the first {seconds:g} s of the send; {base_peak / 1024:.0f} MiB "
                 f"at {baseline:,}")  # fmt: skip
    ctx.row(f"{kind}: send rate, first {seconds:g} s to {count:,}", rate, "msg/s", note=usage)
    ctx.row(f"{kind}: send rate to {baseline:,}", base_rate, "msg/s", note=base_usage)
    ctx.row(f"{kind}: rate at {count:,} ÷ at {baseline:,}", rate / base_rate, target=within(0.1))


async def fan_outs(ctx: Context, kind: str, built: Services, count: int) -> None:
    """The delivery rows for one district, then for all of them (confirm + approval), timed."""
    began = time.monotonic()
    one_district = await queue_warning(built, ("heping",))
    took = time.monotonic() - began
    rows = (await built.alerts.get(one_district)).recipients  # type: ignore[union-attr]
    ctx.row(f"{kind}: delivery rows for 1 district", took, "s", note=f"{rows:,} rows (confirm)")
    await built.alerts.cancel(OFFICER, one_district)  # out of the way of the big send
    draft = AlertDraft("gas_leak", {**GAS_LEAK, "details": "全市"}, ("*",))
    began = time.monotonic()
    confirmation = await built.alerts.confirm(OFFICER, draft)
    queued = await built.alerts.decide(SUPERVISOR, confirmation.broadcast.id, approve=True)
    took = time.monotonic() - began
    target = below(20, "s") if count >= 1_000_000 else None  # (a target for a million)
    note = f"{queued.recipients:,} rows (confirm + approval)" + ("" if target else "; the < 20 s target is for 1M")
    ctx.row(f"{kind}: delivery rows for all {len(DISTRICTS)} districts", took, "s", target=target, note=note)


async def big_send(
    ctx: Context, kind: str, config: Path, api: BenchBotAPI, chats: range, seconds: float
) -> tuple[int, float, str]:
    """(peak RSS in KiB, messages/s, where the CPU went) over the first `seconds` of the every-district send."""

    async def nothing(_: Services) -> None:
        return None

    async with prepared_alertbot(ctx, f"{kind}-big", config, api, nothing) as (bot, _):
        bot.sample_memory()
        tally = Tally(api, chats, len(chats))
        await bot.profile()
        async with ctx.progress(lambda: f"{kind}: {tally.count:,} sent, RSS {bot.peak_kib() / 1024:.0f} MiB"):
            await until(lambda: tally.times, bot, "sending")
            cpu = Usage(bot)
            await asyncio.sleep(max(0.0, tally.first + seconds - time.monotonic()))
            usage = cpu.shares()
        peak = bot.peak_kib()
    return peak, tally.in_window(tally.first, seconds) / seconds, usage


async def baseline_send(ctx: Context, kind: str, config: Path, api: BenchBotAPI, count: int) -> tuple[float, int, str]:
    """(messages/s, peak RSS in KiB, where the CPU went) of a send to all of `count` subscribers."""
    chats = range(FIRST_CHAT, FIRST_CHAT + count)

    async def prepare(built: Services) -> None:
        await seed(built.database, chats, ("heping",))
        await queue_warning(built, ("heping",))

    async with prepared_alertbot(ctx, f"{kind}-baseline", config, api, prepare) as (bot, _):
        tally = Tally(api, chats, count)
        async with ctx.progress(lambda: f"{kind} baseline: {tally.count:,}/{count:,} sent"):
            await until(lambda: tally.times, bot, "sending")
            cpu = Usage(bot)
            if not await tally.wait(count / 200 + 60, bot.alive):
                raise TimeoutError(f"{kind} baseline: {tally.count:,} of {count:,} sent")
            usage = cpu.shares()
        peak = bot.peak_kib()
    return tally.rate(), peak, usage


class Usage:
    """Shares of a core used since it was made: by the bot, by this process (the double), by PostgreSQL."""

    def __init__(self, bot: Measured) -> None:
        self.bot = bot
        self.began = time.monotonic()
        self.start = (bot.cpu(), own_cpu_seconds(), postgres_cpu_seconds())

    def shares(self) -> str:
        wall = time.monotonic() - self.began
        now = (self.bot.cpu(), own_cpu_seconds(), postgres_cpu_seconds())
        bot, double, database = ((b - a) / wall for a, b in zip(self.start, now, strict=True))
        return f"CPU: bot {bot:.2f}, double {double:.2f}, PostgreSQL {database:.2f} of a core"
