"""How close alertbot gets to Telegram's limits without a 429: free (30/s) with progress edits, and paid (1000/s).

The double enforces Telegram's limits over one-second windows: 30 messages/s for the token with edits
counted (`count_edits`), 1/s per private chat, 20/min per group, 1000/s for paid broadcasts. `alertbot run`
(SQLite file) sends one warning, with the officer's progress message edited every 3 s (`report_chat_id`):

- free: `rate = 30` to 1,500 recipients (quick: 150): every request the double counted in the window
  (deliveries, the progress message and its edits) per second over the broadcast ÷ 30 (target ≥ 0.97);
- paid: `rate = 1000, paid_broadcast = true` to 20,000 (quick: 2,000): deliveries per second ÷ 1000
  (target ≥ 0.95).

Both: 429s (target 0), the edits the double accepted, duplicates.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import tempfile
from dataclasses import dataclass
from pathlib import Path

from bench.common import FIRST_CHAT, OFFICER, config_file, launch, queue_warning, seed, services, subfolder
from bench.context import Context
from bench.double import BenchBotAPI, Tally, counted_rate
from bench.processes import Measured, wait_polling
from bench.report import at_least, exactly

FREE, PAID = 30, 1000
SETTLE = 4.0  # seconds after the last delivery: the last progress edit and the final report


def add_arguments(group: argparse._ArgumentGroup) -> None:
    group.add_argument("--limit-free-recipients", type=int, help="default 1,500 (quick: 150)")
    group.add_argument("--limit-paid-recipients", type=int, help="default 20,000 (quick: 2,000)")


@dataclass
class Run:
    label: str
    count: int
    limit: int
    lines: tuple[str, ...]
    target: float

    @property
    def chats(self) -> range:
        return range(FIRST_CHAT, FIRST_CHAT + self.count)


async def run(ctx: Context) -> None:
    runs = [
        Run("free", ctx.args.limit_free_recipients or ctx.size(1_500, 150), FREE, (f"dispatch.rate = {FREE}",), 0.97),
        Run("paid", ctx.args.limit_paid_recipients or ctx.size(20_000, 2_000), PAID,
            (f"dispatch.rate = {PAID}", "dispatch.paid_broadcast = true"), 0.95),
    ]  # fmt: skip
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        async with contextlib.AsyncExitStack() as stack:
            # both bots start at once (the paid one idles while the free one is measured, at 30/s)
            bots = []
            for each in runs:
                api = await stack.enter_async_context(BenchBotAPI())
                api.set_rate_limit(global_per_sec=FREE, per_chat_per_sec=1, group_per_min=20, count_edits=True)
                lines = (*each.lines, 'dispatch.progress_interval = "3s"')
                config = config_file(subfolder(folder, each.label), api, None, *lines)
                bots.append((each, api, config, await stack.enter_async_context(launch(ctx, each.label, config, api))))
            for each, _, config, _ in bots:
                async with services(config) as built:
                    await seed(built.database, each.chats, ("heping",))
            for each, api, config, bot in bots:
                await wait_polling(api, bot)
                await one(ctx, each, api, config, bot)


async def one(ctx: Context, each: Run, api: BenchBotAPI, config: Path, bot: Measured) -> None:
    label, count, limit = each.label, each.count, each.limit
    ctx.log(f"{label}: {count:,} recipients at {limit}/s with progress edits every 3 s")
    async with services(config) as built:
        await queue_warning(built, report=True)
    tally = Tally(api, each.chats, count)
    within = count / limit * 2 + 120
    async with ctx.progress(lambda: f"{label}: {tally.count:,}/{count:,} delivered"):
        await bot.profile()
        if not await tally.wait(within, bot.alive):
            raise TimeoutError(f"{label}: {tally.count:,} of {count:,} delivered in {within:.0f} s")
        await asyncio.sleep(SETTLE)
    edits = [status for _, status in api.statuses("editMessageText")]
    accepted_edits = sum(1 for status in edits if status == 200)
    reports = len(api.messages(OFFICER))
    requests, counted_per_second = counted_rate(api, tally.first, tally.last)
    span = tally.last - tally.first
    if label == "free":
        ctx.row(f"{label}: counted requests/s ÷ {limit}", counted_per_second / limit, target=at_least(each.target),
                note=f"{requests:,} requests (deliveries, progress message, edits) in {span:.1f} s; "
                     f"deliveries alone {tally.rate():.2f}/s; most in any second {api.max_in_window()}")  # fmt: skip
    else:
        ctx.row(f"{label}: deliveries/s ÷ {limit}", tally.rate() / limit, target=at_least(each.target),
                note=f"{tally.rate():.1f} msg/s over {span:.1f} s")  # fmt: skip
    ctx.row(f"{label}: 429s", api.rate_limited, target=exactly(0))
    ctx.row(f"{label}: progress edits accepted", accepted_edits,
            note=f"of {len(edits)} edits; {reports} message(s) to the officer")  # fmt: skip
    ctx.row(f"{label}: duplicates", tally.duplicates, target=exactly(0))
