"""The resident-facing chat, end to end: the real bot polls the Bot API test double over HTTP."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from alertbot.app import Application
from alertbot.config import AppConfig
from alertbot.core.domain import BusinessCategory, SubscriberKind
from alertbot.sandbox.botapi import FakeBotAPI
from tests.harness import Person, Statements, fresh_postgres, make_config, running_bot

MakePerson = Callable[..., Person]


async def subscribers_of(bot: Application, chat_id: int):  # type: ignore[no-untyped-def]
    return await bot.dispatcher["subscriptions"].get(chat_id)


async def test_resident_onboarding_with_buttons(bot: Application, person: MakePerson) -> None:
    anna = person(501, "en")
    welcome = await anna.say("/start")
    assert "resident or for a business" in welcome["text"]
    await anna.tap(welcome, "🏠 Resident")
    picker = anna.current(welcome)
    assert "Choose one or more districts" in picker["text"]
    assert "Heping" in anna.button_texts(picker)

    answer = await anna.tap(picker, "Heping")
    assert "Heping" in answer["text"]
    await anna.tap(picker, "Tiexi")
    assert "✅ Heping" in anna.button_texts(picker)
    assert "✅ Tiexi" in anna.button_texts(picker)
    await anna.tap(picker, "✔️ Done")
    assert "Heping, Tiexi" in anna.current(picker)["text"]

    stored = await subscribers_of(bot, 501)
    assert stored is not None
    assert stored.kind is SubscriberKind.RESIDENT
    assert set(stored.districts) == {"heping", "tiexi"}
    assert stored.language == "en"


async def test_a_residents_onboarding_starts_no_chat_flow(bot: Application, person: MakePerson) -> None:
    # Buttons carry what they need: /start, the kind and the districts write no flow state (in a surge of
    # newcomers that was a write transaction per /start and another per /subscribe that ended it).
    statements = Statements(bot.database)
    lena = person(511, "en")
    welcome = await lena.say("/start")
    await lena.tap(welcome, "🏠 Resident")
    await lena.tap(lena.current(welcome), "Heping")
    await lena.say("/subscribe tiexi")
    assert [text for text in statements.on("flow_states") if not text.lstrip().upper().startswith("SELECT")] == []
    stored = await subscribers_of(bot, 511)
    assert stored is not None and set(stored.districts) == {"heping", "tiexi"}


async def test_business_onboarding_in_chinese(bot: Application, person: MakePerson) -> None:
    wang = person(502, "zh-hans")
    welcome = await wang.say("/start")
    assert "居民身份" in welcome["text"]
    await wang.tap(welcome, "🏪 企业/商户")
    await wang.tap(welcome, "餐饮")
    assert "企业/商户名称" in wang.current(welcome)["text"]
    picker = await wang.say("老王烧烤")
    assert "请选择一个或多个区县" in picker["text"]
    await wang.tap(picker, "铁西区")
    await wang.tap(picker, "✔️ 完成")
    assert "铁西区" in wang.current(picker)["text"]

    stored = await subscribers_of(bot, 502)
    assert stored is not None
    assert stored.kind is SubscriberKind.BUSINESS
    assert stored.business_category is BusinessCategory.RESTAURANT
    assert stored.business_name == "老王烧烤"
    assert stored.language == "zh"
    assert stored.districts == ("tiexi",)


async def test_done_without_district_is_refused(bot: Application, person: MakePerson) -> None:
    anna = person(503)
    welcome = await anna.say("/start")
    await anna.tap(welcome, "🏠 Resident")
    answer = await anna.tap(welcome, "✔️ Done")
    assert answer.get("show_alert") is True
    assert "at least one district" in answer["text"]


async def test_start_when_subscribed_shows_subscription(bot: Application, person: MakePerson) -> None:
    anna = person(504)
    await anna.say("/subscribe heping")
    reply = await anna.say("/start")
    assert "already subscribed" in reply["text"]
    assert "Heping" in reply["text"]
    stored = await subscribers_of(bot, 504)
    assert stored is not None and stored.districts == ("heping",)


@pytest.mark.parametrize(
    ("words", "expected"),
    [
        ("heping", ["heping"]),
        ("和平区", ["heping"]),
        ("Heping", ["heping"]),
        ("和平", ["heping"]),
        ("Shenbei New District", ["shenbei"]),
        ("hunnan, 沈河区 tiexi", ["shenhe", "tiexi", "hunnan"]),
        ("铁西区、于洪区", ["tiexi", "yuhong"]),
    ],
)
async def test_subscribe_by_id_or_name(bot: Application, person: MakePerson, words: str, expected: list[str]) -> None:
    anna = person(505)
    reply = await anna.say(f"/subscribe {words}")
    assert "Subscribed to" in reply["text"]
    stored = await subscribers_of(bot, 505)
    assert stored is not None
    assert list(stored.districts) == expected


async def test_unknown_district_changes_nothing(bot: Application, person: MakePerson) -> None:
    anna = person(506)
    await anna.say("/subscribe heping")
    reply = await anna.say("/subscribe tiexi atlantis")
    assert "atlantis" in reply["text"]
    assert "Nothing was changed" in reply["text"]
    assert "Heping (heping)" in reply["text"]
    stored = await subscribers_of(bot, 506)
    assert stored is not None and stored.districts == ("heping",)


async def test_subscribe_twice_says_already(bot: Application, person: MakePerson) -> None:
    anna = person(507)
    await anna.say("/subscribe heping")
    reply = await anna.say("/subscribe heping tiexi")
    assert "Subscribed to: Tiexi" in reply["text"]
    assert "already subscribed to: Heping" in reply["text"]


async def test_subscribe_picker_without_arguments(bot: Application, person: MakePerson) -> None:
    anna = person(508)
    picker = await anna.say("/subscribe")
    await anna.tap(picker, "Dadong")
    await anna.tap(picker, "Huanggu")
    await anna.tap(picker, "✅ Dadong")  # a second tap removes it again
    stored = await subscribers_of(bot, 508)
    assert stored is not None and stored.districts == ("huanggu",)


async def test_unsubscribe_by_name_buttons_and_all(bot: Application, person: MakePerson) -> None:
    anna = person(509)
    await anna.say("/subscribe heping tiexi hunnan yuhong")
    reply = await anna.say("/unsubscribe 铁西区")
    assert "Unsubscribed from: Tiexi" in reply["text"]
    reply = await anna.say("/unsubscribe tiexi")
    assert "not subscribed to: Tiexi" in reply["text"]

    picker = await anna.say("/unsubscribe")
    assert anna.button_texts(picker)[:3] == ["❌ Heping", "❌ Hunnan", "❌ Yuhong"]
    await anna.tap(picker, "❌ Hunnan")
    assert "❌ Hunnan" not in anna.button_texts(picker)
    stored = await subscribers_of(bot, 509)
    assert stored is not None and stored.districts == ("heping", "yuhong")

    await anna.tap(picker, "❌ Unsubscribe from all")
    assert "no longer subscribed" in anna.current(picker)["text"]
    stored = await subscribers_of(bot, 509)
    assert stored is not None and stored.districts == ()

    await anna.say("/subscribe faku")
    reply = await anna.say("/unsubscribe all")
    assert "no longer subscribed" in reply["text"]


async def test_mysubs(bot: Application, person: MakePerson) -> None:
    anna = person(510)
    assert "not subscribed to any district" in (await anna.say("/mysubs"))["text"]
    await anna.say("/subscribe heping sujiatun")
    reply = await anna.say("/mysubs")
    assert "Heping, Sujiatun" in reply["text"]
    assert "resident" in reply["text"]
    assert "English" in reply["text"]


async def test_language_switch_typed_and_by_button(bot: Application, api: FakeBotAPI, person: MakePerson) -> None:
    anna = person(511, "en")
    reply = await anna.say("/language zh")
    assert "中文" in reply["text"]
    reply = await anna.say("/subscribe heping")
    assert "已订阅：和平区" in reply["text"]
    assert "区县：和平区" in (await anna.say("/mysubs"))["text"]
    # the chat's own command menu follows the language
    menus = [p for m, p in api.requests if m == "setMyCommands" and p.get("scope", {}).get("chat_id") == 511]
    assert menus and menus[-1]["commands"][0]["description"] == "订阅所在区县的预警"

    chooser = await anna.say("/language")
    await anna.tap(chooser, "English")
    assert "in English" in anna.current(chooser)["text"]
    assert "Subscribed to: Tiexi" in (await anna.say("/subscribe tiexi"))["text"]

    reply = await anna.say("/language klingon")
    assert "Unknown language klingon" in reply["text"]


async def test_forgetme_deletes_everything(bot: Application, person: MakePerson) -> None:
    anna = person(512)
    await anna.say("/subscribe heping tiexi")
    await anna.say("/language zh")
    confirm = await anna.say("/forgetme")
    await anna.tap(confirm, "取消")
    assert "未删除" in anna.current(confirm)["text"]
    assert await subscribers_of(bot, 512) is not None

    confirm = await anna.say("/forgetme")
    await anna.tap(confirm, "🗑 确定，全部删除")
    assert "不再保存" in anna.current(confirm)["text"]
    assert await subscribers_of(bot, 512) is None
    async with bot.database.connect() as conn:
        from sqlalchemy import text

        for table in ("subscribers", "subscriptions"):
            count = await conn.scalar(text(f"SELECT count(*) FROM {table} WHERE chat_id = 512"))
            assert count == 0, table
    # Telegram's language (en) applies again: nothing about the earlier choice was kept
    assert "not subscribed" in (await anna.say("/mysubs"))["text"]


async def test_restart_keeps_subscriptions(api: FakeBotAPI, config: AppConfig, person: MakePerson) -> None:
    anna = person(513)
    async with running_bot(config):
        await anna.say("/subscribe heping 浑南区")
        await anna.say("/language zh")
    async with running_bot(config):
        reply = await anna.say("/mysubs")
        assert "和平区、浑南区" in reply["text"]


async def test_html_in_business_name_is_escaped(bot: Application, api: FakeBotAPI, person: MakePerson) -> None:
    anna = person(514)
    welcome = await anna.say("/start")
    await anna.tap(welcome, "🏪 Business")
    await anna.tap(welcome, "LPG retailer")
    await anna.say("<b>Gas</b> & <i>Co</i> <script>")
    reply = await anna.say("/mysubs")
    assert "&lt;b&gt;Gas&lt;/b&gt; &amp; &lt;i&gt;Co&lt;/i&gt; &lt;script&gt;" in reply["text"]
    send = [p for m, p in api.requests if m == "sendMessage" and p["chat_id"] == 514][-1]
    assert send["parse_mode"] == "HTML"


async def test_business_name_validation(bot: Application, person: MakePerson) -> None:
    anna = person(515)
    welcome = await anna.say("/start")
    await anna.tap(welcome, "🏪 Business")
    await anna.tap(welcome, "Mining")
    reply = await anna.say("x" * 200)
    assert "1 to 128 characters" in reply["text"]
    picker = await anna.say("Fushun Mine No. 3")
    assert "Choose one or more districts" in picker["text"]


async def test_command_leaves_flow(bot: Application, person: MakePerson) -> None:
    anna = person(516)
    welcome = await anna.say("/start")
    await anna.tap(welcome, "🏪 Business")
    await anna.tap(welcome, "Other")
    help_text = await anna.say("/help")  # not taken as the business name
    assert "/subscribe" in help_text["text"]
    reply = await anna.say("Not a name any more")
    assert "do not know that command" in reply["text"]
    assert await subscribers_of(bot, 516) is None


async def test_help_for_official_and_resident(bot: Application, person: MakePerson) -> None:
    resident = await person(517).say("/help")
    assert "For officials" not in resident["text"]
    official = await person(1003).say("/help")
    assert "For officials" in official["text"]
    assert "Tiexi, Yuhong" in official["text"]


async def test_unknown_command_and_text(bot: Application, person: MakePerson) -> None:
    anna = person(518)
    assert "/help" in (await anna.say("/frobnicate"))["text"]
    assert "/help" in (await anna.say("hello"))["text"]


async def test_forged_callback_data_is_rechecked(bot: Application, api: FakeBotAPI, person: MakePerson) -> None:
    anna = person(519)
    picker = await anna.say("/subscribe")
    answer = await anna.tap(picker, "d:s:atlantis")
    assert answer.get("show_alert") is True
    answer = await anna.tap(picker, "kind:pirate")
    assert "no longer valid" in answer["text"]
    answer = await anna.tap(picker, "lang:fr")
    assert "Unknown language fr" in anna.current(picker)["text"]
    stored = await subscribers_of(bot, 519)
    assert stored is not None and stored.districts == ()


async def test_command_menu_registered_in_both_languages(bot: Application, api: FakeBotAPI, person: MakePerson) -> None:
    await person(520).say("/help")  # polling has started, so startup has run
    # menus are set in the background (startup never waits for Telegram): wait for the last of them
    await api.wait_until(
        lambda: any(m == "setMyCommands" and p.get("scope", {}).get("chat_id") == 1001 for m, p in api.requests)
    )
    menus = {p.get("language_code"): p for m, p in api.requests if m == "setMyCommands" and "scope" not in p}
    menus |= {
        p.get("language_code"): p
        for m, p in api.requests
        if m == "setMyCommands" and p.get("scope", {}).get("type") == "default"
    }
    assert {"zh", "en"} <= set(menus)
    names = [c["command"] for c in menus["en"]["commands"]]
    assert names == ["start", "subscribe", "unsubscribe", "mysubs", "language", "quiet", "forgetme", "help"]
    official_menu = [p for m, p in api.requests if m == "setMyCommands" and p.get("scope", {}).get("chat_id") == 1001]
    assert [c["command"] for c in official_menu[-1]["commands"]][-3:] == ["alert", "campaigns", "stats"]
    assert menus["zh"]["commands"][-1]["description"] == "帮助"


async def test_group_chat_is_sent_to_private(bot: Application, api: FakeBotAPI) -> None:
    api.send_text(601, "/subscribe heping", chat_id=-1001, chat_type="group")
    reply = await api.wait_for_message(-1001)
    assert "private chat" in reply["text"]


async def test_subscriptions_on_postgresql_survive_a_restart(api: FakeBotAPI, person: MakePerson) -> None:
    async with fresh_postgres() as url:
        config = make_config(api, url)
        anna, wang = person(521, "en"), person(522, "zh")
        async with running_bot(config):
            welcome = await anna.say("/start")
            await anna.tap(welcome, "🏠 Resident")
            await anna.tap(welcome, "Heping")
            await anna.tap(welcome, "✔️ Done")
            await wang.say("/subscribe 铁西区 于洪区")
            await wang.say("/unsubscribe yuhong")
        async with running_bot(config) as bot:
            assert "Heping" in (await anna.say("/mysubs"))["text"]
            assert "区县：铁西区" in (await wang.say("/mysubs"))["text"]
            assert await bot.dispatcher["subscriptions"].counts_by_district() == {"heping": 1, "tiexi": 1}
