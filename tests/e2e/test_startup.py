"""Starting the bot while Telegram refuses the command menus: polling, the dispatcher and the scheduler
start at once; the menus follow in the background (retry_after honoured, bounded backoff).

An official listed in the config who never opened the bot is a chat Telegram does not know: a
setMyCommands scoped to it answers 400 "chat not found" until they open the bot.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

from alertbot.config import AppConfig
from alertbot.content.i18n import Translator
from alertbot.core.domain import Severity
from alertbot.sandbox.botapi import ApiError, FakeBotAPI
from alertbot.services.drafts import AlertDraft
from alertbot.telegram import commands
from tests.harness import Person, make_config, running_bot

OFFICER, SUPERVISOR, TIEXI_OFFICER = 1001, 1002, 1003
RESIDENT = 3001
OFFICIAL_COMMANDS = ["alert", "campaigns", "stats"]
LEAK = {"location": "北二马路 12 号", "hotline": "96177"}


class ScopedChatsAPI(FakeBotAPI):
    """The double, with a command scope's chat treated like any other chat parameter (as Telegram does):
    `forget_chat(id)` then also makes setMyCommands scoped to that chat answer 400 "chat not found"."""

    @staticmethod
    def _param_chat_id(params: dict[str, Any]) -> int | None:
        chat_id = FakeBotAPI._param_chat_id(params)
        scope = params.get("scope")
        if chat_id is None and isinstance(scope, dict):
            chat_id = FakeBotAPI._param_chat_id(scope)
        return chat_id


@pytest.fixture
async def api() -> AsyncIterator[FakeBotAPI]:
    async with ScopedChatsAPI() as fake:
        yield fake
        fake.assert_no_spec_violations()
        assert fake.unanswered_callbacks() == [], "callback queries left unanswered"


@pytest.fixture
def config(api: FakeBotAPI, db_path: Path) -> AppConfig:
    return make_config(api, db_path, dispatch={"progress_interval": "1s"})


def chat_menu(api: FakeBotAPI, chat_id: int) -> list[str]:
    return [c["command"] for c in api.commands({"type": "chat", "chat_id": chat_id})]


def default_menus(api: FakeBotAPI) -> dict[str, list[str]]:
    """The everyone-menus that are set, by language code ("" = for any other language)."""
    menus = {code: api.commands(None, code) or api.commands({"type": "default"}, code) for code in ("zh", "en", "")}
    return {code: [c["command"] for c in menu] for code, menu in menus.items() if menu}


async def eventually(predicate: Callable[[], Any], timeout: float) -> float:
    """Poll until `predicate()` is true; returns the monotonic time it became true."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout}s")
        await asyncio.sleep(0.02)
    return time.monotonic()


def menu_errors(api: FakeBotAPI) -> list[tuple[Any, str]]:
    return [(p.get("scope"), str(e)) for m, p, e in api.errors if m == "setMyCommands"]


