"""District channels, end to end: the real bot posts a warning to its districts' channels (Bot API double) before
any direct message, once per channel, in the channel's language, never for an exercise; follow-ups reply to
the original post; a channel the bot cannot use is reported at start and by `alertbot check --online`; the
preview shows each channel's members, the estimated time to the last direct message and the paid note."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import sys
from pathlib import Path
from typing import Any

import pytest

from alertbot.config import load_config
from alertbot.content.i18n import Texts
from alertbot.core.domain import Severity
from alertbot.sandbox.botapi import FakeBotAPI
from alertbot.services.container import build_services
from alertbot.services.drafts import AlertDraft
from alertbot.services.reach import reach_notes
from tests.harness import (
    REPO,
    make_config,
    process_environment,
    running_bot,
    seed_residents,
    wait_until_done,
    write_config,
)

OFFICER, SUPERVISOR = 1001, 1002
LEAK = {"location": "北二马路 12 号", "hotline": "96177"}
HEPING_ZH, HEPING_EN = -1001000000001, -1001000000002
CHANNELS = {"heping": {"zh": "@heping_alerts", "en": str(HEPING_EN)}, "tiexi": {"zh": "@heping_alerts"}}


def gas_leak(*districts: str, **changes: Any) -> AlertDraft:
    return AlertDraft(**({"template_id": "gas_leak", "variables": LEAK, "districts": districts} | changes))


def with_channels(api: FakeBotAPI, db_path: Path, **sections: Any) -> Any:
    base = make_config(api, db_path, **sections)
    districts = [
        d.model_dump(mode="python") | ({"channels": CHANNELS[d.id]} if d.id in CHANNELS else {}) for d in base.districts
    ]
    return make_config(api, db_path, districts=districts, **sections)  # type: ignore[arg-type]


def add_channels(api: FakeBotAPI, **rights: Any) -> None:
    api.add_channel(HEPING_ZH, username="heping_alerts", title="和平区预警", members=52_000, **rights)
    api.add_channel(HEPING_EN, title="Heping alerts", members=1_300)


async def test_channel_posts_go_first_once_per_channel_in_its_language(api: FakeBotAPI, db_path: Path) -> None:
    add_channels(api)
    config = with_channels(api, db_path, dispatch={"rate": 30, "progress_interval": "1s"})
    async with running_bot(config) as bot:
        await seed_residents(bot.database, range(100, 130), ("heping",), "zh")
        await seed_residents(bot.database, range(130, 140), ("tiexi",), "en")
        preview = await bot.services.alerts.preview(OFFICER, gas_leak("heping", "tiexi"))
        confirmation = await bot.services.alerts.confirm(OFFICER, preview.draft, report_chat_id=OFFICER)
        await wait_until_done(bot, confirmation.broadcast.id)
        report = await api.wait_until(
            lambda: next((m["text"] for m in api.messages(OFFICER) if "✅" in (m.get("text") or "")), None), timeout=10
        )
        # the report: when each channel post went out, to how many members, and the first and last delivery
        assert "📢 @heping_alerts" in report and "52,000" in report and f"📢 {HEPING_EN}" in report, report
        assert "首条送达用时" in report or "First delivery after" in report, report
        # the shared channel (heping and tiexi) once, in its language; the English one in English
        assert [m["text"] for m in api.messages(HEPING_ZH)] == [preview.texts["zh"]]
        assert [m["text"] for m in api.messages(HEPING_EN)] == [preview.texts["en"]]
        first_direct = min(api.messages(c)[0]["sent_at"] for c in range(100, 140))
        last_post = max(api.messages(c)[0]["sent_at"] for c in (HEPING_ZH, HEPING_EN))
        assert last_post < first_direct, "a direct message went out before the channel posts"
        posts = await bot.services.channel_posts.of(confirmation.broadcast.id)
        assert {(p.channel, p.language, p.state.value) for p in posts} == {
            ("@heping_alerts", "zh", "sent"), (str(HEPING_EN), "en", "sent"),
        }  # fmt: skip

        update = await bot.services.alerts.follow_up_draft(OFFICER, confirmation.broadcast.id, "update")
        followed = await bot.services.alerts.confirm(
            OFFICER, dataclasses.replace(update, variables={"details": "阀门已关闭"})
        )
        await wait_until_done(bot, followed.broadcast.id)
        correction = await bot.services.alerts.follow_up_draft(OFFICER, confirmation.broadcast.id, "sent_in_error")
        corrected = await bot.services.alerts.confirm(OFFICER, correction)
        await wait_until_done(bot, corrected.broadcast.id)
        for channel in (HEPING_ZH, HEPING_EN):
            original, *follow_ups = api.messages(channel)
            assert len(follow_ups) == 2
            assert all(m["reply_to_message"]["message_id"] == original["message_id"] for m in follow_ups)

        exercise = await bot.services.alerts.confirm(OFFICER, gas_leak("heping", exercise=True))
        await wait_until_done(bot, exercise.broadcast.id)
        assert len(api.messages(HEPING_ZH)) == 3 and len(api.messages(HEPING_EN)) == 3  # never for an exercise
        assert await bot.services.channel_posts.of(exercise.broadcast.id) == []


async def test_a_channel_the_bot_cannot_post_to_is_reported_and_holds_nothing_up(
    api: FakeBotAPI, db_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    add_channels(api, bot_status="member")  # the Chinese channel: the bot was never made an administrator
    config = with_channels(api, db_path, dispatch={"rate": 30})
    with caplog.at_level(logging.WARNING):
        async with running_bot(config) as bot:
            await api.wait_until(lambda: "@heping_alerts cannot be used" in caplog.text, timeout=5)
            assert str(HEPING_EN) not in caplog.text  # the usable one is not reported
            await seed_residents(bot.database, range(200, 210), ("heping",))
            confirmation = await bot.services.alerts.confirm(OFFICER, gas_leak("heping"))
            await wait_until_done(bot, confirmation.broadcast.id)
            assert all(api.messages(c) for c in range(200, 210))  # direct messages still went out
            assert len(api.messages(HEPING_EN)) == 1 and api.messages(HEPING_ZH) == []
            states = {p.channel: p.state.value for p in await bot.services.channel_posts.of(confirmation.broadcast.id)}
            assert states == {"@heping_alerts": "failed", str(HEPING_EN): "sent"}


async def test_check_online_reports_each_channel_it_cannot_use(api: FakeBotAPI, tmp_path: Path) -> None:
    api.add_channel(HEPING_ZH, username="heping_alerts", members=52_000, can_post_messages=False)
    api.add_channel(HEPING_EN, title="Heping alerts", members=1_300)
    path = write_config(tmp_path, api, tmp_path / "check.db")
    text = path.read_text(encoding="utf-8").replace(
        'name = { zh = "和平区", en = "Heping" }',
        f'name = {{ zh = "和平区", en = "Heping" }}\nchannels = {{ zh = "@heping_alerts", en = "{HEPING_EN}" }}',
    )
    path.write_text(text, encoding="utf-8")
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "alertbot", "check", "--online", "--config", str(path), cwd=REPO,
        env=process_environment(ALERTBOT_TELEGRAM_TOKEN=api.token),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode == 0, err.decode()
    assert (
        "warning: channel @heping_alerts cannot be used: the bot is an administrator but may not post" in err.decode()
    )
    assert f"channel {HEPING_EN} (Heping alerts): OK, 1300 members" in out.decode()
    assert api.token not in out.decode() + err.decode()


async def test_preview_shows_reach_eta_and_what_paid_speed_costs(api: FakeBotAPI, db_path: Path) -> None:
    """Services without a running sender: what is queued stays queued, so the ETA counts it as ahead."""
    add_channels(api)
    dispatch = {"rate": 30, "paid_for": ["extreme"], "paid_rate": 500, "paid_price_stars": 0.1}
    config = with_channels(api, db_path, dispatch=dispatch)
    services = await build_services(config)
    try:
        await seed_residents(services.database, range(1000, 1600), ("heping",), "zh")
        await seed_residents(services.database, range(2000, 2300), ("tiexi",), "en")
        severe = await services.alerts.preview(OFFICER, gas_leak("tiexi"))
        assert severe.estimate is not None and not severe.estimate.paid
        assert severe.estimate.seconds == pytest.approx(300 / (30 * 0.98), rel=0.01)
        assert severe.channels[0].members is None  # no lookup connected: unknown, not made up
        await services.alerts.confirm(OFFICER, severe.draft)  # 300 severe ones now queued

        extreme = await services.alerts.preview(OFFICER, gas_leak("heping", severity=Severity.EXTREME))
        assert extreme.estimate is not None and extreme.estimate.paid and extreme.estimate.ahead == 0
        assert extreme.estimate.seconds == pytest.approx(600 / (500 * 0.98), rel=0.01)
        charged = 600 - int(30 * 600 / 500)  # the first 30/s of the 1.2 s are free
        assert (extreme.estimate.charged, extreme.estimate.stars) == (charged, round(charged * 0.1, 1))
        another = await services.alerts.preview(OFFICER, gas_leak("tiexi", severity=Severity.MODERATE))
        assert another.estimate is not None and another.estimate.ahead == 300  # behind the severe warning
        assert another.estimate.seconds == pytest.approx(600 / (30 * 0.98), rel=0.01)

        from alertbot.telegram.channels import look_up
        from alertbot.telegram.factory import create_bot

        bot = create_bot(config)
        services.channels.connect(lambda channel: look_up(bot, channel))
        try:
            extreme = await services.alerts.preview(OFFICER, gas_leak("heping", severity=Severity.EXTREME))
        finally:
            await bot.session.close()
        assert [(c.channel, c.members, c.usable) for c in extreme.channels] == [
            ("@heping_alerts", 52_000, True), (str(HEPING_EN), 1_300, True),
        ]  # fmt: skip
        notes = "\n".join(reach_notes(Texts(services.translator, "en"), extreme))
        assert "📢 Channel @heping_alerts (Chinese): 52,000 members, posted first" in notes
        assert "Chinese: channels 52,000 · direct 600 · last in about 2 s" in notes
        assert "English: channels 1,300 · direct 0 · last in about 2 s" in notes
        assert "All 600 direct messages out in about 2 s (500 msg/s)" in notes
        assert f"about {charged} messages above the free limit ≈ {round(charged * 0.1, 1):g} Telegram Stars" in notes
    finally:
        await services.database.close()


def test_channels_in_config_are_checked(tmp_path: Path) -> None:
    example = (REPO / "config.example.toml").read_text(encoding="utf-8")
    bad = example.replace(
        'name = { zh = "和平区", en = "Heping" }',
        'name = { zh = "和平区", en = "Heping" }\nchannels = { zh = "heping" }',
    )
    path = tmp_path / "config.toml"
    path.write_text(bad, encoding="utf-8")
    with pytest.raises(Exception, match="channels"):
        load_config(path)


async def test_direct_messages_wait_for_a_channel_post_held_by_the_channels_limit(
    api: FakeBotAPI, db_path: Path
) -> None:
    """Two warnings seconds apart: the second post waits for the channel's per-chat spacing, and so do its
    direct messages (they never overtake the post that reaches everyone)."""
    add_channels(api)
    config = with_channels(api, db_path, dispatch={"rate": 30})
    async with running_bot(config) as bot:
        await seed_residents(bot.database, range(300, 310), ("heping",), "zh")
        first = await bot.services.alerts.confirm(OFFICER, gas_leak("heping"))
        await api.wait_until(lambda: len(api.messages(HEPING_ZH)) == 1, timeout=5)
        second = await bot.services.alerts.confirm(OFFICER, gas_leak("heping", variables=LEAK | {"location": "南京街"}))
        await wait_until_done(bot, first.broadcast.id)
        await wait_until_done(bot, second.broadcast.id)
        posted = api.messages(HEPING_ZH)[1]["sent_at"]
        direct = [m["sent_at"] for c in range(300, 310) for m in api.messages(c)[1:]]
        assert len(direct) == 10 and posted < min(direct)
        assert posted - api.messages(HEPING_ZH)[0]["sent_at"] >= 2.9  # the channel's spacing was kept
