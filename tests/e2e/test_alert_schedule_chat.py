"""Officials' "⏰ Send at…" under the /alert preview and the scheduled notice's cancel button, end to end.

The real bot polls the Bot API test double. Times are typed in the bot's zone (Asia/Shanghai) a minute or
two ahead; nothing waits for them to come: the delivery rows show when they would be due, and cancelling
stops them.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from alertbot.app import Application
from alertbot.config import AppConfig
from alertbot.core.domain import BroadcastStatus
from alertbot.core.errors import ScheduleError
from alertbot.sandbox.botapi import FakeBotAPI
from tests.e2e.test_alert_chat import (
    GAS_LEAK_ANSWERS,
    HEPING_ALL,
    HEPING_EN,
    OFFICER,
    SKIP,
    SUPERVISOR,
    TIEXI,
    TIEXI_OFFICER,
    broadcast_id,
    compose,
    confirm_sent,
    counts,
    final_report,
    onboard_business,
)
from tests.harness import Person, delivery_rows, make_config

MakePerson = Callable[..., Person]
Message = dict[str, Any]

SHANGHAI = ZoneInfo("Asia/Shanghai")
RESIDENTS = (*HEPING_ALL, *TIEXI)
SEND_AT = "⏰ Send at…"


@pytest.fixture
def config(api: FakeBotAPI, db_path: Path) -> AppConfig:
    return make_config(
        api,
        db_path,
        bot={"throttle_rate": 100.0, "throttle_burst": 100},  # the script taps faster than any person
        dispatch={"progress_interval": 0.2},
    )


@pytest.fixture
async def community(bot: Application, person: MakePerson) -> None:
    """Heping: two Chinese and one English resident and a restaurant; Tiexi: one of each language."""
    for chat in (2001, 2002):
        await person(chat, "zh-hans").say("/subscribe heping")
    await person(HEPING_EN[0], "en").say("/subscribe heping")
    for chat, language in TIEXI.items():
        await person(chat, language).say("/subscribe tiexi")
    await onboard_business(person(2006, "en"), "Restaurant / catering", "Grill 66", "Heping")


async def in_two_minutes() -> tuple[str, datetime]:
    """A sending time as an official types it ("%Y-%m-%d %H:%M", Shanghai), 60-120 s ahead, and the moment.

    Just before a minute turns, the typed minute would be barely 60 s ahead by the time the bot checks it:
    wait for the new minute instead."""
    now = datetime.now(SHANGHAI)
    if now.second >= 58:
        await asyncio.sleep(60.5 - now.second - now.microsecond / 1e6)
        now = datetime.now(SHANGHAI)
    typed = (now + timedelta(minutes=2)).strftime("%Y-%m-%d %H:%M")
    return typed, datetime.strptime(typed, "%Y-%m-%d %H:%M").replace(tzinfo=SHANGHAI)


def short(moment: datetime) -> str:
    """How a confirm button names the time: without the year when it is this year."""
    same_year = moment.year == datetime.now(SHANGHAI).year
    return moment.strftime("%m-%d %H:%M" if same_year else "%Y-%m-%d %H:%M")


def utc(value: datetime) -> datetime:
    """A stored timestamp (SQLite returns it naive, in UTC) as an aware UTC datetime."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


async def ask_for_time(official: Person, confirm: Message) -> Message:
    """Tap "⏰ Send at…" under the preview; the confirm question becomes the prompt for the time."""
    answer = await official.tap(confirm, SEND_AT)
    assert not answer.get("show_alert"), answer
    prompt = official.current(confirm)
    assert "When should it be sent?" in prompt["text"] and "Asia/Shanghai" in prompt["text"], prompt["text"]
    assert "18:30" in prompt["text"] and "12-01 08:00" in prompt["text"] and "2026-12-01 08:00" in prompt["text"]
    assert official.button_texts(prompt) == ["Cancel"]
    return prompt


