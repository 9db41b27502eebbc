"""The sandbox without a browser: its population subscribes through the real bot, and its page's routes check
every input, stream every change, and stay on 127.0.0.1 with a made-up token."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from alertbot.config import load_config
from alertbot.core.domain import BroadcastStatus, Severity, SubscriberKind
from alertbot.sandbox.botapi import FakeBotAPI
from alertbot.sandbox.panel import Panel
from alertbot.sandbox.people import PopulationProgress
from alertbot.sandbox.runner import Sandbox, SandboxOptions
from alertbot.services.container import build_services
from tests.e2e.test_faults import OFFICER, SUPERVISOR, gas_leak
from tests.harness import EXAMPLE_CONFIG, make_config, seed_residents

RESIDENTS = 40


@contextlib.asynccontextmanager
async def running_sandbox(folder: Path, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[tuple[Sandbox, str]]:
    monkeypatch.setenv("ALERTBOT_TELEGRAM_TOKEN", "123:the-real-token")
    sandbox = Sandbox(load_config(EXAMPLE_CONFIG), SandboxOptions(port=0, residents=RESIDENTS, folder=folder))
    ready: asyncio.Future[str] = asyncio.get_running_loop().create_future()
    run = asyncio.create_task(sandbox.run(ready.set_result))
    try:
        url = await asyncio.wait_for(asyncio.shield(ready), 30)
        yield sandbox, url
    finally:
        assert sandbox.application is not None
        await sandbox.application.stop()  # as Ctrl-C does: the bot stops, then the page and the server
        await asyncio.wait_for(run, 30)


async def events(session: aiohttp.ClientSession, url: str, wanted: int) -> list[tuple[str, Any]]:
    """The first *wanted* message events of the page's event stream."""
    found: list[tuple[str, Any]] = []
    async with session.get(url + "sandbox/events") as response:
        assert response.headers["Content-Type"].startswith("text/event-stream")
        name = None
        async for raw in response.content:
            line = raw.decode().rstrip("\n")
            if line.startswith("event: "):
                name = line.removeprefix("event: ")
            elif line.startswith("data: ") and name == "message":
                found.append((name, json.loads(line.removeprefix("data: "))))
                if len(found) >= wanted:
                    return found
    return found


async def test_the_population_subscribes_through_the_bot_and_the_page_checks_every_input(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with running_sandbox(tmp_path / "sandbox", monkeypatch) as (sandbox, url), aiohttp.ClientSession() as http:
        application = sandbox.application
        assert application is not None
        assert application.config.telegram.api_base == sandbox.api.base_url.rstrip("/")
        assert application.config.token == sandbox.api.token != "123:the-real-token"
        assert sandbox.api.base_url.startswith("http://127.0.0.1:") and url.startswith("http://127.0.0.1:")

        async with http.get(url) as page:  # the page itself (alertbot/sandbox/static)
            assert page.status == 200 and "script-src 'self'" in page.headers["Content-Security-Policy"]
            assert "SANDBOX" in await page.text()
        await sandbox.api.wait_until(
            lambda: sandbox._onboarding is not None and sandbox._onboarding.progress.ready, timeout=60
        )
        async with http.get(url + "sandbox/state") as response:
            state = await response.json()
        assert [p["id"] for p in state["personas"]] == ["resident", "restaurant", "officer", "supervisor"]
        assert state["population"]["subscribed"] == RESIDENTS and state["population"]["failed"] == 0
        subscribers = application.services.subscriptions
        for person in (10_000_000, 10_000_001, 10_000_005):  # typed /subscribe, and through the buttons
            stored = await subscribers.get(person)
            assert stored is not None and stored.districts, person
        kinds = [getattr(await subscribers.get(10_000_000 + n), "kind", None) for n in range(RESIDENTS)]
        assert None not in kinds and SubscriberKind.BUSINESS in kinds and SubscriberKind.RESIDENT in kinds

        stream = asyncio.create_task(events(http, url, wanted=2))
        await asyncio.sleep(0.2)
        async with http.post(url + "sandbox/chats/resident/messages", json={"text": "/start"}) as response:
            assert response.status == 202
        (_, mine), (_, welcome) = await asyncio.wait_for(stream, 10)
        assert mine["persona"] == "resident" and mine["message"]["from"] == "user"
        assert welcome["message"]["from"] == "bot" and "居民" in welcome["message"]["html"]
        buttons = [b for row in welcome["message"]["buttons"] for b in row]
        message_id = welcome["message"]["id"]

        async with http.get(url + "sandbox/chats/resident") as response:
            chat = await response.json()
        assert [m["key"] for m in chat["messages"]] == [mine["message"]["key"], welcome["message"]["key"]]
        assert {c["command"] for c in chat["commands"]} >= {"start", "subscribe"}

        refusals = [
            ("chats/nobody/messages", {"text": "hi"}, 404),
            ("chats/resident/messages", {"text": "  "}, 400),
            ("chats/resident/messages", {"text": "x" * 4097}, 400),
            ("chats/resident/messages", ["not", "an", "object"], 400),
            ("chats/resident/taps", {"message_id": message_id, "data": "apv:1:1"}, 400),  # no such button there
            ("chats/resident/taps", {"message_id": 999, "data": buttons[0]["data"]}, 404),
            ("chats/resident/taps", {"message_id": "1", "data": buttons[0]["data"]}, 400),
        ]
        async with http.post(
            url + "sandbox/chats/officer/messages", data='{"text": "/alert"}', headers={"Content-Type": "text/plain"}
        ) as response:  # what another site's form could post
            assert response.status == 400
        async with http.get(url + "sandbox/state", headers={"Host": f"evil.example:{sandbox.page.port}"}) as response:
            assert response.status == 421  # DNS rebinding
        for path, body, status in refusals:
            async with http.post(url + "sandbox/" + path, json=body) as response:
                assert response.status == status, (path, body, await response.text())
                assert "error" in await response.json()
        async with http.post(
            url + "sandbox/chats/resident/taps", json={"message_id": message_id, "data": buttons[0]["data"]}
        ) as response:
            assert response.status == 200 and set(await response.json()) == {"text", "show_alert"}
        assert sandbox.api.unanswered_callbacks() == []
        assert sandbox.api.spec_violations == []


async def test_the_panel_follows_the_newest_warning_sent_or_awaiting_approval(api: FakeBotAPI, db_path: Path) -> None:
    config = make_config(api, db_path)
    services = await build_services(config)
    try:
        await seed_residents(services.database, range(9000, 9005), ("heping",))
        panel = Panel(api, services.broadcasts, config, PopulationProgress(total=0), personas={}, channels={})
        assert await panel.latest() is None
        sent = await services.alerts.confirm(OFFICER, gas_leak("heping"))
        latest = await panel.latest()
        assert latest is not None and latest.id == sent.broadcast.id
        grave = gas_leak("heping", severity=Severity.EXTREME)
        request = await services.alerts.confirm(OFFICER, grave, force_duplicate=True)
        latest = await panel.latest()
        assert latest is not None and latest.id == request.broadcast.id != sent.broadcast.id
        assert latest.status is BroadcastStatus.PENDING_APPROVAL
        await services.alerts.decide(SUPERVISOR, request.broadcast.id, approve=False)
        latest = await panel.latest()  # a rejected request went nowhere: the panel is back on what was sent
        assert latest is not None and latest.id == sent.broadcast.id
        assert (await panel.read())["broadcast"]["recipients"] == 5
    finally:
        await services.database.close()
