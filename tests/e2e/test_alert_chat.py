"""Officials' /alert flow, end to end: compose, preview, confirm, approvals and follow-ups in the chat.

The real bot polls the Bot API test double; residents subscribe through the chat, the background
dispatcher sends the queued deliveries and the progress reporter posts the officials' reports.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from alertbot.app import Application
from alertbot.config import AppConfig, load_config
from alertbot.core.domain import BroadcastStatus
from alertbot.sandbox.botapi import FakeBotAPI
from tests.harness import EXAMPLE_CONFIG, Person, make_config

MakePerson = Callable[..., Person]
Message = dict[str, Any]

OFFICER, SUPERVISOR, TIEXI_OFFICER, TIEXI_SUPERVISOR = 1001, 1002, 1003, 1004
TEST_CHAT = 777
# Heping: two Chinese and one English resident, and a restaurant (English); Tiexi: one of each language.
HEPING_ZH, HEPING_EN, RESTAURANT, LPG_SHOP = (2001, 2002), (2003,), 2006, 2007
TIEXI = {2004: "zh-hans", 2005: "en"}
HEPING_ALL = (*HEPING_ZH, *HEPING_EN, RESTAURANT)
SKIP = None  # an answer that taps Skip


@pytest.fixture
def config(api: FakeBotAPI, db_path: Path) -> AppConfig:
    officials = load_config(EXAMPLE_CONFIG).model_dump(mode="python")["officials"]
    officials.append({"telegram_id": TIEXI_SUPERVISOR, "name": "Tiexi supervisor", "districts": ["tiexi"],
                      "role": "supervisor"})  # fmt: skip
    return make_config(
        api,
        db_path,
        bot={"throttle_rate": 100.0, "throttle_burst": 100},  # the script taps faster than any person
        dispatch={"progress_interval": 0.2},
        alerts={"test_chats": [TEST_CHAT]},
        officials=officials,  # type: ignore[arg-type]
    )


async def onboard_business(person: Person, category: str, name: str, district: str) -> None:
    welcome = await person.say("/start")
    await person.tap(welcome, "🏪 Business")
    await person.tap(welcome, category)
    picker = await person.say(name)
    await person.tap(picker, district)
    await person.tap(picker, "✔️ Done")


@pytest.fixture
async def community(bot: Application, person: MakePerson) -> None:
    """Subscribers, each through the chat as a person would."""
    for chat in HEPING_ZH:
        await person(chat, "zh-hans").say("/subscribe heping")
    for chat in HEPING_EN:
        await person(chat, "en").say("/subscribe heping")
    for chat, language in TIEXI.items():
        await person(chat, language).say("/subscribe tiexi")
    await onboard_business(person(RESTAURANT, "en"), "Restaurant / catering", "Grill 66", "Heping")


@dataclass
class Composed:
    header: Message
    texts: dict[str, str]  # the previewed text of each language, exactly
    confirm: Message


async def compose(
    official: Person,
    template: str,
    answers: Sequence[str | None],
    districts: Sequence[str],
    audience: str = "Everyone",
    severity: str | None = None,
    mode: str = "🔴 Live",
) -> Composed:
    """Drive /alert through every step with the buttons; returns the preview."""
    api = official.api
    wizard = await official.say("/alert")
    await official.tap(wizard, template)
    prompt = official.current(wizard)
    for answer in answers:
        if answer is SKIP:
            assert official.button_texts(prompt) == ["Skip"], prompt["text"]
            await official.tap(prompt, "Skip")
            prompt = official.messages[-1]
        else:
            prompt = await official.say(answer)
    picker = prompt
    assert "Choose the districts" in picker["text"]
    for district in districts:
        await official.tap(picker, district)
    await official.tap(picker, "✔️ Done")
    await official.tap(picker, audience)
    if severity is None:  # the template's suggestion
        severity = next(text for text in official.button_texts(picker) if text.endswith(" · suggested"))
    await official.tap(picker, severity)
    before = len(official.messages)
    await official.tap(picker, mode)
    header = official.current(picker)
    sent = official.messages[before:]
    assert len(sent) == 5, [m["text"] for m in sent]
    zh_line, zh_text, en_line, en_text, confirm = sent
    assert "Chinese subscribers receive" in zh_line["text"] and "English subscribers receive" in en_line["text"]
    assert api.buttons(confirm)[-1][0] == "Cancel"
    return Composed(header, {"zh": zh_text["text"], "en": en_text["text"]}, confirm)


def broadcast_id(message: Message) -> int:
    found = re.search(r"#(\d+)", message["text"])
    assert found, message["text"]
    return int(found.group(1))


async def confirm_sent(official: Person, composed: Composed) -> int:
    await official.tap(composed.confirm, official.button_texts(composed.confirm)[0])
    outcome = official.current(composed.confirm)
    assert "is being sent" in outcome["text"], outcome["text"]
    assert official.button_texts(outcome) == []
    return broadcast_id(outcome)


async def final_report(api: FakeBotAPI, chat_id: int, broadcast: int, timeout: float = 10.0) -> Message:
    """The official's report once the broadcast is done: it carries the follow-up buttons."""

    def find() -> Message | None:
        for message in api.messages(chat_id):
            if any(data.startswith(f"fu:{broadcast}:") for _, data in api.buttons(message)):
                return message
        return None

    found: Message = await api.wait_until(find, timeout=timeout)
    return found