async def scheduled_notice(api: FakeBotAPI, chat_id: int, number: int) -> Message:
    """The reporter's "⏰ … scheduled for …" message, with its cancel button."""

    def find() -> Message | None:
        for message in api.messages(chat_id):
            if (("✖️ Cancel this scheduled warning", f"scx:{number}") in api.buttons(message)
                    and message["text"].startswith(f"⏰ #{number} ")):  # fmt: skip
                return message
        return None

    found: Message = await api.wait_until(find, timeout=5)
    return found


async def states(bot: Application, number: int) -> list[str]:
    return sorted(row.state for row in await delivery_rows(bot.services.database, number))


async def test_scheduled_warning_waits_for_its_time_and_is_cancelled_from_the_notice(
    bot: Application, api: FakeBotAPI, person: MakePerson, community: None
) -> None:
    officer = person(OFFICER, "en")
    composed = await compose(officer, "Gas leak", GAS_LEAK_ANSWERS, ["Heping"])
    assert officer.button_texts(composed.confirm) == ["🔴 SEND LIVE to 4", SEND_AT, "Cancel"]
    before = counts(api, RESIDENTS)

    prompt = await ask_for_time(officer, composed.confirm)
    assert "expired" in (await officer.tap(prompt, "aok:0"))["text"]  # nothing to confirm without a time
    typed, moment = await in_two_minutes()
    question = await officer.say(typed)
    assert f"It will be sent at {typed} (Asia/Shanghai)" in question["plain_text"], question["text"]
    assert officer.button_texts(question) == [f"🔴 SEND LIVE to 4 at {short(moment)}", "Cancel"]
    assert officer.button_texts(prompt) == []  # the prompt's Cancel is no longer live

    # two taps in a row on the confirm button: one scheduled broadcast
    taps = [api.tap(OFFICER, question, "aok:0") for _ in range(2)]
    answers = [await api.wait_for_answer(tap) for tap in taps]
    assert sum(bool(a.get("show_alert")) for a in answers) == 1
    outcome = officer.current(question)
    assert f"is scheduled for {typed} to 4 recipients (LIVE)" in outcome["text"], outcome["text"]
    assert officer.button_texts(outcome) == []
    number = broadcast_id(outcome)

    rows = await delivery_rows(bot.services.database, number)
    assert len(rows) == 4 and {row.state for row in rows} == {"pending"}
    assert {utc(row.not_before) for row in rows} == {moment.astimezone(UTC)}
    stored = await bot.services.alerts.get(number)
    assert stored is not None and stored.scheduled_for == moment.astimezone(UTC)
    schedules = [e for e in await bot.services.audit.entries() if e.action == "schedule"]
    assert [(e.actor_id, e.broadcast_id) for e in schedules] == [(OFFICER, number)]

    notice = await scheduled_notice(api, OFFICER, number)
    assert f"is scheduled for {typed} to 4 recipients" in notice["text"], notice["text"]
    await asyncio.sleep(0.6)  # a few dispatcher and reporter passes: nothing is due yet
    assert counts(api, RESIDENTS) == before

    # a resident, and an official of other districts, forging the cancel button are refused
    resident = person(HEPING_EN[0], "en")
    answer = await resident.tap(resident.messages[-1], f"scx:{number}")
    assert answer["show_alert"] is True and "for officials only" in answer["text"], answer
    tiexi_officer = person(TIEXI_OFFICER, "en")
    await tiexi_officer.say("/help")
    answer = await tiexi_officer.tap(tiexi_officer.messages[-1], f"scx:{number}")
    assert answer["show_alert"] is True and "Outside your districts" in answer["text"], answer
    assert await states(bot, number) == ["pending"] * 4

    answer = await officer.tap(notice, "✖️ Cancel this scheduled warning")
    assert not answer.get("show_alert"), answer
    cancelled = officer.current(notice)
    assert f"#{number} was cancelled: 4 messages will not be sent." in cancelled["text"], cancelled["text"]
    assert officer.button_texts(cancelled) == []
    assert await states(bot, number) == ["cancelled"] * 4
    # a second tap (an out-of-date notice) finds nothing left
    answer = await officer.tap(notice, f"scx:{number}")
    assert answer["show_alert"] is True and f"Nothing is left to cancel: #{number}" in answer["text"], answer

    await asyncio.sleep(0.6)
    assert counts(api, RESIDENTS) == before
    assert await states(bot, number) == ["cancelled"] * 4
    entries = await bot.services.audit.entries()
    refused = [(e.actor_id, e.details.get("attempted")) for e in entries if e.action == "refused"]
    assert (HEPING_EN[0], "cancel") in refused and (TIEXI_OFFICER, "cancel") in refused
    cancels = [e.details["cancelled_deliveries"] for e in entries if e.action == "cancel" and e.actor_id == OFFICER]
    assert cancels == [4, 0]


