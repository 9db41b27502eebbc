"""The officials' chat flows whose subject is what they store, run on SQLite and on PostgreSQL.

Most chat tests are about the conversation and run on SQLite only; these send what goes into bounded
columns (a scheduled warning's duplicate key, officials' names in the audit log) through the real chat.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC

import pytest

from alertbot.app import Application
from alertbot.config import AppConfig
from alertbot.sandbox.botapi import FakeBotAPI
from tests.bounds import assert_values_fit
from tests.e2e.test_alert_chat import GAS_LEAK_ANSWERS, OFFICER, broadcast_id, compose
from tests.e2e.test_alert_schedule_chat import ask_for_time, in_two_minutes, scheduled_notice, short, utc
from tests.harness import Person, delivery_rows, make_config

MakePerson = Callable[..., Person]
HEPING = {2001: "zh-hans", 2002: "en"}


@pytest.fixture
def config(api: FakeBotAPI, backend_url: str) -> AppConfig:
    return make_config(
        api,
        backend_url,
        bot={"throttle_rate": 100.0, "throttle_burst": 100},  # the script taps faster than any person
        dispatch={"progress_interval": 0.2},
    )


async def test_a_warning_sent_at_a_later_time_from_the_chat(
    bot: Application, api: FakeBotAPI, person: MakePerson
) -> None:
    for chat, language in HEPING.items():
        await person(chat, language).say("/subscribe heping")
    officer = person(OFFICER, "en")
    composed = await compose(officer, "Gas leak", GAS_LEAK_ANSWERS, ["Heping"])
    await ask_for_time(officer, composed.confirm)
    typed, moment = await in_two_minutes()
    question = await officer.say(typed)
    await officer.tap(question, f"🔴 SEND LIVE to 2 at {short(moment)}")
    outcome = officer.current(question)
    assert f"is scheduled for {typed} to 2 recipients (LIVE)" in outcome["text"], outcome["text"]
    number = broadcast_id(outcome)
    rows = await delivery_rows(bot.services.database, number)
    assert {(row.state, utc(row.not_before)) for row in rows} == {("pending", moment.astimezone(UTC))}
    await assert_values_fit(bot.services.database)

    notice = await scheduled_notice(api, OFFICER, number)
    await officer.tap(notice, "✖️ Cancel this scheduled warning")
    assert f"#{number} was cancelled: 2 messages will not be sent." in officer.current(notice)["text"]
    assert [e.action for e in await bot.services.audit.entries() if e.actor_id == OFFICER][-2:] == [
        "schedule",
        "cancel",
    ]
