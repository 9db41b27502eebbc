"""What the clients share: their job from the JSON file named on the command line, an aiogram Bot pointed at
the double, the event loop `alertbot run` uses (uvloop where installed), and the files through which the
driver starts them (so their imports are done before anything is measured) and reads what they counted."""

from __future__ import annotations

import asyncio
import json
import sys
import time
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

from aiogram import Bot
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.enums import ParseMode


def bot(spec: dict[str, Any]) -> Bot:
    """A plain aiogram Bot (aiogram's own aiohttp session) at the double, HTML by default like alertbot's."""
    session = AiohttpSession(api=TelegramAPIServer.from_base(spec["base_url"]))
    return Bot(spec["token"], session=session, default=DefaultBotProperties(parse_mode=ParseMode.HTML))


def loop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    try:
        import uvloop
    except ImportError:
        return None
    return uvloop.new_event_loop


def main(job: Callable[[dict[str, Any]], Coroutine[Any, Any, dict[str, Any]]]) -> None:
    """Say it is ready (everything is imported: `ready_file`), wait for `go_file`, run `job(spec)`, and write
    its result to `result_file` (JSON)."""
    spec = json.loads(Path(sys.argv[1]).read_text(encoding="utf-8"))
    Path(spec["ready_file"]).touch()
    go = Path(spec["go_file"])
    while not go.exists():
        time.sleep(0.002)
    with asyncio.Runner(loop_factory=loop_factory()) as runner:
        result = runner.run(job(spec))
    Path(spec["result_file"]).write_text(json.dumps(result), encoding="utf-8")
