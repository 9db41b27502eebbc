"""alertbot beside two broadcast libraries for aiogram, on the same recipients and the same 30 msg/s server.

900 recipients (quick: 120), of whom 3 % blocked the bot (403) and 1 % are chats Telegram does not know
(400 chat not found); the double enforces 30 messages/s for the token, 1/s per chat, 20/min per group.
Each client runs in its own process against a double of its own, one after another:

- alertbot: `alertbot run` (SQLite file, `rate = 30`) sending one warning;
- aiogram-broadcast: its BroadcastService with its defaults over its Redis storage (`bench.clients.broadcast`);
- aiogram_broadcaster: a Mailer with its default (no interval), and with a SimpleInterval of 1/30 s
  (`bench.clients.broadcaster`).

Per client: delivered ÷ reachable, lost (reachable but never delivered; target 0), requests/s the double
answered other than with a 429 ÷ 30, 429s (target 0), duplicates. The libraries need the `bench`
dependency group (`uv run --group bench ...`); without it, or without Redis, their rows say "not run".
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import importlib.util
import random
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from bench.common import (
    FIRST_CHAT,
    config_file,
    launch,
    queue_warning,
    redis_reason,
    seed,
    services,
    subfolder,
    warning_text,
)
from bench.context import Context
from bench.double import BenchBotAPI, Tally
from bench.processes import Client, Measured, client, wait_polling
from bench.report import exactly
from tests.harness import REDIS_TEST_URL

LIMIT = 30
BLOCKED, UNKNOWN = 0.03, 0.01


def add_arguments(group: argparse._ArgumentGroup) -> None:
    group.add_argument("--peers-recipients", type=int, help="default 900 (quick: 120)")
    group.add_argument(
        "--peers-interval", type=float, default=1 / LIMIT, help="aiogram_broadcaster's SimpleInterval, seconds"
    )


class Audience:
    """The recipients: who blocked the bot, who is unknown to Telegram, who can be reached."""

    def __init__(self, count: int) -> None:
        self.chats = range(FIRST_CHAT, FIRST_CHAT + count)
        picked = random.Random(10).sample(list(self.chats), round(count * BLOCKED) + round(count * UNKNOWN))
        self.blocked = set(picked[: round(count * BLOCKED)])
        self.unknown = set(picked[round(count * BLOCKED) :])
        self.reachable = set(self.chats) - self.blocked - self.unknown

    def limit(self, api: BenchBotAPI) -> None:
        api.set_rate_limit(global_per_sec=LIMIT, per_chat_per_sec=1, group_per_min=20)
        for chat in self.blocked:
            api.block(chat)
        for chat in self.unknown:
            api.forget_chat(chat)


async def run(ctx: Context) -> None:
    audience = Audience(ctx.args.peers_recipients or ctx.size(900, 120))
    ctx.log(
        f"{len(audience.chats)} recipients: {len(audience.reachable)} reachable, {len(audience.blocked)} blocked, "
        f"{len(audience.unknown)} unknown to Telegram; {LIMIT} msg/s"
    )
    libraries = await available(ctx)
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        async with contextlib.AsyncExitStack() as stack:
            # every process starts at once; each waits for its turn idle (the sends are paced at 30/s)
            api = await stack.enter_async_context(BenchBotAPI())
            audience.limit(api)
            text = await warning_text(subfolder(folder, "text"), api)
            config = config_file(subfolder(folder, "alertbot"), api, None, f"dispatch.rate = {LIMIT}")
            bot = await stack.enter_async_context(launch(ctx, "alertbot", config, api))
            clients = []
            for label, module, extra in libraries:
                client_api = await stack.enter_async_context(BenchBotAPI())
                audience.limit(client_api)
                spec = {"base_url": client_api.base_url, "token": client_api.token, "chats": list(audience.chats),
                        "text": text, **extra}  # fmt: skip
                slug = label.split()[0].replace("-", "_") + ("_interval" if "interval" in extra else "")
                process = await stack.enter_async_context(client(ctx, slug, module, spec, folder))
                clients.append((label, client_api, process))
            async with services(config) as built:
                await seed(built.database, audience.chats, ("heping",))
            await wait_polling(api, bot)
            await with_alertbot(ctx, audience, api, bot, config)
            for label, client_api, process in clients:
                await with_library(ctx, audience, label, client_api, process)


async def available(ctx: Context) -> list[tuple[str, str, dict[str, Any]]]:
    """(label, client module, job) of the libraries that can run here; rows that say why for the others."""
    missing = [m for m in ("aiogram_broadcast", "aiogram_broadcaster") if importlib.util.find_spec(m) is None]
    why = "the bench dependency group is not installed: uv run --group bench python -m bench peers"
    libraries: list[tuple[str, str, dict[str, Any]]] = []
    if "aiogram_broadcast" in missing:
        ctx.not_run("aiogram-broadcast", why)
    elif (reason := await redis_reason()) is not None:
        ctx.not_run("aiogram-broadcast", f"its storage needs Redis: {reason}")
    else:
        job = {"redis_url": REDIS_TEST_URL, "prefix": f"alertbot_bench_{uuid.uuid4().hex[:12]}"}
        libraries.append(("aiogram-broadcast", "bench.clients.broadcast", job))
    if "aiogram_broadcaster" in missing:
        ctx.not_run("aiogram_broadcaster", why)
    else:
        interval = ctx.args.peers_interval
        libraries.append(("aiogram_broadcaster (default)", "bench.clients.broadcaster", {}))
        label = f"aiogram_broadcaster (interval {interval:.4g} s)"
        libraries.append((label, "bench.clients.broadcaster", {"interval": interval}))
    return libraries


async def with_alertbot(ctx: Context, audience: Audience, api: BenchBotAPI, bot: Measured, config: Path) -> None:
    async with services(config) as built:
        await queue_warning(built)
    tally = Tally(api, audience.reachable, len(audience.reachable))
    within = len(audience.chats) / LIMIT * 2 + 60
    async with ctx.progress(lambda: f"alertbot: {tally.count}/{len(audience.reachable)} delivered"):
        await bot.profile()
        await tally.wait(within, bot.alive)
        await wait_attempted(api, audience)
    rows(ctx, "alertbot", api, audience, tally)


async def wait_attempted(api: BenchBotAPI, audience: Audience, within: float = 10.0) -> None:
    """Until every unreachable chat was tried once (or `within` seconds)."""
    deadline = time.monotonic() + within
    unreachable = audience.blocked | audience.unknown
    while time.monotonic() < deadline:
        tried = {params.get("chat_id") for method, params, _ in api.errors if method == "sendMessage"}
        if unreachable <= tried:
            return
        await asyncio.sleep(0.2)


async def with_library(ctx: Context, audience: Audience, label: str, api: BenchBotAPI, process: Client) -> None:
    tally = Tally(api, audience.reachable, len(audience.reachable))
    await process.ready()
    process.go()
    async with ctx.progress(lambda: f"{label}: {tally.count}/{len(audience.reachable)} delivered"):
        result = await process.result(len(audience.chats) * 2 + 120)
    rows(ctx, label, api, audience, tally, note=f"its own count: {result}")


def rows(ctx: Context, label: str, api: BenchBotAPI, audience: Audience, tally: Tally, note: str = "") -> None:
    sends = api.statuses("sendMessage")
    answered = [at for at, status in sends if status != 429]
    span = max(1.0, sends[-1][0] - sends[0][0]) if sends else 1.0  # at least one of the server's windows
    rate = max(0, len(answered) - 1) / span
    reachable = len(audience.reachable)
    ctx.row(f"{label}: delivered ÷ reachable", tally.count / reachable,
            note=f"{tally.count} of {reachable}" + (f"; {note}" if note else ""))  # fmt: skip
    ctx.row(f"{label}: lost", reachable - tally.count, target=exactly(0))
    ctx.row(
        f"{label}: rate ÷ {LIMIT}", rate / LIMIT,
        note=f"{len(answered)} sends answered other than 429 in {span:.1f} s (first to last send, ≥ 1 s)",
    )  # fmt: skip
    ctx.row(f"{label}: 429s", api.rate_limited, target=exactly(0))
    ctx.row(f"{label}: duplicates", tally.duplicates, target=exactly(0))