def counts(api: FakeBotAPI, chats: Sequence[int]) -> dict[int, int]:
    return {chat: len(api.messages(chat)) for chat in chats}


def last_text(api: FakeBotAPI, chat: int) -> str:
    return api.messages(chat)[-1]["text"]


GAS_LEAK_ANSWERS = ("Beier Road No. 12", "96177", "Crews are on site.")


async def test_officer_composes_and_heping_receives_exactly_the_preview(
    bot: Application, api: FakeBotAPI, person: MakePerson, community: None
) -> None:
    officer = person(OFFICER, "en")
    wizard = await officer.say("/alert")
    assert "Choose a template" in wizard["text"]
    assert officer.button_texts(wizard)[:2] == ["Gas leak", "Gas explosion"]

    await officer.tap(wizard, "Gas leak")
    first = officer.current(wizard)
    assert "Gas leak" in first["text"] and "1 of 3" in first["text"]
    assert "Where the leak is" in first["text"] and "near No. 12 Beier Road" in first["text"]
    assert officer.button_texts(first) == []  # required: no Skip
    second = await officer.say("Beier Road No. 12 <b>&</b>")
    assert "Gas company emergency hotline" in second["text"]
    third = await officer.say("96177")
    assert "Further details (optional)" in third["text"] and officer.button_texts(third) == ["Skip"]
    picker = await officer.say("Crews are on site.")
    assert officer.button_texts(third) == []  # the answered prompt's Skip is gone

    buttons = officer.button_texts(picker)
    assert buttons[:2] == ["Heping", "Shenhe"] and "All districts" in buttons and buttons[-1] == "✔️ Done"
    answer = await officer.tap(picker, "✔️ Done")
    assert answer["show_alert"] is True and "at least one district" in answer["text"]
    await officer.tap(picker, "Heping")
    assert "✅ Heping" in officer.button_texts(picker)
    await officer.tap(picker, "✔️ Done")
    assert "Who should receive it?" in officer.current(picker)["text"]
    assert "Businesses: Restaurant / catering" in officer.button_texts(picker)
    await officer.tap(picker, "Everyone")
    assert "🟠 Severe · suggested" in officer.button_texts(picker)
    await officer.tap(picker, "🟠 Severe · suggested")
    await officer.tap(picker, "🔴 Live")

    header = officer.current(picker)["text"]
    assert "Preview — LIVE" in header
    assert "Template: Gas leak · severity: 🟠 Severe · audience: Everyone" in header
    assert "Districts: Heping" in header
    assert "Recipients: 4 (2 in Chinese, 2 in English)" in header
    assert "approval" not in header
    confirm = officer.messages[-1]
    texts = {"zh": officer.messages[-4]["text"], "en": officer.messages[-2]["text"]}
    assert "Beier Road No. 12 &lt;b&gt;&amp;&lt;/b&gt;" in texts["en"]  # typed text is escaped, in both
    assert texts["en"].startswith("🟠 <b>SEVERE</b>") and "燃气泄漏" in texts["zh"]
    assert officer.button_texts(confirm) == ["🔴 SEND LIVE to 4", "⏰ Send at…", "Cancel"]

    tiexi_before = counts(api, list(TIEXI))
    await officer.tap(confirm, "🔴 SEND LIVE to 4")
    queued = officer.current(confirm)
    assert "is being sent to 4 recipients (LIVE)" in queued["text"]
    number = broadcast_id(queued)

    report = await final_report(api, OFFICER, number)
    assert [text for text, _ in api.buttons(report)] == ["✏️ Update", "🟢 All clear", "⛔ Sent in error"]
    assert "Sent 4 of 4" in report["text"]  # in the language the official used for /alert
    for chat in HEPING_ZH:
        assert last_text(api, chat) == texts["zh"]
    for chat in (*HEPING_EN, RESTAURANT):
        assert last_text(api, chat) == texts["en"]
    assert counts(api, list(TIEXI)) == tiexi_before
    sent = [p["chat_id"] for m, p in api.requests if m == "sendMessage" and p["text"] in texts.values()]
    assert sorted(c for c in sent if c != OFFICER) == sorted(HEPING_ALL)  # each exactly once

    actions = [(e.action, e.actor_id) for e in await bot.services.audit.entries()]
    assert ("send", OFFICER) in actions