async def test_cancelled_notice_stays_cancelled(
    bot: Application, api: FakeBotAPI, person: MakePerson, community: None
) -> None:
    officer = person(OFFICER, "en")
    composed = await compose(officer, "Gas leak", GAS_LEAK_ANSWERS, ["Heping"])
    await ask_for_time(officer, composed.confirm)
    question = await officer.say((await in_two_minutes())[0])
    await officer.tap(question, officer.button_texts(question)[0])
    number = broadcast_id(officer.current(question))
    notice = await scheduled_notice(api, OFFICER, number)
    await officer.tap(notice, "✖️ Cancel this scheduled warning")
    assert "was cancelled" in officer.current(notice)["text"]
    await asyncio.sleep(0.6)  # a few reporter passes
    assert "was cancelled" in officer.current(notice)["text"], officer.current(notice)["text"]
    assert officer.button_texts(notice) == []


async def test_bad_times_are_refused_and_nothing_is_queued(
    bot: Application, api: FakeBotAPI, person: MakePerson, community: None
) -> None:
    officer = person(OFFICER, "en")
    composed = await compose(officer, "Gas leak", GAS_LEAK_ANSWERS, ["Heping"])
    prompt = await ask_for_time(officer, composed.confirm)

    reply = await officer.say("25:99")
    assert "Please give a time like 18:30, 12-01 08:00 or 2026-12-01 08:00." in reply["text"], reply["text"]
    assert "Type another time, or tap Cancel." in reply["plain_text"]
    an_hour_ago = (datetime.now(SHANGHAI) - timedelta(hours=1)).strftime("%Y-%m-%d %H:%M")
    reply = await officer.say(an_hour_ago)
    assert "The sending time must be at least a minute from now." in reply["text"], reply["text"]
    reply = await officer.say((datetime.now(SHANGHAI) + timedelta(days=45)).strftime("%Y-%m-%d %H:%M"))
    assert "within 30 days" in reply["text"], reply["text"]
    assert officer.button_texts(prompt) == ["Cancel"]  # still waiting for a time

    await officer.tap(prompt, "Cancel")
    assert "Cancelled. Nothing was sent." in officer.current(prompt)["text"]
    assert await bot.services.alerts.get(1) is None
    assert await bot.services.broadcasts.with_status(BroadcastStatus.QUEUED) == []
    assert not any(e.action in ("schedule", "send") for e in await bot.services.audit.entries())


