"""Pure pieces: district names, Telegram HTML, the throttling bucket, config loading, UI catalogs."""

from __future__ import annotations

import pytest

from alertbot.content.i18n import Translator, language_for
from alertbot.content.telegram_html import TelegramHtmlError, check_telegram_html
from alertbot.content.templates import SYSTEM_SAMPLES, MessageTemplates, TemplateProblem
from alertbot.core.domain import LANGUAGES
from alertbot.core.errors import UnknownDistrictError
from alertbot.services.districts import DistrictDirectory
from alertbot.telegram.middlewares import TokenBuckets
from tests.harness import EXAMPLE_CONFIG


@pytest.fixture
def directory() -> DistrictDirectory:
    from alertbot.config import load_config

    return DistrictDirectory(load_config(EXAMPLE_CONFIG).districts)


def test_example_config_has_shenyang_districts(directory: DistrictDirectory) -> None:
    assert len(directory) == 13
    assert directory.name("shenbei", "zh") == "沈北新区"
    assert directory.name("shenbei", "en") == "Shenbei New District"


@pytest.mark.parametrize(
    ("text", "district"),
    [("heping", "heping"), ("HEPING", "heping"), ("和平区", "heping"), ("和平", "heping"),
     ("Heping District", "heping"), ("沈北新区", "shenbei"), ("沈北", "shenbei"), ("Faku", "faku"),
     ("法库县", "faku"), ("Kangping County", "kangping"), ("新民市", "xinmin"), ("ｈｅｐｉｎｇ", "heping")],
)  # fmt: skip
def test_find_district(directory: DistrictDirectory, text: str, district: str) -> None:
    assert directory.find(text) == district


def test_resolve_reports_every_unknown_word(directory: DistrictDirectory) -> None:
    with pytest.raises(UnknownDistrictError) as error:
        directory.resolve(["heping", "mars", "和平区", "月球"])
    assert error.value.unknown == ["mars", "月球"]


def test_language_for() -> None:
    assert language_for("zh-hans", "en") == "zh"
    assert language_for("zh-TW", "en") == "zh"
    assert language_for("ru", "zh") == "en"
    assert language_for(None, "zh") == "zh"


def test_ui_catalogs_define_the_same_messages() -> None:
    translator = Translator()
    zh, en = (translator.message_ids(language) for language in LANGUAGES)
    assert zh == en
    assert len(zh) > 50


@pytest.mark.parametrize(
    ("text", "length"),
    [("<b>a</b> &amp; b", 5), ("😀", 2), ("a &lt;b&gt;", 5), ('<a href="https://x.cn">x</a>', 1),
     ('<span class="tg-spoiler">s</span>', 1), ("<blockquote expandable>q</blockquote>", 1)],
)  # fmt: skip
def test_telegram_html_length(text: str, length: int) -> None:
    assert check_telegram_html(text) == length


@pytest.mark.parametrize(
    "text", ["<script>x</script>", "a < b", "AT&T", "<b>open", "<b><i>x</b></i>", "", "<b> </b>", "x" * 4097]
)
def test_telegram_html_refused(text: str) -> None:
    with pytest.raises(TelegramHtmlError):
        check_telegram_html(text)


def test_template_variables_are_escaped_and_required() -> None:
    templates = MessageTemplates()
    en, zh = SYSTEM_SAMPLES["en"], SYSTEM_SAMPLES["zh"]
    rendered = templates.render("gas_leak", "en", en | {"location": "<b>x</b>", "hotline": "96177"})
    assert "&lt;b&gt;x&lt;/b&gt;" in rendered.text
    with pytest.raises(TemplateProblem, match="hotline"):
        templates.render("gas_leak", "zh", zh | {"location": "x"})
    with pytest.raises(TemplateProblem, match=r"allows 4096"):
        templates.render("gas_leak", "en", en | {"location": "x" * 5000, "hotline": "1"})


def test_token_bucket() -> None:
    buckets = TokenBuckets(rate=0.0001, burst=3)
    assert [buckets.take(1) for _ in range(5)] == [True, True, True, False, False]
    assert buckets.take(2) is True


def test_logs_mask_the_token(capsys: pytest.CaptureFixture[str]) -> None:
    import logging

    from alertbot.core.logs import configure_logging

    token = "123456:SECRET-token-value"
    configure_logging("INFO", secrets=[token])
    log = logging.getLogger("alertbot.test")
    log.info("calling https://api.telegram.org/bot%s/getMe", token)
    try:
        raise RuntimeError(f"request to /bot{token}/sendMessage failed")
    except RuntimeError:
        log.exception("failed")
    logging.getLogger().handlers.clear()
    err = capsys.readouterr().err
    assert "SECRET-token-value" not in err
    assert err.count("/bot***/") == 2


def test_cron_weekdays_are_standard_and_the_trigger_always_advances() -> None:
    from datetime import UTC, datetime, timedelta
    from zoneinfo import ZoneInfo

    from alertbot.core.cron import CronError, parse_cron

    shanghai = ZoneInfo("Asia/Shanghai")
    sunday = datetime(2026, 11, 29, 12, 0, tzinfo=shanghai)
    monday = parse_cron("0 9 * * 1", shanghai).get_next_fire_time(None, sunday)
    assert monday is not None and monday.weekday() == 0  # cron's 1 is Monday (APScheduler's own 1 is Tuesday)
    for sunday_number in ("0", "7"):
        fire = parse_cron(f"0 9 * * {sunday_number}", shanghai).get_next_fire_time(None, sunday)
        assert fire is not None and fire.weekday() == 6
    with pytest.raises(CronError):
        parse_cron("0 9 * *", shanghai)
    # the second 01:30 of the night clocks go back: the next fire time must still move forward
    new_york = ZoneInfo("America/New_York")
    trigger = parse_cron("30 1 * * *", new_york)
    second = datetime(2026, 11, 1, 6, 30, tzinfo=UTC)
    following = trigger.get_next_fire_time(second, second + timedelta(seconds=1))
    assert following is not None and following > second


def test_quiet_hours_windows() -> None:
    from datetime import datetime
    from zoneinfo import ZoneInfo

    from alertbot.core.quiet import QuietHours, QuietHoursError

    zone = ZoneInfo("Asia/Shanghai")
    night = QuietHours.parse("22:00-07:00")
    assert night is not None and str(night) == "22:00-07:00"
    assert night.release(datetime(2026, 12, 1, 23, 0, tzinfo=zone), zone) == datetime(2026, 12, 2, 7, 0, tzinfo=zone)
    assert night.release(datetime(2026, 12, 1, 6, 59, tzinfo=zone), zone) == datetime(2026, 12, 1, 7, 0, tzinfo=zone)
    assert night.release(datetime(2026, 12, 1, 7, 0, tzinfo=zone), zone) == datetime(2026, 12, 1, 7, 0, tzinfo=zone)
    lunch = QuietHours.parse("12:00-13:30")
    assert lunch is not None and lunch.release(datetime(2026, 12, 1, 12, 5, tzinfo=zone), zone).hour == 13
    assert QuietHours.parse("off") is None and QuietHours.parse("") is None
    with pytest.raises(QuietHoursError):
        QuietHours.parse("25:00-07:00")