async def test_resident_cannot_alert_and_is_audited(bot: Application, api: FakeBotAPI, person: MakePerson) -> None:
    resident = person(3001, "en")
    await resident.say("/subscribe heping")
    reply = await resident.say("/alert")
    assert "for officials only" in reply["text"]
    assert api.buttons(reply) == []
    refused = [e for e in await bot.services.audit.entries() if e.action == "refused"]
    assert [(e.actor_id, e.details["attempted"]) for e in refused] == [(3001, "compose")]
    # a forged compose tap goes nowhere either
    answer = await resident.tap(reply, "at:gas_leak")
    assert answer["show_alert"] is True and "expired" in answer["text"]


async def test_district_officer_sees_only_their_scope_and_forged_taps_are_refused(
    bot: Application, api: FakeBotAPI, person: MakePerson, community: None
) -> None:
    officer = person(TIEXI_OFFICER, "en")
    wizard = await officer.say("/alert")
    await officer.tap(wizard, "Gas leak")
    await officer.say("Jianshe Road")
    help_text = await officer.say("/help")  # a command leaves the flow
    assert "/subscribe" in help_text["text"]
    assert "do not know that command" in (await officer.say("96177"))["text"]

    wizard = await officer.say("/alert")
    await officer.tap(wizard, "Gas leak")
    assert "Please shorten it" in (await officer.say("x" * 1001))["text"]
    await officer.say("Jianshe Road")
    third = await officer.say("96177")
    await officer.tap(third, "Skip")
    picker = officer.messages[-1]
    assert officer.button_texts(picker) == ["Tiexi", "Yuhong", "✔️ Done"]  # no "All districts"
    assert "use the buttons" in (await officer.say("Tiexi please"))["text"]

    for forged in ("adt:heping", "adt:*", "adt:atlantis"):
        answer = await officer.tap(picker, forged)
        assert answer["show_alert"] is True, forged
        assert "Outside your districts" in answer["text"], forged
    assert "Heping" in (await officer.tap(picker, "adt:heping"))["text"]
    assert officer.button_texts(picker) == ["Tiexi", "Yuhong", "✔️ Done"]  # nothing was stored
    answer = await officer.tap(picker, "✔️ Done")
    assert "at least one district" in answer["text"]
    # a forged tap of another step's button is refused as well
    assert "expired" in (await officer.tap(picker, "aok:1"))["text"]

    # Nobody subscribed in Yuhong: the preview says so and offers the districts again.
    await officer.tap(picker, "Yuhong")
    await officer.tap(picker, "✔️ Done")
    await officer.tap(picker, "Residents")
    await officer.tap(picker, "🟠 Severe · suggested")
    await officer.tap(picker, "🔴 Live")
    nobody, picker = officer.messages[-2:]
    assert "Nobody is subscribed" in nobody["text"]
    assert officer.button_texts(picker) == ["Tiexi", "✅ Yuhong", "✔️ Done"]
    await officer.tap(picker, "✅ Yuhong")
    await officer.tap(picker, "Tiexi")
    await officer.tap(picker, "✔️ Done")
    await officer.tap(picker, "Residents")
    await officer.tap(picker, "🟠 Severe · suggested")
    await officer.tap(picker, "🔴 Live")
    header = officer.current(picker)["text"]
    assert "Districts: Tiexi" in header and "Recipients: 2 (1 in Chinese, 1 in English)" in header
    await officer.tap(officer.messages[-1], "Cancel")
    assert "Nothing was sent" in officer.messages[-1]["text"]

    entries = await bot.services.audit.entries()
    assert not any(e.action == "send" for e in entries)
    refused = [e.details["attempted"] for e in entries if e.action == "refused" and e.actor_id == TIEXI_OFFICER]
    assert refused == ["districts heping", "districts *", "districts atlantis", "districts heping"]


