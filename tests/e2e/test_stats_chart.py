"""/stats's chart, end to end: the real bot sends a PNG (sendPhoto) to the Bot API test double, with the text
tables as its caption when they fit (1024 characters), else right after it; without a chart, the tables alone.

The districts' tables themselves are checked in test_campaign_chat.py.
"""

from __future__ import annotations

import io
import logging
import re
import struct
from pathlib import Path

import pytest

from alertbot.app import Application
from alertbot.config import AppConfig
from alertbot.sandbox.botapi import FakeBotAPI
from alertbot.telegram.handlers.campaigns import stats as stats_handler
from tests.e2e.test_campaign_chat import (
    OFFICER,
    RESIDENT,
    SUMMER,
    TIEXI_HEATING,
    TIEXI_OFFICER,
    WINTER_CO,
    MakePerson,
    ask_stats,
    confirmed_in_heping,
)
from tests.harness import make_config

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
# Campaigns in Faku County only, asking for confirmations: outside a Tiexi officer's scope; with them a
# city-wide officer's tables are too long for a caption.
FAKU_CHECKS = [
    {**SUMMER, "id": f"faku_check_{n}", "districts": ["faku"], "audience": "businesses"} for n in range(1, 11)
]


@pytest.fixture
def config(api: FakeBotAPI, db_path: Path) -> AppConfig:
    return make_config(
        api,
        db_path,
        campaigns=[SUMMER, WINTER_CO, TIEXI_HEATING, *FAKU_CHECKS],  # type: ignore[arg-type]
        # no quiet hours: the reminder of confirmed_in_heping would wait for their end when the tests run at night
        bot={"quiet_hours": "", "throttle_rate": 100.0, "throttle_burst": 100},
        dispatch={"progress_interval": 0.2},
        scheduler={"grace": "1s"},
    )


def png_size(data: bytes) -> tuple[int, int]:
    """Width and height of a PNG, after checking it decodes."""
    from matplotlib.image import imread

    assert data[:8] == PNG_SIGNATURE and data[12:16] == b"IHDR", data[:16]
    width, height = struct.unpack(">II", data[16:24])
    pixels = imread(io.BytesIO(data), format="png")
    assert pixels.shape[:2] == (height, width)
    return width, height


async def test_stats_sends_a_phone_sized_chart_with_the_tables_as_its_caption(
    bot: Application, api: FakeBotAPI, person: MakePerson, tmp_path: Path
) -> None:
    await confirmed_in_heping(bot, person)
    tiexi = person(TIEXI_OFFICER, "zh-hans")
    chart, tables = await ask_stats(tiexi)

    assert [method for method, _ in api.uploads] == ["sendPhoto"]
    upload = chart["file"]
    assert upload.filename == "stats.png"
    width, height = png_size(upload.data)
    assert width == 1080 and height >= 600  # a phone's width; as tall as the districts and campaigns need
    (tmp_path / "stats-zh.png").write_bytes(upload.data)  # to look at
    assert "各区县有效订阅人数</b>\n<pre>区县" in tables
    assert re.search(r"\n铁西区 +2 +1 +3\n", tables) and re.search(r"\n于洪区 +0 +0 +0", tables)
    assert re.search(r"\n铁西区 +1 +0 +0%", tables)
    assert "和平区" not in tables and tables.count("<pre>") == 2  # the official's districts and campaigns only
    assert len(chart["caption"]) <= 1024
    assert [m["method"] for m in tiexi.messages] == ["sendPhoto"]  # the tables are not sent twice


async def test_tables_too_long_for_a_caption_follow_the_chart(
    bot: Application, api: FakeBotAPI, person: MakePerson, tmp_path: Path
) -> None:
    await confirmed_in_heping(bot, person)
    officer = person(OFFICER, "en")
    chart, tables = await ask_stats(officer, last="no reminders delivered yet.")

    assert chart["caption"] is None
    assert png_size(chart["file"].data)[0] == 1080
    (tmp_path / "stats-en.png").write_bytes(chart["file"].data)
    assert "Active subscribers by district</b>\n<pre>District" in tables
    assert re.search(r"\nHeping +3 +1 +4\n", tables) and re.search(r"\nTiexi +2 +1 +3\n", tables)
    assert re.search(r"\nHeping +1 +1 +100%\n", tables)
    assert tables.count(": no reminders delivered yet.") == 10  # each Faku check
    methods = [m["method"] for m in officer.messages]
    assert methods[0] == "sendPhoto" and set(methods[1:]) == {"sendMessage"}, methods


async def test_a_non_official_gets_no_chart(bot: Application, api: FakeBotAPI, person: MakePerson) -> None:
    await confirmed_in_heping(bot, person)
    resident = person(RESIDENT, "en")
    refused = await resident.say("/stats")
    assert "for officials only" in refused["text"]
    assert [m["method"] for m in resident.messages] == ["sendMessage"]
    assert api.uploads == []


async def test_without_a_chart_the_tables_come_alone(
    bot: Application,
    api: FakeBotAPI,
    person: MakePerson,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    def broken(*_: object) -> bytes:
        raise RuntimeError("no canvas today")

    monkeypatch.setattr(stats_handler, "stats_chart", broken)
    await confirmed_in_heping(bot, person)
    tiexi = person(TIEXI_OFFICER, "zh-hans")
    with caplog.at_level(logging.ERROR, logger=stats_handler.__name__):
        answer = await tiexi.say("/stats")
    assert re.search(r"\n铁西区 +2 +1 +3\n", answer["text"])
    assert [m["method"] for m in tiexi.messages] == ["sendMessage"] and api.uploads == []
    [record] = [r for r in caplog.records if r.name == stats_handler.__name__]
    assert "could not draw the /stats chart" in record.getMessage() and record.exc_info is not None
