"""Campaigns with a controlled clock: every time is passed in, nothing sleeps through real time.

The service is driven directly (`fire`, `run_due`, `catch_up`, `send_follow_ups`) against real databases
(SQLite and PostgreSQL: `backend_url`);
where messages must actually go out, the real bot sends them through the Bot API test double.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from alertbot.config import AppConfig
from alertbot.core.domain import BusinessCategory
from alertbot.sandbox.botapi import FakeBotAPI
from alertbot.services.container import Services, build_services
from alertbot.services.drafts import AlertDraft
from alertbot.storage.tables import campaign_occurrences, deliveries
from tests.bounds import assert_values_fit
from tests.harness import delivery_rows, make_config, running_bot, seed_business, seed_residents, wait_until_done

SHANGHAI = ZoneInfo("Asia/Shanghai")
WEEKLY_CO = {
    "id": "winter_co",
    "template": "winter_co",
    "schedule": "0 19 * * 5",
    "audience": "all",
    "districts": ["heping"],
    "season": {"from": "11-01", "to": "03-15"},
    "variables": {"hotline": "96177"},
}
LPG = {"id": "summer_lpg_restaurant", "template": "summer_lpg_restaurant", "schedule": "0 10 * * 1",
       "audience": "business:restaurant", "districts": ["*"], "ack": True, "follow_up_after": "3d"}  # fmt: skip


def local(*args: int, zone: ZoneInfo = SHANGHAI) -> datetime:
    return datetime(*args, tzinfo=zone)  # type: ignore[misc]


def config_with(api: FakeBotAPI, db: Path | str, *campaigns: dict[str, Any], **sections: Any) -> AppConfig:
    return make_config(api, db, campaigns=list(campaigns), **sections)  # type: ignore[arg-type]


@pytest.fixture
async def services(api: FakeBotAPI, backend_url: str) -> Any:
    built = await build_services(config_with(api, backend_url, WEEKLY_CO, LPG, bot={"quiet_hours": "22:00-07:00"}))
    await seed_residents(built.database, range(100, 110), ("heping",))
    await seed_residents(built.database, range(200, 205), ("tiexi",))
    yield built
    await built.database.close()


async def occurrence_rows(services: Services) -> list[Any]:
    async with services.database.connect() as conn:
        query = sa.select(campaign_occurrences).order_by(campaign_occurrences.c.occurrence_at)
        return list((await conn.execute(query)).all())


async def test_each_occurrence_fires_once(services: Services) -> None:
    campaigns = services.campaigns
    friday = local(2026, 12, 4, 19, 0)
    first = await campaigns.fire("winter_co", friday)
    again = await campaigns.fire("winter_co", friday)
    assert (first.status, again.status) == ("sent", "duplicate")
    assert first.broadcast is not None and first.broadcast.recipients == 10
    assert len(await delivery_rows(services.database, first.broadcast.id)) == 10
    assert "96177" in first.broadcast.texts["zh"] and "2026-12-04 19:00" in first.broadcast.texts["zh"]
    # the scheduler firing a little late still finds the same occurrence
    late = await campaigns.run_due("winter_co", friday + timedelta(seconds=40))
    assert late is not None and late.status == "duplicate"
    assert [r.status for r in await occurrence_rows(services)] == ["sent"]


LONGEST_ID = "winter_carbon_monoxide_reminder_for_every_distri"  # 48 characters, the most allowed


async def test_a_campaign_with_the_longest_id_fires_once_pauses_and_follows_up(
    api: FakeBotAPI, backend_url: str
) -> None:
    assert len(LONGEST_ID) == 48
    campaign = WEEKLY_CO | {"id": LONGEST_ID, "ack": True, "follow_up_after": "1d"}
    services = await build_services(config_with(api, backend_url, campaign, bot={"quiet_hours": ""}))
    try:
        await seed_residents(services.database, range(500, 505), ("heping",))
        campaigns = services.campaigns
        friday = local(2026, 12, 4, 19, 0)
        first = await campaigns.fire(LONGEST_ID, friday)
        assert first.status == "sent" and first.broadcast is not None and first.broadcast.recipients == 5
        assert (await campaigns.fire(LONGEST_ID, friday)).status == "duplicate"
        late = await campaigns.run_due(LONGEST_ID, friday + timedelta(seconds=40))
        assert late is not None and late.status == "duplicate"
        async with services.database.transaction() as conn:  # as if the dispatcher had sent them
            await conn.execute(deliveries.update().values(state="sent"))
        [follow_up] = await campaigns.send_follow_ups(friday + timedelta(days=1, minutes=1))
        assert follow_up.recipients == 5

        await campaigns.set_paused(1001, LONGEST_ID, True)
        paused = await campaigns.fire(LONGEST_ID, friday + timedelta(days=7))
        assert paused.status == "paused"
        await campaigns.set_paused(1001, LONGEST_ID, False)
        assert (await campaigns.run_now(1001, LONGEST_ID, friday + timedelta(days=8))).status == "sent"
        assert [r.status for r in await occurrence_rows(services)] == ["sent", "paused", "sent"]
        await assert_values_fit(services.database)
    finally:
        await services.database.close()


async def test_restart_within_grace_sends_once_and_past_it_not_at_all(services: Services) -> None:
    campaigns = services.campaigns
    friday = local(2026, 12, 4, 19, 0)
    results = await campaigns.catch_up(friday + timedelta(hours=2))  # down over the occurrence, back in grace
    assert [(r.status, r.occurrence_at) for r in results] == [("sent", friday.astimezone(UTC))]
    assert await campaigns.catch_up(friday + timedelta(hours=3)) == []  # a second restart: nothing again

    next_friday = friday + timedelta(days=7)
    late = await campaigns.catch_up(next_friday + timedelta(hours=7))  # grace is 6 h
    assert [(r.status, r.occurrence_at) for r in late] == [("missed", next_friday.astimezone(UTC))]
    rows = await occurrence_rows(services)
    assert [(r.status, r.broadcast_id is not None) for r in rows] == [("sent", True), ("missed", False)]


async def test_two_instances_on_one_database_send_once(api: FakeBotAPI, database_url: str) -> None:
    config = config_with(api, database_url, WEEKLY_CO)
    first, second = await build_services(config), await build_services(config)
    try:
        await seed_residents(first.database, range(300, 320), ("heping",))
        friday = local(2026, 12, 11, 19, 0)
        results = await asyncio.gather(
            *(
                s.campaigns.run_due("winter_co", friday + timedelta(seconds=n))
                for n in range(3)
                for s in (first, second)
            )
        )
        assert sorted(r.status for r in results if r) == ["duplicate"] * 5 + ["sent"]
        catch_up = await asyncio.gather(first.campaigns.catch_up(friday), second.campaigns.catch_up(friday))
        assert catch_up == [[], []]
        async with first.database.connect() as conn:
            assert await conn.scalar(sa.select(sa.func.count()).select_from(deliveries)) == 20
    finally:
        await first.database.close()
        await second.database.close()


async def test_season_windows_that_wrap_the_year(services: Services) -> None:
    campaigns = services.campaigns
    in_january = await campaigns.fire("winter_co", local(2027, 1, 8, 19, 0))
    on_last_day = await campaigns.fire("winter_co", local(2027, 3, 12, 19, 0))
    in_june = await campaigns.fire("winter_co", local(2027, 6, 4, 19, 0))
    assert (in_january.status, on_last_day.status, in_june.status) == ("sent", "sent", "out_of_season")
    # next run from summer: the first Friday on or after 1 November
    assert campaigns.next_run("winter_co", local(2027, 6, 4, 20, 0)) == local(2027, 11, 5, 19, 0).astimezone(UTC)
    season = campaigns.campaigns["winter_co"].season
    assert season is not None and season.contains(12, 31) and season.contains(1, 1) and not season.contains(7, 1)


@pytest.mark.parametrize(
    ("zone", "schedule", "days", "expected_utc_hours"),
    [
        # no daylight saving time: 02:30 every day is 18:30 UTC the day before, always
        ("Asia/Shanghai", "30 2 * * *", (2026, 3, 6), [18, 18, 18, 18, 18]),
        # spring forward on 8 March: 02:30 does not exist that day and is taken at 03:30 (07:30 UTC), once
        ("America/New_York", "30 2 * * *", (2026, 3, 6), [7, 7, 7, 6, 6]),
        # fall back on 1 November: 01:30 happens twice that night and is sent once
        ("America/New_York", "30 1 * * *", (2026, 10, 30), [5, 5, 5, 6, 6]),
    ],
)
async def test_daylight_saving_time_changes_neither_skip_nor_repeat(
    api: FakeBotAPI,
    backend_url: str,
    zone: str,
    schedule: str,
    days: tuple[int, int, int],
    expected_utc_hours: list[int],
) -> None:
    campaign = WEEKLY_CO | {"schedule": schedule, "season": None}
    config = config_with(api, backend_url, campaign, bot={"timezone": zone, "quiet_hours": ""})
    services = await build_services(config)
    try:
        start = datetime(*days, tzinfo=ZoneInfo(zone))
        times = services.campaigns.fire_times("winter_co", start, start + timedelta(days=5))
        assert [t.hour for t in times] == expected_utc_hours
        sent = [await services.campaigns.run_due("winter_co", t + timedelta(hours=1)) for t in times]
        assert [r.status for r in sent if r] == ["sent"] * 5
        if zone == "America/New_York" and days[1] == 10:  # the repeated hour: APScheduler fires again
            repeat = times[2] + timedelta(hours=1)
            again = await services.campaigns.run_due("winter_co", repeat)
            assert again is not None and again.status == "duplicate"
    finally:
        await services.database.close()


async def test_quiet_hours_defer_reminders_but_not_warnings(services: Services) -> None:
    late_evening = local(2026, 12, 4, 23, 0)
    await services.subscriptions.set_quiet_hours(101, "zh", None)  # this person wants no quiet hours
    await services.subscriptions.set_quiet_hours(
        102, "zh", __import__("alertbot.core.quiet").core.quiet.QuietHours.parse("23:30-06:00")
    )
    result = await services.campaigns.fire("winter_co", late_evening)
    assert result.broadcast is not None
    rows = {r.chat_id: r for r in await delivery_rows(services.database, result.broadcast.id)}
    seven_am = local(2026, 12, 5, 7, 0).astimezone(UTC)
    assert rows[100].not_before.replace(tzinfo=UTC) == seven_am  # the default 22:00-07:00
    assert rows[101].not_before.replace(tzinfo=UTC) == late_evening.astimezone(UTC)
    assert rows[102].not_before.replace(tzinfo=UTC) == late_evening.astimezone(UTC)  # before 23:30

    warning = await services.alerts.confirm(
        1001, AlertDraft("gas_leak", {"location": "x", "hotline": "1"}, ("heping",))
    )
    warning_rows = await delivery_rows(services.database, warning.broadcast.id)
    assert all(r.not_before.replace(tzinfo=UTC) <= datetime.now(UTC) for r in warning_rows)


async def test_acks_are_recorded_once_and_follow_ups_reach_only_non_confirmers(
    api: FakeBotAPI, backend_url: str
) -> None:
    config = config_with(api, backend_url, LPG, bot={"quiet_hours": ""}, dispatch={"rate": 200, "paid_broadcast": True})
    async with running_bot(config) as bot:
        for chat in range(400, 406):
            await seed_business(bot.database, chat, BusinessCategory.RESTAURANT, ("heping",))
        await seed_business(bot.database, 406, BusinessCategory.LPG_RETAILER, ("heping",))
        campaigns = bot.services.campaigns
        now = datetime.now(UTC)
        fired = await campaigns.fire("summer_lpg_restaurant", now)
        assert fired.broadcast is not None and fired.broadcast.recipients == 6
        await wait_until_done(bot, fired.broadcast.id)
        occurrence = fired.broadcast.occurrence_id
        assert occurrence is not None
        reminder = api.messages(400)[-1]
        assert [data for _, data in api.buttons(reminder)] == [f"ack:{occurrence}"]
        assert api.messages(406) == []

        first = await campaigns.acknowledge(occurrence, 400)
        again = await campaigns.acknowledge(occurrence, 400)
        assert (first.new, again.new) == (True, False)
        await campaigns.acknowledge(occurrence, 401)
        with pytest.raises(Exception, match="did not receive"):
            await campaigns.acknowledge(occurrence, 406)

        assert await campaigns.send_follow_ups(now + timedelta(days=2)) == []  # not due yet
        [follow_up] = await campaigns.send_follow_ups(now + timedelta(days=3, minutes=1))
        targets = {r.chat_id for r in await delivery_rows(bot.database, follow_up.id)}
        assert targets == {402, 403, 404, 405}
        assert follow_up.texts["zh"].startswith("🔁 <b>再次提醒") and follow_up.ack
        assert await campaigns.send_follow_ups(now + timedelta(days=4)) == []  # one follow-up only
        await campaigns.acknowledge(occurrence, 402)  # confirming from the follow-up counts too
        counts = (await campaigns.views(now))[0].counts
        assert (counts.delivered, counts.acknowledged) == (6, 3)


async def test_a_warning_overtakes_a_campaign_in_progress(api: FakeBotAPI, backend_url: str) -> None:
    campaign = WEEKLY_CO | {"districts": ["*"], "season": None}
    config = config_with(api, backend_url, campaign, bot={"quiet_hours": ""}, dispatch={"rate": 30})
    async with running_bot(config) as bot:
        await seed_residents(bot.database, range(10_000, 10_600), ("faku",))
        await seed_residents(bot.database, [900, 901], ("kangping",))
        reminder = await bot.services.campaigns.fire("winter_co", datetime.now(UTC))
        assert reminder.broadcast is not None and reminder.broadcast.recipients == 602
        await api.wait_until(lambda: len(api.calls("sendMessage")) >= 15, timeout=10)
        warning = await bot.services.alerts.confirm(
            1001, AlertDraft("gas_leak", {"location": "x", "hotline": "1"}, ("kangping",))
        )
        await wait_until_done(bot, warning.broadcast.id, timeout=5)
        remaining = await bot.services.broadcasts.counts(reminder.broadcast.id)
        assert remaining.open > 400  # the warning did not wait for the campaign
        kangping = [m for c in (900, 901) for m in api.messages(c)]
        assert any("燃气泄漏" in m["text"] for m in kangping)


async def test_campaign_with_unknown_template_is_a_config_error(api: FakeBotAPI, db_path: Path) -> None:
    from alertbot.core.errors import ConfigError

    with pytest.raises(ConfigError, match=r"campaigns\[0\]\.template"):
        await build_services(config_with(api, db_path, WEEKLY_CO | {"template": "gas_leak"}))
    with pytest.raises(ConfigError, match=r"campaigns\[0\]\.variables"):
        await build_services(config_with(api, db_path, WEEKLY_CO | {"variables": {"colour": "red"}}))