async def test_extreme_warning_needs_a_supervisor(
    bot: Application, api: FakeBotAPI, person: MakePerson, community: None
) -> None:
    officer, supervisor = person(OFFICER, "en"), person(SUPERVISOR, "en")
    composed = await compose(officer, "Gas explosion", ["Taiyuan North Street 5", SKIP, SKIP, SKIP, SKIP], ["Heping"])
    assert "🔴 Extreme" in composed.header["text"]
    assert "Needs a supervisor's approval" in composed.header["text"]
    assert officer.button_texts(composed.confirm)[0] == "🛂 Request approval (LIVE, 4)"
    before = counts(api, HEPING_ALL)
    await officer.tap(composed.confirm, "🛂 Request approval (LIVE, 4)")
    waiting = officer.current(composed.confirm)
    assert "waits for a supervisor's approval (expires in 15 min)" in waiting["text"]
    number = broadcast_id(waiting)

    request = await api.wait_for_message(SUPERVISOR, contains=f"#{number}")
    approve, reject = (data for _, data in api.buttons(request))
    assert approve == f"apv:{number}:1" and reject == f"apv:{number}:0"
    assert api.messages(TIEXI_SUPERVISOR) == []  # not in this supervisor's scope

    resident = person(HEPING_ZH[0], "zh-hans")
    answer = await resident.tap(resident.messages[-1], approve)
    assert answer["show_alert"] is True and "仅限工作人员" in answer["text"]
    answer = await officer.tap(officer.messages[-1], approve)
    assert answer["show_alert"] is True and "only a supervisor may decide" in answer["text"]
    tiexi_supervisor = person(TIEXI_SUPERVISOR, "en")
    await tiexi_supervisor.say("/help")
    answer = await tiexi_supervisor.tap(tiexi_supervisor.messages[-1], approve)
    assert answer["show_alert"] is True and "outside your districts" in answer["text"]
    await asyncio.sleep(0.3)
    assert counts(api, HEPING_ALL) == before
    stored = await bot.services.alerts.get(number)
    assert stored is not None and stored.status is BroadcastStatus.PENDING_APPROVAL

    await supervisor.tap(request, approve)
    assert "approved by City emergency supervisor; sending to 4 recipients" in supervisor.current(request)["text"]
    assert supervisor.button_texts(request) == []
    told = await api.wait_for_message(OFFICER, contains="City emergency supervisor")
    assert f"#{number}" in told["text"]
    await final_report(api, OFFICER, number)
    for chat in HEPING_ZH:
        assert last_text(api, chat) == composed.texts["zh"]
    for chat in (*HEPING_EN, RESTAURANT):
        assert last_text(api, chat) == composed.texts["en"]
    # once decided, the request cannot be decided again
    answer = await supervisor.tap(request, reject)
    assert "already decided" in answer["text"]

    refused = [(e.actor_id, e.details.get("reason")) for e in await bot.services.audit.entries()
               if e.action == "refused"]  # fmt: skip
    assert (HEPING_ZH[0], "not an official") in refused
    assert (OFFICER, "only a supervisor may decide") in refused
    assert (TIEXI_SUPERVISOR, "outside your districts") in refused
    assert ("approve", SUPERVISOR) in [(e.action, e.actor_id) for e in await bot.services.audit.entries()]