async def test_official_who_never_opened_the_bot_does_not_stop_it(
    api: FakeBotAPI, config: AppConfig, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(commands, "RETRY_MAX", 0.5, raising=False)  # retry the unknown chat often, so the test is short
    api.forget_chat(TIEXI_OFFICER)
    async with running_bot(config) as bot:
        # the bot answers a resident at once
        anna = Person(api, RESIDENT, "en")
        welcome = await anna.say("/start", timeout=2)
        assert "resident or for a business" in welcome["text"]
        assert "Subscribed to: Heping" in (await anna.say("/subscribe heping", timeout=2))["text"]

        # the dispatcher runs: a warning reaches the resident
        confirmation = await bot.services.alerts.confirm(
            OFFICER, AlertDraft(template_id="gas_leak", variables=LEAK, districts=("heping",), severity=Severity.SEVERE)
        )
        assert confirmation.outcome == "queued"
        await api.wait_for_message(RESIDENT, contains="Gas leak", timeout=5)
        assert bot.leadership.leading.is_set()
        assert bot.scheduler.scheduler is not None and bot.scheduler.scheduler.running  # the campaign scheduler

        # everyone's menus and those of the officials Telegram knows are set; the unknown chat was refused
        await eventually(lambda: set(default_menus(api)) == {"zh", "en", ""}, timeout=2)
        await eventually(lambda: chat_menu(api, OFFICER) and chat_menu(api, SUPERVISOR), timeout=2)
        assert chat_menu(api, OFFICER)[-3:] == OFFICIAL_COMMANDS
        assert ({"type": "chat", "chat_id": TIEXI_OFFICER}, "400 Bad Request: chat not found") in menu_errors(api)
        assert chat_menu(api, TIEXI_OFFICER) == []

        # once that official exists for Telegram, the background retry sets their menu
        refused = len(menu_errors(api))
        await eventually(lambda: len(menu_errors(api)) > refused, timeout=3)  # it keeps trying
        api.unblock(TIEXI_OFFICER)
        await eventually(lambda: chat_menu(api, TIEXI_OFFICER), timeout=3)
        assert chat_menu(api, TIEXI_OFFICER)[-3:] == OFFICIAL_COMMANDS
        menus = bot.dispatcher["menus"]
    assert menus.stopped, "the menu task stops with the bot"


async def test_official_who_opens_the_bot_gets_their_menu(
    api: FakeBotAPI, config: AppConfig, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(commands, "RETRY_FIRST", 60.0, raising=False)  # the background retry would come much later
    api.forget_chat(TIEXI_OFFICER)
    async with running_bot(config):
        await eventually(lambda: ({"type": "chat", "chat_id": TIEXI_OFFICER}, "400 Bad Request: chat not found")
                         in menu_errors(api), timeout=2)  # fmt: skip
        api.unblock(TIEXI_OFFICER)  # they open the bot
        official = Person(api, TIEXI_OFFICER, "en")
        welcome = await official.say("/start", timeout=2)
        assert "resident or for a business" in welcome["text"]
        await eventually(lambda: chat_menu(api, TIEXI_OFFICER), timeout=1)
        assert chat_menu(api, TIEXI_OFFICER)[-3:] == OFFICIAL_COMMANDS
        english = [c.model_dump(exclude_none=True) for c in commands.commands_for(Translator(), "en", official=True)]
        assert api.commands({"type": "chat", "chat_id": TIEXI_OFFICER}) == english  # in their language
        # a resident's /start does not set a menu of their own
        await Person(api, RESIDENT, "en").say("/start", timeout=2)
        assert chat_menu(api, RESIDENT) == []


async def test_flood_wait_at_startup_is_waited_out_in_the_background(api: FakeBotAPI, config: AppConfig) -> None:
    api.fail_next("setMyCommands", ApiError.too_many_requests(2))
    async with running_bot(config):
        anna = Person(api, RESIDENT, "en")
        welcome = await anna.say("/start", timeout=1.5)
        assert "resident or for a business" in welcome["text"]
        answered = time.monotonic()
        await eventually(lambda: menu_errors(api), timeout=1)
        refused_at = time.monotonic()
        assert default_menus(api) == {}  # nothing else was tried while Telegram asked to wait
        set_at = await eventually(
            lambda: set(default_menus(api)) == {"zh", "en", ""} and all(
                chat_menu(api, c) for c in (OFFICER, SUPERVISOR, TIEXI_OFFICER)
            ),
            timeout=6,
        )  # fmt: skip
        assert set_at - refused_at > 1.5, "retry_after is honoured"
        assert answered < set_at
        assert len(menu_errors(api)) == 1  # one 429, then no request before the wait was over


async def test_server_errors_at_startup_are_retried_with_backoff(api: FakeBotAPI, config: AppConfig) -> None:
    api.fail_next("setMyCommands", ApiError.server_error())
    api.fail_next("setMyCommands", ApiError.bad_gateway())
    async with running_bot(config):
        anna = Person(api, RESIDENT, "en")
        welcome = await anna.say("/start", timeout=1.5)
        assert "resident or for a business" in welcome["text"]
        await eventually(
            lambda: set(default_menus(api)) == {"zh", "en", ""} and all(
                chat_menu(api, c) for c in (OFFICER, SUPERVISOR, TIEXI_OFFICER)
            ),
            timeout=8,
        )  # fmt: skip
        assert [error for _, error in menu_errors(api)] == ["500 Internal Server Error", "502 Bad Gateway"]
        assert default_menus(api)["en"] == list(commands.RESIDENT_COMMANDS)
        assert chat_menu(api, SUPERVISOR)[-3:] == OFFICIAL_COMMANDS


async def test_menus_that_keep_failing_stop_with_the_bot(api: FakeBotAPI, config: AppConfig) -> None:
    api.fail_next("setMyCommands", ApiError.server_error(), times=1000)
    started = time.monotonic()
    async with running_bot(config) as bot:
        assert "resident or for a business" in (await Person(api, RESIDENT, "en").say("/start", timeout=1.5))["text"]
        await eventually(lambda: len(menu_errors(api)) >= 2, timeout=5)
        menus = bot.dispatcher["menus"]
        assert not menus.stopped
    assert menus.stopped
    assert time.monotonic() - started < 10
