"""CPU per message: a bare aiogram send loop vs alertbot's whole path, both against an unlimited double.

20,000 recipients (quick: 2,000). The bare loop (`bench.clients.bare`: `Bot.send_message` with as many
requests at once as alertbot's sender allows at rate 1000, `OutboxSender.in_flight_limit` = 200, the same
text and the event loop `alertbot run` uses) runs in its own process; then `alertbot run` (SQLite file,
`dispatch.rate = 1000`, `paid_broadcast = true`) sends a warning queued beforehand, each against a double
of its own in this process. Each client's CPU seconds (user + system, /proc/PID/stat) are read when 10 %
and when 90 % of the recipients have their message (the steady middle of the send): messages per CPU-second
of each, and alertbot ÷ bare (target ≥ 0.9). Alertbot is paced at 980/s by design (2 % under 1000); the
bare loop goes as fast as the double answers, so both rates are shown, not compared. The same loop paced at
980/s is the like-for-like floor: alertbot ÷ paced bare (target ≥ 0.9), and paced bare ÷ bare shows how much of
the first ratio pacing alone takes from any sender (measured 0.57; releasing 20 sends every 20 ms, 0.60).
"""

from __future__ import annotations

import argparse
import contextlib
import tempfile
from functools import partial
from pathlib import Path

from bench.common import FIRST_CHAT, config_file, launch, queue_warning, seed, services, subfolder, warning_text
from bench.context import Context
from bench.double import BenchBotAPI, Tally
from bench.processes import client, wait_polling
from bench.report import at_least

RATE = 1000
CLIENT = "bench.clients.bare"
LINES = (f"dispatch.rate = {RATE}", "dispatch.paid_broadcast = true")
MARKS = (0.1, 0.9)


def add_arguments(group: argparse._ArgumentGroup) -> None:
    group.add_argument("--overhead-recipients", type=int, help="default 20,000 (quick: 2,000)")
    group.add_argument(
        "--overhead-concurrency", type=int, default=max(4, min(200, RATE // 4)),
        help="requests at once of the bare loop (alertbot's in_flight_limit at rate 1000)",
    )  # fmt: skip


def delivered(label: str, tally: Tally) -> str:
    return f"{label}: {tally.count:,}/{tally.expected:,} delivered"


def per_cpu_second(tally: Tally) -> tuple[float, float, float]:
    """(messages per CPU-second, CPU share of a core, ms of CPU per message) between the marks."""
    messages, seconds, cpu = tally.between_marks()
    return messages / cpu, cpu / seconds, cpu / messages * 1000


async def run(ctx: Context) -> None:
    count = ctx.args.overhead_recipients or ctx.size(20_000, 2_000)
    chats = range(FIRST_CHAT, FIRST_CHAT + count)
    within = count / 200 + 120
    paced = RATE * 0.98  # alertbot's pace at rate 1000 (it aims 2 % under the limit)
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        ctx.log(f"{count:,} recipients: bare aiogram, bare aiogram paced at {paced:g}/s, then alertbot")
        async with contextlib.AsyncExitStack() as stack:
            # every process starts at once; each waits for its turn (its go, or its warning queued)
            bare_apis = [await stack.enter_async_context(BenchBotAPI()) for _ in range(2)]
            bot_api = await stack.enter_async_context(BenchBotAPI())
            text = await warning_text(subfolder(folder, "text"), bot_api)
            bares = []
            for label, api, rate in (("bare", bare_apis[0], None), ("bare-paced", bare_apis[1], paced)):
                api.unlimited()
                spec = {
                    "base_url": api.base_url, "token": api.token, "first": chats.start, "count": count, "text": text,
                    "concurrency": ctx.args.overhead_concurrency, "paid": True, "rate": rate,
                }  # fmt: skip
                bares.append((label, api, await stack.enter_async_context(client(ctx, label, CLIENT, spec, folder))))
            bot_api.unlimited()
            config = config_file(subfolder(folder, "alertbot"), bot_api, None, *LINES)
            bot = await stack.enter_async_context(launch(ctx, "alertbot", config, bot_api))
            async with services(config) as built:
                await seed(built.database, chats, ("heping",))
            await wait_polling(bot_api, bot)

            tallies, results = [], []
            for label, api, process in bares:
                await process.ready()
                tally = Tally(api, chats, count, sample=process.cpu, marks=MARKS)
                await process.profile()
                process.go()
                async with ctx.progress(partial(delivered, label, tally)):
                    results.append(await process.result(within))
                tallies.append(tally)

            async with services(config) as built:
                await queue_warning(built)
            bot_tally = Tally(bot_api, chats, count, sample=bot.cpu, marks=MARKS)
            async with ctx.progress(partial(delivered, "alertbot", bot_tally)):
                await bot.profile()
                if not await bot_tally.wait(within, bot.alive):
                    raise TimeoutError(f"alertbot delivered {bot_tally.count:,} of {count:,} in {within:.0f} s")

    (bare_per_cpu, bare_share, bare_ms), (paced_per_cpu, paced_share, paced_ms) = map(per_cpu_second, tallies)
    bot_per_cpu, bot_share, bot_ms = per_cpu_second(bot_tally)
    middle = "between 10 % and 90 % delivered"
    ctx.row("bare aiogram: messages per CPU-second", bare_per_cpu, "msg/s",
            note=f"{bare_ms:.3f} ms of CPU per message, {bare_share:.2f} of a core, {middle}")  # fmt: skip
    ctx.row("alertbot: messages per CPU-second", bot_per_cpu, "msg/s",
            note=f"{bot_ms:.3f} ms of CPU per message, {bot_share:.2f} of a core, {middle}")  # fmt: skip
    ctx.row("alertbot ÷ bare (messages per CPU-second)", bot_per_cpu / bare_per_cpu, target=at_least(0.9))
    ctx.row("bare aiogram: achieved rate", tallies[0].rate(), "msg/s", note=f"{results[0]['failed']} failed sends")
    ctx.row("alertbot: achieved rate", bot_tally.rate(), "msg/s",
            note=f"paced at {paced:g}/s by design; duplicates {bot_tally.duplicates}")  # fmt: skip
    ctx.row(f"bare aiogram paced at {paced:g}/s: messages per CPU-second", paced_per_cpu, "msg/s",
            note=f"{paced_ms:.3f} ms of CPU per message, {paced_share:.2f} of a core; {tallies[1].rate():.0f} msg/s; "
                 "one ticker task releasing a token per send: what pacing alone costs")  # fmt: skip
    ctx.row("alertbot ÷ paced bare (messages per CPU-second)", bot_per_cpu / paced_per_cpu, target=at_least(0.9))
    ctx.row("paced bare ÷ bare (messages per CPU-second)", paced_per_cpu / bare_per_cpu,
            note="the loop held at Telegram's paid limit: the most a paced sender gets of the first ratio")  # fmt: skip