async def test_rejected_request_sends_nothing(
    bot: Application, api: FakeBotAPI, person: MakePerson, community: None
) -> None:
    supervisor = person(SUPERVISOR, "en")
    # a supervisor's own request cannot be approved by themself
    own = await compose(supervisor, "Evacuation order", ["Beier Road 1-30", "Beier Road school", SKIP, SKIP, SKIP],
                        ["Heping"])  # fmt: skip
    await supervisor.tap(own.confirm, supervisor.button_texts(own.confirm)[0])
    own_number = broadcast_id(supervisor.current(own.confirm))
    answer = await supervisor.tap(supervisor.messages[-1], f"apv:{own_number}:1")
    assert "cannot approve their own request" in answer["text"]

    officer = person(OFFICER, "en")
    before = counts(api, [*HEPING_ALL, *TIEXI])
    composed = await compose(officer, "Hazardous chemicals leak", ["Xihe Road works", "3 km around", SKIP, SKIP],
                             ["Heping", "Tiexi"], audience="Residents")  # fmt: skip
    assert "Recipients: 5 (3 in Chinese, 2 in English)" in composed.header["text"]
    await officer.tap(composed.confirm, officer.button_texts(composed.confirm)[0])
    number = broadcast_id(officer.current(composed.confirm))
    request = await api.wait_for_message(SUPERVISOR, contains=f"#{number}")
    await supervisor.tap(request, f"apv:{number}:0")
    assert "rejected by City emergency supervisor" in supervisor.current(request)["text"]
    told = await api.wait_for_message(OFFICER, contains="City emergency supervisor")
    assert f"#{number}" in told["text"] and "rejected" in told["text"]
    await asyncio.sleep(0.5)
    assert counts(api, [*HEPING_ALL, *TIEXI]) == before
    stored = await bot.services.alerts.get(number)
    assert stored is not None and stored.status is BroadcastStatus.REJECTED and stored.recipients == 0


async def test_same_warning_again_asks_before_sending_and_double_taps_send_once(
    bot: Application, api: FakeBotAPI, person: MakePerson, community: None
) -> None:
    officer = person(OFFICER, "en")
    first = await compose(officer, "Gas leak", GAS_LEAK_ANSWERS, ["Heping"])
    # two taps in a row on the confirm button: one broadcast
    taps = [api.tap(OFFICER, first.confirm, "aok:0") for _ in range(2)]
    answers = [await api.wait_for_answer(tap) for tap in taps]
    assert sum(bool(a.get("show_alert")) for a in answers) == 1
    number = broadcast_id(officer.current(first.confirm))
    await final_report(api, OFFICER, number)

    second = await compose(officer, "Gas leak", GAS_LEAK_ANSWERS, ["Heping"])
    assert "expired" in (await officer.tap(first.confirm, "aok:0"))["text"]  # an old preview confirms nothing
    await officer.tap(second.confirm, "🔴 SEND LIVE to 4")
    asked = officer.current(second.confirm)
    assert f"The same warning (#{number}) was confirmed 0 min ago. Send it again?" in asked["text"]
    assert officer.button_texts(asked) == ["Send again", "Cancel"]
    await officer.tap(asked, "Send again")
    again = broadcast_id(officer.current(second.confirm))
    assert again != number
    await final_report(api, OFFICER, again)
    for chat in HEPING_ALL:
        assert [m["text"] for m in api.messages(chat)].count(second.texts["zh" if chat in HEPING_ZH else "en"]) == 2
    sends = [e for e in await bot.services.audit.entries() if e.action == "send"]
    assert len(sends) == 2


