"""An extreme warning overtakes a long reminder broadcast: how soon after its confirm does it go out?

10,000 residents of Tiexi (quick: 1,000) are sent a seasonal reminder (a campaign run by the duty officer,
kind reminder, the lowest priority) by `alertbot run` (SQLite file) at the free limit of 30/s, which the
double enforces. Once the reminders flow, the officer confirms a gas explosion warning (severity extreme;
the case's config sends extreme warnings without a supervisor's approval, so the confirm queues it) to the
300 residents of Heping (quick: 60), from this process as the CLI would. On the double's clock: confirm
(committed) → first delivery of the warning (target < 1 s) and → its last delivery, beside the time 300
messages take at the limit; reminders delivered meanwhile; 429s.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from pathlib import Path

from alertbot.core.clock import utcnow
from alertbot.services.container import Services
from alertbot.services.drafts import AlertDraft
from bench.common import FIRST_CHAT, OFFICER, config_file, prepared_alertbot, seed, services
from bench.context import Context
from bench.double import BenchBotAPI, Tally
from bench.report import below, exactly

LIMIT = 30
CAMPAIGN = "bench_reminder"
REMINDER = f"""
[[campaigns]]
id = "{CAMPAIGN}"
template = "winter_co"
schedule = "0 19 * * 5"
audience = "all"
districts = ["tiexi"]
enabled = false  # run by the officer only
variables = {{ hotline = "96177" }}
"""
EXPLOSION = {"location": "太原北街 5 号一楼餐馆"}


def add_arguments(group: argparse._ArgumentGroup) -> None:
    group.add_argument("--preempt-reminders", type=int, help="default 10,000 (quick: 1,000)")
    group.add_argument("--preempt-recipients", type=int, help="of the warning; default 300 (quick: 60)")


async def run(ctx: Context) -> None:
    reminded = ctx.args.preempt_reminders or ctx.size(10_000, 1_000)
    warned = ctx.args.preempt_recipients or ctx.size(300, 60)
    reminder_chats = range(FIRST_CHAT, FIRST_CHAT + reminded)
    warning_chats = range(reminder_chats.stop, reminder_chats.stop + warned)
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        async with BenchBotAPI() as api:
            api.set_rate_limit(global_per_sec=LIMIT, per_chat_per_sec=1, group_per_min=20)
            lines = (f"dispatch.rate = {LIMIT}", 'bot.quiet_hours = ""', "alerts.approval_severities = []")
            config = config_file(folder, api, None, *lines, extra_toml=REMINDER)

            async def prepare(built: Services) -> None:
                await seed(built.database, reminder_chats, ("tiexi",))
                await seed(built.database, warning_chats, ("heping",))
                result = await built.campaigns.run_now(OFFICER, CAMPAIGN, utcnow())
                assert result.broadcast is not None, result
                ctx.log(f"reminder queued to {result.broadcast.recipients:,}")

            # the confirm's services are built (and its template compiled) before anything is measured: the
            # double shares this process's event loop, and must not stall while they are
            async with services(config) as built, prepared_alertbot(ctx, "alertbot", config, api, prepare) as (bot, _):
                draft = AlertDraft("gas_explosion", EXPLOSION, ("heping",))
                await built.alerts.preview(OFFICER, draft)
                reminders = Tally(api, reminder_chats, reminded)
                warnings = Tally(api, warning_chats, warned)
                await bot.profile()
                flowing = min(reminded // 2, 5 * LIMIT)  # about 5 s of reminders first
                while reminders.count < flowing:
                    bot.alive()
                    await asyncio.sleep(0.05)
                asked = time.monotonic()
                confirmation = await built.alerts.confirm(OFFICER, draft)
                confirmed = time.monotonic()
                assert confirmation.outcome == "queued", confirmation.outcome
                ctx.log(f"warning confirmed after {reminders.count:,} reminders")
                within = warned / LIMIT * 3 + 30
                async with ctx.progress(lambda: f"warning: {warnings.count}/{warned} delivered"):
                    if not await warnings.wait(within, bot.alive):
                        raise TimeoutError(f"the warning reached {warnings.count} of {warned} in {within:.0f} s")
            before = [t for t in reminders.times if t < confirmed]
            meanwhile = sum(1 for t in reminders.times if warnings.first <= t <= warnings.last)
            limited = api.rate_limited
    reminder_rate = (len(before) - 1) / (before[-1] - before[0]) if len(before) > 1 else 0.0
    ideal = warned / LIMIT
    note = f"the confirm itself took {confirmed - asked:.3f} s; reminders were going at {reminder_rate:.1f}/s"
    ctx.row("confirm → first delivery of the warning", warnings.first - confirmed, "s", target=below(1.0), note=note)
    ctx.row("confirm → last delivery of the warning", warnings.last - confirmed, "s",
            note=f"{warned} messages take {ideal:.1f} s at {LIMIT}/s")  # fmt: skip
    ctx.row(f"warning: delivered/s ÷ {LIMIT}", warnings.rate() / LIMIT)
    ctx.row("reminders delivered during the warning", meanwhile, note="between its first and last delivery")
    ctx.row("429s", limited, target=exactly(0))
    ctx.row("duplicates", reminders.duplicates + warnings.duplicates, target=exactly(0))
