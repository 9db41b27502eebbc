"""Stopping a polling bot (`Application.stop`, as the sandbox and the tests do): the update being handled
finishes and its reply goes out, then the HTTP session and the database close, and nothing opens them again.

(The webhook side of this is in test_webhook.py; the real process's SIGTERM in test_process.py.)
"""

from __future__ import annotations

import asyncio
import gc
import warnings
from pathlib import Path

from alertbot.sandbox.botapi import FakeBotAPI
from tests.harness import Person, make_config, running_bot


async def test_stop_lets_the_update_being_handled_finish_then_closes_the_session(
    api: FakeBotAPI, db_path: Path
) -> None:
    async with running_bot(make_config(api, db_path)) as bot:
        await Person(api, 702, "en").say("/start")
        api.delay("sendMessage", 2.0)  # the reply is slow: the update is still being handled when the stop comes
        api.send_text(702, "/subscribe tiexi")
        await api.wait_until(lambda: any("Tiexi" in p.get("text", "") for m, p in api.requests if m == "sendMessage"))
        await asyncio.wait_for(bot.stop(), 15)
        assert [m["text"] for m in api.messages(702) if "Tiexi" in m["text"]], "the reply being sent was lost"
        session = bot.bot.session._session  # aiogram's aiohttp session: a request after the close opens another
        assert session is None or session.closed, "a request after the stop opened a new HTTP session"
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ResourceWarning)
        gc.collect()
    assert not [w for w in caught if "Unclosed" in str(w.message)], [str(w.message) for w in caught]