async def test_exercise_reaches_only_officials_and_test_chats(
    bot: Application, api: FakeBotAPI, person: MakePerson, community: None
) -> None:
    officer = person(OFFICER, "en")
    composed = await compose(officer, "Carbon monoxide risk", ["29 Nov to 3 Dec", SKIP], ["Heping"],
                             mode="🟨 Exercise")  # fmt: skip
    header = composed.header["text"]
    assert "Preview — EXERCISE" in header and "only officials and test chats" in header
    assert "Recipients: 5 (4 in Chinese, 1 in English)" in header  # 4 officials and the test chat
    translator = bot.services.translator
    for language, text in composed.texts.items():
        banner = translator(language, "alert-exercise-banner")  # type: ignore[arg-type]
        assert text.startswith(banner + "\n\n") and text.endswith("\n\n" + banner)
    before = counts(api, [*HEPING_ALL, *TIEXI])
    number = await confirm_sent(officer, composed)
    report = await final_report(api, OFFICER, number)
    assert "EXERCISE" in report["text"]
    for chat in (SUPERVISOR, TIEXI_OFFICER, TIEXI_SUPERVISOR, TEST_CHAT):
        assert last_text(api, chat) == composed.texts["zh"], chat
    # the officer composed in English: their copy of the exercise is the English one
    assert [m["text"] for m in api.messages(OFFICER)].count(composed.texts["en"]) == 2  # preview and delivery
    assert counts(api, [*HEPING_ALL, *TIEXI]) == before


async def test_sent_in_error_reaches_exactly_the_original_recipients(
    bot: Application, api: FakeBotAPI, person: MakePerson, community: None
) -> None:
    officer = person(OFFICER, "en")
    await officer.say("/language en")  # progress and reports in English from now on
    composed = await compose(officer, "Gas leak", GAS_LEAK_ANSWERS, ["Heping"])
    number = await confirm_sent(officer, composed)
    report = await final_report(api, OFFICER, number)
    assert officer.button_texts(report) == ["✏️ Update", "🟢 All clear", "⛔ Sent in error"]
    latecomer = person(2100, "en")
    await latecomer.say("/subscribe heping")

    before = len(officer.messages)
    await officer.tap(report, "⛔ Sent in error")
    header, _, zh_text, _, en_text, confirm = officer.messages[before:]
    assert f"Follow-up to #{number}" in header["text"]
    assert "Template: Sent in error" in header["text"]
    assert "Recipients: 4 (2 in Chinese, 2 in English)" in header["text"]
    assert officer.button_texts(confirm) == ["🔴 SEND LIVE to 4", "Cancel"]  # follow-ups go out at once
    correction = await confirm_sent(officer, _composed(header, zh_text, en_text, confirm))
    await api.wait_until(lambda: all(last_text(api, c) in (zh_text["text"], en_text["text"]) for c in HEPING_ALL))
    for chat in HEPING_ZH:
        assert last_text(api, chat) == zh_text["text"]
    for chat in (*HEPING_EN, RESTAURANT):
        assert last_text(api, chat) == en_text["text"]
    await asyncio.sleep(0.3)
    assert not any(m["text"] in (zh_text["text"], en_text["text"]) for m in latecomer.messages)
    assert all(len(api.messages(chat)) == 1 for chat in TIEXI)  # only their /subscribe reply
    follow_up = await bot.services.alerts.get(correction)
    assert follow_up is not None and follow_up.follows_id == number and follow_up.recipients == 4

    # All clear: an optional text (Skip); Update: a required one (no Skip). Cancel sends nothing.
    await officer.tap(report, "🟢 All clear")
    prompt = officer.messages[-1]
    assert f"follow-up to #{number}" in prompt["text"] and officer.button_texts(prompt) == ["Skip"]
    await officer.tap(prompt, "Skip")
    assert "Template: All clear" in officer.messages[-6]["text"]
    await officer.tap(officer.messages[-1], "Cancel")
    await officer.tap(report, "✏️ Update")
    prompt = officer.messages[-1]
    assert "What has changed" in prompt["text"] and officer.button_texts(prompt) == []
    answered = await officer.say("Beier Road has reopened.")
    await api.wait_for_message(OFFICER, contains="Send it?", after=answered["message_id"])
    assert "Template: Update" in officer.messages[-6]["text"]
    assert "Beier Road has reopened." in officer.messages[-2]["text"]


