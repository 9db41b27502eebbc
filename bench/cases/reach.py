"""A district of 100,000 with a channel: how soon is everyone reached, and was the preview's ETA honest?

100,000 residents of Heping (quick: 5,000) and its channel @heping_alerts on the double, which enforces
Telegram's limits (30/s free, 1000/s paid, 20/min per channel). The config pays for extreme warnings
(`paid_for = ["extreme"]`, `paid_rate = 1000`) and queues them without a supervisor (the case measures the
send, not the approval). The officer previews a gas explosion warning (its ETA), confirms it from this
process as the CLI would, and `alertbot run` sends it. On the double's clock: confirm → the channel post
(target < 2 s), confirm → the last direct message, and that against the preview's ETA (within 10%).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from alertbot.services.container import Services
from alertbot.services.drafts import AlertDraft
from bench.common import FIRST_CHAT, OFFICER, config_file, prepared_alertbot, seed, services
from bench.context import Context
from bench.double import BenchBotAPI, Tally
from bench.report import below, exactly, within

CHANNEL = -1001000000001
HEPING = 'name = { zh = "和平区", en = "Heping" }'
EXPLOSION = {"location": "太原北街 5 号一楼餐馆"}


def add_arguments(group: argparse._ArgumentGroup) -> None:
    group.add_argument("--reach-recipients", type=int, help="default 100,000 (quick: 5,000)")


async def run(ctx: Context) -> None:
    people = ctx.args.reach_recipients or ctx.size(100_000, 5_000)
    chats = range(FIRST_CHAT, FIRST_CHAT + people)
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        async with BenchBotAPI() as api:
            api.set_rate_limit(global_per_sec=30, per_chat_per_sec=1, group_per_min=20)
            api.add_channel(CHANNEL, username="heping_alerts", title="和平区预警", members=people)
            lines = (
                "dispatch.rate = 30", 'dispatch.paid_for = ["extreme"]', "dispatch.paid_rate = 1000",
                "alerts.approval_severities = []",
            )  # fmt: skip
            config = config_file(folder, api, None, *lines)
            text = config.read_text(encoding="utf-8")
            config.write_text(text.replace(HEPING, f'{HEPING}\nchannels = {{ zh = "@heping_alerts" }}', 1), "utf-8")

            async def prepare(built: Services) -> None:
                await seed(built.database, chats, ("heping",))

            async with services(config) as built, prepared_alertbot(ctx, "alertbot", config, api, prepare) as (bot, _):
                draft = AlertDraft("gas_explosion", EXPLOSION, ("heping",))
                preview = await built.alerts.preview(OFFICER, draft)
                assert preview.estimate is not None and preview.estimate.paid, preview.estimate
                post = Tally(api, {CHANNEL}, 1)
                direct = Tally(api, chats, people)
                confirmation = await built.alerts.confirm(OFFICER, preview.draft)
                confirmed = time.monotonic()
                assert confirmation.outcome == "queued", confirmation.outcome
                wait = preview.estimate.seconds * 2 + 60
                async with ctx.progress(lambda: f"{direct.count:,}/{people:,} delivered"):
                    if not await direct.wait(wait, bot.alive) or not await post.wait(10, bot.alive):
                        raise TimeoutError(f"{direct.count} of {people} reached in {wait:.0f} s")
            limited = api.rate_limited
    eta, real = preview.estimate.seconds, direct.last - confirmed
    ctx.row("confirm → channel post", post.first - confirmed, "s", target=below(2.0),
            note=f"one post reaches its {people:,} members")  # fmt: skip
    ctx.row("confirm → first direct message", direct.first - confirmed, "s")
    ctx.row("confirm → last direct message", real, "s", note=f"paid at {preview.estimate.rate:g}/s")
    ctx.row("preview's ETA ÷ real time to the last", eta / real, target=within(0.10),
            note=f"ETA {eta:.1f} s, about {preview.estimate.stars:g} Stars")  # fmt: skip
    ctx.row("429s", limited, target=exactly(0))
    ctx.row("duplicates", direct.duplicates + post.duplicates, target=exactly(0))
