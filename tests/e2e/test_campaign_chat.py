"""Campaigns in the chat, end to end: the acknowledgement button, /quiet, /campaigns and /stats (its chart:
test_stats_chart.py).

The real bot polls the Bot API test double; occurrences are triggered through CampaignService with explicit
times (`fire`) or now (`run_now`), and the background dispatcher sends what they queue.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from alertbot.app import Application
from alertbot.config import AppConfig
from alertbot.core.domain import BusinessCategory
from alertbot.core.errors import CampaignError
from alertbot.sandbox.botapi import FakeBotAPI
from alertbot.services.drafts import AlertDraft
from tests.harness import (
    Person,
    delivery_rows,
    make_config,
    running_bot,
    seed_business,
    seed_residents,
    wait_until_done,
)

MakePerson = Callable[..., Person]
Message = dict[str, Any]

OFFICER, TIEXI_OFFICER = 1001, 1003
RESTAURANT, RESTAURANT_ZH, RESIDENT = 2001, 2002, 3001
ZONE = ZoneInfo("Asia/Shanghai")
MONDAY = datetime(2026, 6, 1, 10, 0, tzinfo=ZONE)  # a scheduled time in the summer campaign's season

SUMMER = {
    "id": "summer_lpg_restaurant", "template": "summer_lpg_restaurant", "schedule": "0 10 * * 1",
    "season": {"from": "05-15", "to": "09-15"}, "audience": "business:restaurant", "districts": ["*"],
    "ack": True, "follow_up_after": "3d", "variables": {"hotline": "96177"},
}  # fmt: skip
WINTER_CO = {
    "id": "winter_co", "template": "winter_co", "schedule": "0 19 * * 5", "season": {"from": "11-01", "to": "03-31"},
    "audience": "all", "districts": ["*"], "variables": {"hotline": "96177"},
}  # fmt: skip
TIEXI_HEATING = {
    "id": "tiexi_heating", "template": "heating_season", "schedule": "0 10 15 10 *", "audience": "residents",
    "districts": ["tiexi"], "variables": {"hotline": "96177"},
}  # fmt: skip
ACK_BUTTON = "✅ I have completed the check"


def campaign_config(api: FakeBotAPI, db_path: Path, quiet_hours: str = "") -> AppConfig:
    return make_config(
        api,
        db_path,
        campaigns=[SUMMER, WINTER_CO, TIEXI_HEATING],  # type: ignore[arg-type]
        bot={"quiet_hours": quiet_hours, "throttle_rate": 100.0, "throttle_burst": 100},
        dispatch={"progress_interval": 0.2},
        scheduler={"grace": "1s"},  # no catch-up send at start, whatever the day the tests run
    )


@pytest.fixture
def config(api: FakeBotAPI, db_path: Path) -> AppConfig:
    return campaign_config(api, db_path)


def now() -> datetime:
    return datetime.now(UTC)


def aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


async def nothing_more_arrives(api: FakeBotAPI, chat: int, count: int, seconds: float = 0.4) -> None:
    await asyncio.sleep(seconds)
    assert len(api.messages(chat)) == count, [m["text"][:60] for m in api.messages(chat)]


async def restaurants(bot: Application) -> None:
    await seed_business(bot.database, RESTAURANT, BusinessCategory.RESTAURANT, ("heping",), "en")
    await seed_business(bot.database, RESTAURANT_ZH, BusinessCategory.RESTAURANT, ("tiexi",), "zh")


async def ask_stats(official: Person, *, last: str | None = None) -> tuple[Message, str]:
    """/stats: the chart (a sendPhoto) and the tables' HTML, its caption or the messages after it (up to the
    one containing `last`)."""
    after = official.messages[-1]["message_id"] if official.messages else 0
    await official.say("/stats", timeout=30)  # the first chart of a test run imports matplotlib
    chart = next(m for m in official.messages if m["message_id"] > after)
    assert chart["method"] == "sendPhoto", chart
    if chart["caption"] is not None:
        return chart, chart["params"]["caption"]
    await official.api.wait_for_message(official.id, after=chart["message_id"], contains=last)
    return chart, "\n\n".join(m["text"] for m in official.messages if m["message_id"] > chart["message_id"])


async def test_ack_button_records_once_and_marks_the_reminder(
    bot: Application, api: FakeBotAPI, person: MakePerson
) -> None:
    await restaurants(bot)
    campaigns = bot.services.campaigns
    result = await campaigns.run_now(OFFICER, "summer_lpg_restaurant", now())
    assert result.status == "sent" and result.broadcast is not None and result.broadcast.recipients == 2
    await wait_until_done(bot, result.broadcast.id)
    occurrence = result.broadcast.occurrence_id

    owner = person(RESTAURANT, "en")
    [reminder] = owner.messages
    assert reminder["text"] == result.broadcast.texts["en"]
    assert owner.button_texts(reminder) == [ACK_BUTTON]
    answer = await owner.tap(reminder, ACK_BUTTON)
    assert answer["text"] == "Thank you, your confirmation is recorded." and not answer.get("show_alert")
    acked = owner.current(reminder)
    confirmed_line = r"\n\n✅ <b>Confirmed</b> at \d\d:\d\d\. Thank you\."
    assert re.fullmatch(re.escape(result.broadcast.texts["en"]) + confirmed_line, acked["text"]), acked["text"]
    assert owner.button_texts(acked) == []

    again = await owner.tap(reminder, f"ack:{occurrence}")  # e.g. a second device still showing the button
    assert again["text"] == "Your confirmation was already recorded."
    assert re.fullmatch(re.escape(result.broadcast.texts["en"]) + confirmed_line, owner.current(reminder)["text"])

    owner_zh = person(RESTAURANT_ZH, "zh-hans")
    [reminder_zh] = owner_zh.messages
    assert owner_zh.button_texts(reminder_zh) == ["✅ 我已完成自查"]
    answer_zh = await owner_zh.tap(reminder_zh, "✅ 我已完成自查")
    assert answer_zh["text"] == "谢谢，您的确认已记录。"
    assert "已确认完成自查" in owner_zh.current(reminder_zh)["text"]

    [view] = [v for v in await campaigns.views(now()) if v.campaign.id == "summer_lpg_restaurant"]
    assert (view.counts.delivered, view.counts.acknowledged) == (2, 2)
    assert await campaigns.ack_rate_by_district("summer_lpg_restaurant") == {"heping": (1, 1), "tiexi": (1, 1)}


async def test_forged_ack_is_refused_and_records_nothing(bot: Application, api: FakeBotAPI, person: MakePerson) -> None:
    await restaurants(bot)
    campaigns = bot.services.campaigns
    result = await campaigns.run_now(OFFICER, "summer_lpg_restaurant", now())
    assert result.broadcast is not None
    await wait_until_done(bot, result.broadcast.id)

    resident = person(RESIDENT, "en")  # subscribed, but not a restaurant: never received the reminder
    reply = await resident.say("/subscribe heping")
    for data in (f"ack:{result.broadcast.occurrence_id}", "ack:999"):
        answer = await resident.tap(reply, data)
        assert answer["show_alert"] is True and answer["text"] == "This confirmation does not belong to you."
    assert resident.current(reply)["text"] == reply["text"]
    assert await campaigns.ack_rate_by_district("summer_lpg_restaurant") == {"heping": (1, 0), "tiexi": (1, 0)}


async def test_quiet_hours_hold_reminders_but_never_warnings(
    api: FakeBotAPI, db_path: Path, person: MakePerson
) -> None:
    local = datetime.now(ZONE)
    default = f"{local - timedelta(hours=2):%H:%M}-{local + timedelta(hours=2):%H:%M}"  # covers now
    elsewhere = f"{local + timedelta(hours=3):%H:%M}-{local + timedelta(hours=5):%H:%M}"  # does not
    async with running_bot(campaign_config(api, db_path, quiet_hours=default)) as bot:
        sleeper, night_owl, own_window = person(4001, "en"), person(4002, "en"), person(4003, "zh-hans")
        for someone in (sleeper, night_owl, own_window):
            await someone.say("/subscribe heping")

        status = await sleeper.say("/quiet")
        assert f"Your quiet hours:</b> {default} (the default)" in status["text"]
        assert "Gas warnings always arrive immediately" in status["text"]
        assert "<code>/quiet 23:00-07:30</code>" in status["text"] and "/quiet default" in status["text"]

        assert "No quiet hours" in (await night_owl.say("/quiet off"))["text"]
        assert "none — reminders may reach you at any time" in (await night_owl.say("/quiet"))["text"]
        assert f"免打扰时段已设为 {elsewhere}" in (await own_window.say(f"/quiet {elsewhere}"))["text"]
        for bad in ("/quiet 25:00-07:00", "/quiet tonight"):
            refused = await own_window.say(bad)
            assert "不是有效的时段" in refused["text"] and "/quiet 23:00-07:30" in refused["text"]
        subscriptions = bot.services.subscriptions
        assert await subscriptions.quiet_hours(own_window.id) == elsewhere
        assert await subscriptions.quiet_hours(night_owl.id) == ""
        assert await subscriptions.quiet_hours(sleeper.id) is None

        started = now()
        result = await bot.services.campaigns.run_now(OFFICER, "winter_co", started)
        assert result.broadcast is not None and result.broadcast.recipients == 3
        rows = {row.chat_id: row for row in await delivery_rows(bot.database, result.broadcast.id)}
        assert aware(rows[sleeper.id].not_before) > started + timedelta(hours=1)  # at the end of the window
        for chat in (night_owl.id, own_window.id):
            assert aware(rows[chat].not_before) <= started + timedelta(seconds=1)
        await api.wait_until(lambda: api.messages(night_owl.id)[-1]["text"] == result.broadcast.texts["en"])
        await api.wait_until(lambda: api.messages(own_window.id)[-1]["text"] == result.broadcast.texts["zh"])
        before = len(sleeper.messages)
        await nothing_more_arrives(api, sleeper.id, before)

        draft = AlertDraft("gas_leak", {"location": "北二马路 12 号", "hotline": "96177"}, ("heping",))
        warning = await bot.services.alerts.confirm(OFFICER, draft)
        arrived = await api.wait_for_message(sleeper.id, after=sleeper.messages[-1]["message_id"], timeout=5)
        assert arrived["text"] == warning.broadcast.texts["en"]  # warnings never wait

        reset = await own_window.say("/quiet default")
        assert f"已恢复默认免打扰时段：{default}" in reset["text"]
        assert await subscriptions.quiet_hours(own_window.id) is None


async def test_campaigns_list_is_for_officials_only(bot: Application, person: MakePerson) -> None:
    officer = person(OFFICER, "en")
    listing = await officer.say("/campaigns")
    text = listing["text"]
    assert "Reminder campaigns</b> · times in Asia/Shanghai" in text
    assert "<b>1. LPG safety self-check for restaurants</b> <code>summer_lpg_restaurant</code> — 🟢 active" in text
    assert "every Monday at 10:00 · season: 15 May – 15 September" in text
    assert "Businesses: Restaurant / catering · all districts" in text
    assert "Delivered: 0 · confirmed: 0" in text
    assert "every Friday at 19:00 · season: 1 November – 31 March" in text
    assert "every year on 15 October at 10:00 · season: all year" in text
    assert "Next run: 20" in text and "view only" not in text
    assert officer.button_texts(listing) == [
        "1 · ⏸ Pause", "1 · 👁 Preview", "1 · 🚀 Run now",
        "2 · ⏸ Pause", "2 · 👁 Preview", "2 · 🚀 Run now",
        "3 · ⏸ Pause", "3 · 👁 Preview", "3 · 🚀 Run now",
    ]  # fmt: skip

    tiexi = person(TIEXI_OFFICER, "zh-hans")  # the city-wide campaigns are outside a Tiexi officer's scope
    own = await tiexi.say("/campaigns")
    assert "<b>1. 餐饮场所液化石油气安全自查</b>" in own["text"] and "每周一 10:00" in own["text"]
    assert own["text"].count("涉及您辖区以外的区县，仅可查看。") == 2
    assert tiexi.button_texts(own) == ["3 · ⏸ 暂停", "3 · 👁 预览", "3 · 🚀 立即发送"]

    resident = person(RESIDENT, "en")
    refused = await resident.say("/campaigns")
    assert "for officials only" in refused["text"]
    assert "for officials only" in (await resident.say("/stats"))["text"]
    entries = await bot.services.audit.entries()
    assert [(e.action, e.actor_id) for e in entries] == [("refused", RESIDENT), ("refused", RESIDENT)]


async def test_pause_skips_scheduled_occurrences_until_resumed(
    bot: Application, api: FakeBotAPI, person: MakePerson
) -> None:
    await restaurants(bot)
    campaigns = bot.services.campaigns
    officer = person(OFFICER, "en")
    listing = await officer.say("/campaigns")

    for intruder, expected in ((person(TIEXI_OFFICER, "en"), "outside your scope"), (person(RESIDENT), "officials")):
        message = await intruder.say("/help")
        answer = await intruder.tap(message, "cpause:summer_lpg_restaurant:1")
        assert answer["show_alert"] is True and expected in answer["text"], answer
    assert "— 🟢 active" in (await officer.say("/campaigns"))["text"]

    answer = await officer.tap(listing, "1 · ⏸ Pause")
    assert answer["text"].startswith("⏸ Paused: LPG safety self-check for restaurants.")
    assert "— ⏸ paused" in officer.current(listing)["text"]
    assert officer.button_texts(listing)[0] == "1 · ▶️ Resume"

    skipped = await campaigns.fire("summer_lpg_restaurant", MONDAY)
    assert skipped.status == "paused" and skipped.broadcast is None
    occurrences = await campaigns.occurrences("summer_lpg_restaurant")
    [occurrence] = [o for o in occurrences if o.occurrence_at == MONDAY]
    assert (occurrence.status, occurrence.broadcast_id) == ("paused", None)
    await nothing_more_arrives(api, RESTAURANT, 0)
    # The last run shown is the latest recorded: this one, unless the start recorded a later one as missed.
    latest = max(occurrences, key=lambda o: o.occurrence_at)
    label = {"paused": "skipped, paused", "missed": "missed while the bot was down"}[latest.status]
    shown = f"Last run: {latest.occurrence_at.astimezone(ZONE):%Y-%m-%d %H:%M} ({label})"
    assert shown in (await officer.say("/campaigns"))["text"]

    answer = await officer.tap(listing, "1 · ▶️ Resume")
    assert answer["text"].startswith("▶️ Resumed: LPG safety self-check for restaurants.")
    assert officer.button_texts(listing)[0] == "1 · ⏸ Pause"
    sent = await campaigns.fire("summer_lpg_restaurant", MONDAY + timedelta(days=7))
    assert sent.status == "sent" and sent.broadcast is not None and sent.broadcast.recipients == 2
    await wait_until_done(bot, sent.broadcast.id)
    assert [m["text"] for m in api.messages(RESTAURANT)] == [sent.broadcast.texts["en"]]
    actions = [(e.action, e.actor_id) for e in await bot.services.audit.entries()]
    assert actions == [("refused", TIEXI_OFFICER), ("refused", RESIDENT), ("pause", OFFICER), ("resume", OFFICER)]


async def test_preview_and_run_now_with_a_named_confirmation(
    bot: Application, api: FakeBotAPI, person: MakePerson
) -> None:
    await restaurants(bot)
    campaigns = bot.services.campaigns
    officer = person(OFFICER, "en")
    listing = await officer.say("/campaigns")

    before = len(officer.messages)
    await officer.tap(listing, "1 · 👁 Preview")
    own, other = officer.messages[before:]
    assert own["text"].startswith("👁 <b>Preview: LPG safety self-check for restaurants</b> — exactly what English")
    assert "Below the reminder they get the button “✅ I have completed the check”" in own["text"]
    assert "Check done? Tap the button below to confirm." in own["text"]
    assert other["text"].startswith("⬇️ <b>What Chinese subscribers would receive:</b>")
    assert "完成自查后，请点击下方按钮确认。" in other["text"]

    await officer.tap(listing, "1 · 🚀 Run now")
    question = officer.messages[-1]
    assert "Send <b>LPG safety self-check for restaurants</b> now" in question["text"]
    assert "👥 Businesses: Restaurant / catering · all districts" in question["text"]
    assert officer.button_texts(question) == ["🚀 Yes, send “LPG safety self-check for restaurants” now", "Cancel"]
    await officer.tap(question, "Cancel")
    assert officer.current(question)["text"] == "Cancelled. Nothing was sent."
    assert [o for o in await campaigns.occurrences() if o.manual_by] == []

    tiexi = person(TIEXI_OFFICER, "en")
    own_listing = await tiexi.say("/campaigns")
    asked = await tiexi.tap(own_listing, "crun:summer_lpg_restaurant")
    assert asked["show_alert"] is True and "outside your scope" in asked["text"]
    forged = await tiexi.tap(own_listing, "crunok:summer_lpg_restaurant")  # no such button on the message
    assert forged["show_alert"] is True and "no longer valid" in forged["text"]
    assert tiexi.button_texts(own_listing) == ["3 · ⏸ Pause", "3 · 👁 Preview", "3 · 🚀 Run now"]
    with pytest.raises(CampaignError, match="out of scope"):
        await campaigns.run_now(TIEXI_OFFICER, "summer_lpg_restaurant", now())

    await officer.tap(listing, "1 · 🚀 Run now")
    question = officer.messages[-1]
    confirm = officer.button_texts(question)[0]
    await officer.tap(question, confirm)
    done = officer.current(question)
    assert done["text"] == "✅ LPG safety self-check for restaurants: queued to 2 recipients."
    assert officer.button_texts(done) == []
    late = await officer.tap(question, "crunok:summer_lpg_restaurant")  # a double tap
    assert late["show_alert"] is True and "no longer valid" in late["text"]
    [occurrence] = [o for o in await campaigns.occurrences("summer_lpg_restaurant") if o.manual_by]
    assert occurrence.status == "sent" and occurrence.manual_by == OFFICER
    await api.wait_for_message(RESTAURANT, contains="LPG safety self-check")
    actions = [(e.action, e.actor_id) for e in await bot.services.audit.entries()]
    assert actions == [("preview", OFFICER), ("refused", TIEXI_OFFICER), ("refused", TIEXI_OFFICER),
                       ("run", OFFICER)]  # fmt: skip


async def confirmed_in_heping(bot: Application, person: MakePerson) -> None:
    """Two restaurants (Heping, Tiexi) get the summer check; the one in Heping confirms."""
    await restaurants(bot)
    await seed_residents(bot.database, range(5000, 5003), ("heping",), "en")
    await seed_residents(bot.database, range(5100, 5102), ("tiexi",), "zh")
    result = await bot.services.campaigns.run_now(OFFICER, "summer_lpg_restaurant", now())
    assert result.broadcast is not None
    await wait_until_done(bot, result.broadcast.id)
    owner = person(RESTAURANT, "en")
    await owner.tap(owner.messages[-1], ACK_BUTTON)


async def test_stats_shows_subscribers_and_confirmation_rates(
    bot: Application, api: FakeBotAPI, person: MakePerson
) -> None:
    await confirmed_in_heping(bot, person)

    _, stats = await ask_stats(person(OFFICER, "en"))
    assert "Active subscribers by district</b>\n<pre>District" in stats
    assert re.search(r"\nHeping +3 +1 +4\n", stats) and re.search(r"\nTiexi +2 +1 +3\n", stats)
    assert re.search(r"\nFaku County +0 +0 +0", stats)
    assert "LPG safety self-check for restaurants</b> — confirmations by district" in stats
    assert re.search(r"\nHeping +1 +1 +100%\n", stats) and re.search(r"\nTiexi +1 +0 +0%", stats)

    _, tiexi = await ask_stats(person(TIEXI_OFFICER, "zh-hans"))
    assert re.search(r"\n铁西区 +2 +1 +3\n", tiexi) and re.search(r"\n于洪区 +0 +0 +0", tiexi)
    assert "和平区" not in tiexi  # only the official's districts
    assert re.search(r"\n铁西区 +1 +0 +0%", tiexi)