def _composed(header: Message, zh_text: Message, en_text: Message, confirm: Message) -> Composed:
    return Composed(header, {"zh": zh_text["text"], "en": en_text["text"]}, confirm)


async def test_business_category_audience_reaches_only_that_category(
    bot: Application, api: FakeBotAPI, person: MakePerson, community: None
) -> None:
    await onboard_business(person(LPG_SHOP, "en"), "LPG retailer", "Gas & Co", "Heping")
    officer = person(OFFICER, "en")
    before = counts(api, [*HEPING_ZH, *HEPING_EN, LPG_SHOP, *TIEXI])
    composed = await compose(officer, "Gas leak", GAS_LEAK_ANSWERS, ["Heping"],
                             audience="Businesses: Restaurant / catering")  # fmt: skip
    assert "audience: Businesses: Restaurant / catering" in composed.header["text"]
    assert "Recipients: 1 (0 in Chinese, 1 in English)" in composed.header["text"]
    number = await confirm_sent(officer, composed)
    await final_report(api, OFFICER, number)
    assert last_text(api, RESTAURANT) == composed.texts["en"]
    assert counts(api, [*HEPING_ZH, *HEPING_EN, LPG_SHOP, *TIEXI]) == before


async def test_a_failure_while_confirming_keeps_the_draft(
    bot: Application, api: FakeBotAPI, person: MakePerson, community: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The database refuses the first confirmation (locked, a lost connection…): the official is told, the
    confirm buttons come back, and the same tap again sends exactly the preview."""
    import sqlalchemy.exc

    officer = person(OFFICER, "en")
    composed = await compose(officer, "Gas leak", GAS_LEAK_ANSWERS, ["Heping"])
    repository = bot.services.broadcasts
    real_create, attempts = repository.create, []

    async def create_failing_once(*args: Any, **kwargs: Any) -> Any:
        attempts.append(1)
        if len(attempts) == 1:
            raise sqlalchemy.exc.OperationalError("INSERT INTO broadcasts", {}, Exception("database is locked"))
        return await real_create(*args, **kwargs)

    monkeypatch.setattr(repository, "create", create_failing_once)
    before = len(officer.messages)
    answer = await officer.tap(composed.confirm, "🔴 SEND LIVE to 4")
    assert not answer.get("show_alert"), answer
    told = await api.wait_for_message(OFFICER, contains="draft is kept", after=composed.confirm["message_id"])
    assert "could not be confirmed" in told["text"] and "try again" in told["text"], told["text"]
    assert not any("Something went wrong" in m["text"] for m in officer.messages[before:])
    assert officer.button_texts(composed.confirm) == ["🔴 SEND LIVE to 4", "⏰ Send at…", "Cancel"]
    assert await bot.services.alerts.get(1) is None  # nothing was queued

    number = await confirm_sent(officer, composed)
    await final_report(api, OFFICER, number)
    for chat in HEPING_ZH:
        assert last_text(api, chat) == composed.texts["zh"]
    assert [e.action for e in await bot.services.audit.entries()].count("send") == 1


async def test_follow_ups_of_an_extreme_warning_need_a_supervisor_but_sent_in_error_does_not(
    bot: Application, api: FakeBotAPI, person: MakePerson, community: None
) -> None:
    officer, supervisor = person(OFFICER, "en"), person(SUPERVISOR, "en")
    await officer.say("/language en")
    composed = await compose(officer, "Gas explosion", ["Taiyuan North Street 5", SKIP, SKIP, SKIP, SKIP], ["Heping"])
    await officer.tap(composed.confirm, "🛂 Request approval (LIVE, 4)")
    number = broadcast_id(officer.current(composed.confirm))
    request = await api.wait_for_message(SUPERVISOR, contains=f"#{number}")
    await supervisor.tap(request, f"apv:{number}:1")
    report = await final_report(api, OFFICER, number)

    # an officer's Update with free text, to everyone the extreme warning reached: a second person decides
    await officer.tap(report, "✏️ Update")
    answered = await officer.say("Stay away from Taiyuan North Street until 20:00.")
    confirm = await api.wait_for_message(OFFICER, contains="Send it?", after=answered["message_id"])
    header = officer.messages[-6]["text"]
    assert f"Follow-up to #{number}" in header and "Needs a supervisor's approval" in header, header
    assert officer.button_texts(confirm) == ["🛂 Request approval (LIVE, 4)", "Cancel"]
    before = counts(api, HEPING_ALL)
    await officer.tap(confirm, "🛂 Request approval (LIVE, 4)")
    waiting = officer.current(confirm)
    assert "waits for a supervisor's approval" in waiting["text"], waiting["text"]
    update = broadcast_id(waiting)
    request = await api.wait_for_message(SUPERVISOR, contains=f"#{update}", after=request["message_id"])
    assert "Stay away from Taiyuan North Street until 20:00." in request["text"]
    await asyncio.sleep(0.3)
    assert counts(api, HEPING_ALL) == before  # nothing goes out before the approval
    stored = await bot.services.alerts.get(update)
    assert stored is not None and stored.status is BroadcastStatus.PENDING_APPROVAL and stored.follows_id == number
    answer = await officer.tap(officer.messages[-1], f"apv:{update}:1")
    assert "only a supervisor may decide" in answer["text"]

    await supervisor.tap(request, f"apv:{update}:1")
    assert "approved by City emergency supervisor; sending to 4 recipients" in supervisor.current(request)["text"]
    await api.wait_for_message(OFFICER, contains=f"#{update} approved")
    await api.wait_until(lambda: all("Stay away from Taiyuan" in last_text(api, c) for c in HEPING_ALL))
    assert all(len(api.messages(chat)) == 1 for chat in TIEXI)  # only their /subscribe reply

    # Sent in error stops a mistake at once: no approval
    before_correction = len(officer.messages)
    await officer.tap(report, "⛔ Sent in error")
    header_message, _, zh_text, _, en_text, confirm = officer.messages[before_correction:]
    assert "approval" not in header_message["text"]
    assert officer.button_texts(confirm) == ["🔴 SEND LIVE to 4", "Cancel"]
    correction = await confirm_sent(officer, _composed(header_message, zh_text, en_text, confirm))
    await api.wait_until(lambda: all("SENT IN ERROR" in last_text(api, c) or "误发" in last_text(api, c)
                                      for c in HEPING_ALL))  # fmt: skip
    actions = [(e.action, e.broadcast_id) for e in await bot.services.audit.entries()]
    assert ("request_approval", update) in actions and ("approve", update) in actions
    assert ("follow_up", correction) in actions


async def test_all_clear_of_a_moderate_warning_goes_at_once(
    bot: Application, api: FakeBotAPI, person: MakePerson, community: None
) -> None:
    officer = person(OFFICER, "en")
    await officer.say("/language en")
    composed = await compose(officer, "Gas leak", GAS_LEAK_ANSWERS, ["Heping"], severity="🟡 Moderate")
    assert "approval" not in composed.header["text"]
    number = await confirm_sent(officer, composed)
    report = await final_report(api, OFFICER, number)
    await officer.tap(report, "🟢 All clear")
    await officer.tap(officer.messages[-1], "Skip")
    header, confirm = officer.messages[-6], officer.messages[-1]
    assert "Template: All clear" in header["text"] and "approval" not in header["text"]
    assert officer.button_texts(confirm) == ["🔴 SEND LIVE to 4", "Cancel"]
    clear = await confirm_sent(officer, _composed(header, officer.messages[-4], officer.messages[-2], confirm))
    await api.wait_until(lambda: all("All clear" in last_text(api, c) or "解除" in last_text(api, c)
                                      for c in HEPING_ALL))  # fmt: skip
    assert ("follow_up", clear) in [(e.action, e.broadcast_id) for e in await bot.services.audit.entries()]