async def test_scheduled_request_needs_approval_and_same_time_again_asks_first(
    bot: Application, api: FakeBotAPI, person: MakePerson, community: None
) -> None:
    officer, supervisor = person(OFFICER, "en"), person(SUPERVISOR, "en")
    answers: Sequence[str | None] = ["Taiyuan North Street 5", SKIP, SKIP, SKIP, SKIP]
    composed = await compose(officer, "Gas explosion", answers, ["Heping"])
    assert officer.button_texts(composed.confirm) == ["🛂 Request approval (LIVE, 4)", SEND_AT, "Cancel"]
    await ask_for_time(officer, composed.confirm)
    typed, moment = await in_two_minutes()
    question = await officer.say(typed)
    assert officer.button_texts(question) == [f"🛂 Request approval (LIVE, 4, at {short(moment)})", "Cancel"]
    await officer.tap(question, officer.button_texts(question)[0])
    waiting = officer.current(question)
    assert "waits for a supervisor's approval" in waiting["text"], waiting["text"]
    number = broadcast_id(waiting)

    request = await api.wait_for_message(SUPERVISOR, contains=f"#{number}")
    before = counts(api, RESIDENTS)
    await supervisor.tap(request, f"apv:{number}:1")
    rows = await delivery_rows(bot.services.database, number)
    assert len(rows) == 4 and {utc(row.not_before) for row in rows} == {moment.astimezone(UTC)}
    notice = await scheduled_notice(api, OFFICER, number)
    await asyncio.sleep(0.4)
    assert counts(api, RESIDENTS) == before

    # the same warning for the same time again: asked first, as for an immediate send
    again = await compose(officer, "Gas explosion", answers, ["Heping"])
    await ask_for_time(officer, again.confirm)
    question = await officer.say(typed)
    await officer.tap(question, officer.button_texts(question)[0])
    asked = officer.current(question)
    assert f"The same warning (#{number}) was confirmed" in asked["text"], asked["text"]
    assert officer.button_texts(asked) == ["Send again", "Cancel"]
    await officer.tap(asked, "Cancel")

    await officer.tap(notice, f"scx:{number}")
    assert await states(bot, number) == ["cancelled"] * 4
    assert counts(api, RESIDENTS) == before


async def test_follow_ups_cannot_be_scheduled_and_a_sent_warning_has_nothing_left_to_cancel(
    bot: Application, api: FakeBotAPI, person: MakePerson, community: None
) -> None:
    officer = person(OFFICER, "en")
    composed = await compose(officer, "Gas leak", GAS_LEAK_ANSWERS, ["Heping"])
    number = await confirm_sent(officer, composed)
    report = await final_report(api, OFFICER, number)
    answer = await officer.tap(report, f"scx:{number}")  # forged: it has gone out
    assert answer["show_alert"] is True and f"Nothing is left to cancel: #{number}" in answer["text"], answer
    assert officer.button_texts(report) == ["✏️ Update", "🟢 All clear", "⛔ Sent in error"]

    await officer.tap(report, "🟢 All clear")
    await officer.tap(officer.messages[-1], "Skip")
    confirm = officer.messages[-1]
    assert officer.button_texts(confirm) == ["🔴 SEND LIVE to 4", "Cancel"]
    answer = await officer.tap(confirm, "asat")  # forged
    assert answer["show_alert"] is True and "Follow-ups go out at once" in answer["text"], answer
    assert officer.button_texts(confirm) == ["🔴 SEND LIVE to 4", "Cancel"]
    await officer.tap(confirm, "Cancel")


async def test_a_time_that_comes_too_close_before_confirming_is_asked_again(
    bot: Application, api: FakeBotAPI, person: MakePerson, community: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    officer = person(OFFICER, "en")
    composed = await compose(officer, "Gas leak", GAS_LEAK_ANSWERS, ["Heping"])
    await ask_for_time(officer, composed.confirm)
    typed, _ = await in_two_minutes()
    question = await officer.say(typed)

    def too_close(send_at: datetime) -> None:  # as if the official had looked at the question for a while
        raise ScheduleError("the sending time must be at least a minute from now", problem="past")

    with monkeypatch.context() as patch:
        patch.setattr(bot.services.alerts, "check_send_at", too_close)
        before = len(officer.messages)
        await officer.tap(question, officer.button_texts(question)[0])
    error, prompt = officer.messages[before:]
    assert "at least a minute from now" in error["text"], error["text"]
    assert "When should it be sent?" in prompt["text"] and officer.button_texts(prompt) == ["Cancel"]
    assert officer.button_texts(question) == []
    assert "expired" in (await officer.tap(question, "aok:0"))["text"]
    assert await bot.services.alerts.get(1) is None

    typed, _ = await in_two_minutes()
    question = await officer.say(typed)
    await officer.tap(question, officer.button_texts(question)[0])
    assert f"is scheduled for {typed}" in officer.current(question)["text"]
    number = broadcast_id(officer.current(question))
    await officer.tap(await scheduled_notice(api, OFFICER, number), "✖️ Cancel this scheduled warning")
    assert await states(bot, number) == ["cancelled"] * 4
