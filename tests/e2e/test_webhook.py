"""Webhook mode in one process: setWebhook at start, updates posted by the double, the secret, a graceful stop."""

from __future__ import annotations

import asyncio
from pathlib import Path

import aiohttp

from alertbot.config import AppConfig
from alertbot.sandbox.botapi import FakeBotAPI
from tests.harness import Person, free_port, make_config, running_bot

SECRET = "s3cret_Webhook-token"


def webhook_config(api: FakeBotAPI, db_path: Path, **sections: dict[str, object]) -> tuple[AppConfig, str]:
    port = free_port()
    hook = f"http://127.0.0.1:{port}/tg/hook"
    config = make_config(
        api, db_path, telegram={"token": api.token, "api_base": api.base_url, "mode": "webhook",
                                "webhook_url": hook, "webhook_secret": SECRET},
        server={"port": port}, **sections,
    )  # fmt: skip
    return config, hook


async def test_webhook_mode_sets_the_webhook_and_answers_updates_posted_to_it(api: FakeBotAPI, db_path: Path) -> None:
    config, hook = webhook_config(api, db_path)
    async with running_bot(config) as bot:
        await api.wait_until(lambda: api.calls("setWebhook"), timeout=5)
        anna = Person(api, 501, "en")
        reply = await anna.say("/subscribe heping")
        assert "Heping" in reply["text"]
        subscriber = await bot.services.subscriptions.get(501)
        assert subscriber is not None and subscriber.districts == ("heping",)
    (set_webhook,) = api.calls("setWebhook")
    assert set_webhook["url"] == hook and set_webhook["secret_token"] == SECRET
    assert set_webhook.get("drop_pending_updates") in (None, False)
    assert {"message", "callback_query"} <= set(set_webhook["allowed_updates"])
    assert api.calls("getUpdates") == [], "webhook mode must not poll"
    assert {status for _, _, status in api.webhook.posts} == {200}


async def test_a_wrong_or_missing_secret_gets_401_and_changes_nothing(api: FakeBotAPI, db_path: Path) -> None:
    config, hook = webhook_config(api, db_path)
    sender = {"id": 601, "is_bot": False, "first_name": "M", "language_code": "en"}
    update = {"update_id": 1, "message": {"message_id": 1, "date": 0, "text": "/subscribe heping",
              "chat": {"id": 601, "type": "private"}, "from": sender,
              "entities": [{"type": "bot_command", "offset": 0, "length": 10}]}}  # fmt: skip
    async with running_bot(config) as bot, aiohttp.ClientSession() as http:
        for headers in ({}, {"X-Telegram-Bot-Api-Secret-Token": "wrong"}, {"X-Telegram-Bot-Api-Secret-Token": ""},
                        {"X-Telegram-Bot-Api-Secret-Token": SECRET[:-1]}):  # fmt: skip
            async with http.post(hook, json=update, headers=headers) as response:
                assert response.status == 401, headers
        await asyncio.sleep(0.5)
        assert api.messages(601) == []
        assert await bot.services.subscriptions.get(601) is None
        async with http.post(hook, json=update, headers={"X-Telegram-Bot-Api-Secret-Token": SECRET}) as response:
            assert response.status == 200  # the same update with the secret is handled
        await api.wait_for_message(601, contains="Heping")


async def test_sigterm_lets_the_update_being_handled_finish_and_takes_no_more(api: FakeBotAPI, db_path: Path) -> None:
    config, hook = webhook_config(api, db_path)
    async with running_bot(config) as bot:
        await api.wait_until(lambda: api.calls("setWebhook"), timeout=5)
        api.delay("sendMessage", 1.5)  # the reply is slow: the update is still being handled when the stop comes
        api.send_text(701, "/subscribe tiexi")
        await api.wait_until(lambda: bot.webhook is not None and bot.webhook.in_flight, timeout=5)
        stopping = asyncio.create_task(bot.stop())
        await asyncio.sleep(0.2)
        headers = {"X-Telegram-Bot-Api-Secret-Token": SECRET}
        async with aiohttp.ClientSession() as http, http.post(hook, json={"update_id": 9}, headers=headers) as late:
            assert late.status == 503, "a stopping instance must not take new updates"
        await stopping
        assert [m["text"] for m in api.messages(701) if "Tiexi" in m["text"]], "the in-flight update's reply was lost"
        assert await bot.services.subscriptions.get(701) is not None


async def test_a_half_finished_onboarding_survives_a_restart(api: FakeBotAPI, db_path: Path) -> None:
    """Without Redis the flow's state is in the database: the restarted bot continues where the person was."""
    owner = Person(api, 801, "en")
    async with running_bot(make_config(api, db_path)):
        welcome = await owner.say("/start")
        await owner.tap(welcome, "🏪 Business")
        await owner.tap(welcome, "Restaurant / catering")
        assert "name of your business" in owner.current(welcome)["text"]
    async with running_bot(make_config(api, db_path)) as restarted:
        picker = await owner.say("Grill 66")  # the answer to the question asked before the restart
        await owner.tap(picker, "Heping")
        await owner.tap(picker, "✔️ Done")
        subscriber = await restarted.services.subscriptions.get(801)
        assert subscriber is not None and subscriber.business_name == "Grill 66"
        assert set(subscriber.districts) == {"heping"}


async def test_a_surge_is_handled_a_bounded_number_at_a_time(api: FakeBotAPI, db_path: Path) -> None:
    """Answered at once, but handled at most `concurrent_updates` at a time: a surge waits its turn instead of
    exhausting the database's (or Redis's) connections (5,000 at once did, before)."""
    config, _ = webhook_config(api, db_path)
    config = config.model_copy(update={"telegram": config.telegram.model_copy(update={"concurrent_updates": 8})})
    async with running_bot(config) as bot, aiohttp.ClientSession() as http:
        await api.wait_until(lambda: api.calls("setWebhook"), timeout=5)
        api.delay("sendMessage", 0.2)  # each handler stays busy while it answers
        chats = range(90_000, 90_120)
        for chat in chats:
            api.send_text(chat, "/start", language_code="en")
        peak = 0
        metrics = f"http://127.0.0.1:{bot.server.port}/metrics"
        while sum(1 for c in chats if api.messages(c)) < len(chats):
            async with http.get(metrics) as response:
                page = await response.text()
            now = next(float(line.split()[-1]) for line in page.splitlines()
                       if line.startswith("alertbot_updates_in_progress "))  # fmt: skip
            peak = max(peak, now)
            await asyncio.sleep(0.05)
        assert api.pending_updates() == 0
    assert 6 <= peak <= 8, f"{peak} updates were handled at once"
