"""The seasonal reminder templates and the example campaigns that send them.

tests/test_message_templates.py checks every template (reminders included) for wording, tidiness and escaping;
this file adds what is particular to reminders: their catalog entries, the restaurant self-inspection checklist,
and that the campaigns in config.example.toml send existing reminders with declared variables.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta

import pytest
from markupsafe import escape

from alertbot.config import AppConfig, CampaignConfig, load_config
from alertbot.content.telegram_html import check_telegram_html
from alertbot.content.templates import MESSAGES_DIR, SYSTEM_SAMPLES, SYSTEM_VARIABLES, MessageTemplates, TemplateSpec
from alertbot.core.cron import parse_cron
from alertbot.core.domain import LANGUAGES, Language
from tests.harness import REPO

TEMPLATES = MessageTemplates()
REMINDERS = ["heating_season", "winter_co", "spring_festival", "summer_lpg_restaurant", "flood_season_pipes"]
BY_LANGUAGE = [(template_id, language) for template_id in REMINDERS for language in LANGUAGES]
# Budget for what the system adds around a reminder (exercise banner) and for addressing every district.
LENGTH_LIMIT = 800


def spec(template_id: str) -> TemplateSpec:
    return TEMPLATES.catalog.get(template_id)


def system_values(language: Language) -> dict[str, str]:
    return {name: SYSTEM_SAMPLES[language][name] for name in SYSTEM_VARIABLES}


def examples(template_id: str, language: Language) -> dict[str, str]:
    return system_values(language) | {v.name: v.example[language] for v in spec(template_id).variables}


def render(template_id: str, language: Language, values: dict[str, str]) -> str:
    text = TEMPLATES.render(template_id, language, values).text
    check_telegram_html(text)
    return text


def example_config() -> AppConfig:
    return load_config(REPO / "config.example.toml")


# --- the catalog -----------------------------------------------------------------------------------


@pytest.mark.parametrize("template_id", REMINDERS)
def test_reminder_is_in_the_catalog_without_severity(template_id: str) -> None:
    assert spec(template_id).kind == "reminder"
    assert spec(template_id).severity is None
    for language in LANGUAGES:
        assert (MESSAGES_DIR / language / f"{template_id}.j2").is_file()


def test_the_catalog_has_exactly_these_reminders() -> None:
    assert [s.id for s in TEMPLATES.catalog.templates if s.kind == "reminder"] == REMINDERS


@pytest.mark.parametrize("template_id", REMINDERS)
def test_variables_are_an_optional_hotline_and_details(template_id: str) -> None:
    """Campaign variables are one text for both languages: nothing an official must write per language."""
    variables = {v.name: v for v in spec(template_id).variables}
    assert set(variables) == {"hotline", "details"}
    assert not any(v.required for v in variables.values())
    assert variables["hotline"].example == {"zh": "96177", "en": "96177"}


# --- rendering -------------------------------------------------------------------------------------


@pytest.mark.parametrize(("template_id", "language"), BY_LANGUAGE)
def test_renders_with_its_examples(template_id: str, language: Language) -> None:
    values = examples(template_id, language)
    text = render(template_id, language, values)
    assert re.fullmatch(r"\S+ <b>[^<]+</b>", text.split("\n")[0])
    assert spec(template_id).title[language] in text.split("\n")[0]
    assert values["districts"] in text
    assert text.endswith(f"{values['issued_at']}</i>")
    assert f"<b>{values['hotline']}</b>" in text
    assert values["details"] in text
    assert TEMPLATES.render(template_id, language, values).length <= LENGTH_LIMIT


@pytest.mark.parametrize(("template_id", "language"), BY_LANGUAGE)
def test_empty_optional_variables_leave_no_trace(template_id: str, language: Language) -> None:
    full = render(template_id, language, examples(template_id, language))
    sparse = render(template_id, language, system_values(language))
    assert render(template_id, language, system_values(language) | {"hotline": "", "details": ""}) == sparse
    hotline_label = "燃气公司服务电话" if language == "zh" else "Gas company hotline"
    assert hotline_label in full
    assert hotline_label not in sparse
    assert "96177" not in sparse
    assert "\n\n\n" not in sparse
    assert "<b></b>" not in sparse
    for line in sparse.split("\n"):
        assert line == line.rstrip()
        assert line not in ("•", "• ")
    # Only the hotline line and the details paragraph go; everything else stays in order.
    kept = [line for line in full.split("\n") if "96177" not in line]
    details = str(escape(next(v for v in spec(template_id).variables if v.name == "details").example[language]))
    kept = "\n".join(kept).replace(f"\n\n{details}", "").split("\n")
    assert sparse.split("\n") == kept


@pytest.mark.parametrize("template_id", REMINDERS)
def test_both_languages_mention_the_same_phone_numbers(template_id: str) -> None:
    numbers = {}
    for language in LANGUAGES:
        text = render(template_id, language, system_values(language) | {"hotline": "[hotline]", "details": "-"})
        text = text.replace(SYSTEM_SAMPLES[language]["issued_at"], "")
        numbers[language] = set(re.findall(r"\d{3,}", text)) - {"2023"}  # the year of the Yinchuan explosion
    assert numbers["zh"] == numbers["en"]
    assert numbers["zh"] <= {"119", "120"}
    assert numbers["zh"], "each reminder says which emergency number to call"
    for language in LANGUAGES:
        assert "<b>12345678</b>" in render(template_id, language, system_values(language) | {"hotline": "12345678"})


@pytest.mark.parametrize("language", LANGUAGES)
def test_restaurant_checklist(language: Language) -> None:
    text = render("summer_lpg_restaurant", language, examples("summer_lpg_restaurant", language))
    checklist = "\n".join(line for line in text.split("\n") if line.startswith("•"))
    if language == "zh":
        wanted = ["钢瓶", "直立", "通风", "就餐区", "数量", "角阀", "减压阀", "软管", "卡箍", "报警器", "切断",
                  "员工", "疏散", "持证", "检验"]  # fmt: skip
        request = "请点击下方按钮确认"
    else:
        wanted = ["cylinder", "upright", "ventilated", "dining", "valve", "regulator", "hose", "clamped", "alarm",
                  "shut-off", "staff", "evacuate", "licensed", "inspection"]  # fmt: skip
        request = "tap the button below"
    missing = [word for word in wanted if word.casefold() not in checklist.casefold()]
    assert not missing, missing
    assert "2023" in text and ("银川" if language == "zh" else "Yinchuan") in text
    # The request to confirm is the last paragraph before the issue time, also when the optional parts are empty.
    for values in (examples("summer_lpg_restaurant", language), system_values(language)):
        paragraphs = render("summer_lpg_restaurant", language, values).split("\n\n")
        assert request.casefold() in paragraphs[-2].casefold()


@pytest.mark.parametrize(("template_id", "language"), BY_LANGUAGE)
def test_no_safe_filter_and_typed_html_is_escaped(template_id: str, language: Language) -> None:
    source = (MESSAGES_DIR / language / f"{template_id}.j2").read_text(encoding="utf-8")
    assert "|safe" not in source.replace(" ", "")
    text = render(template_id, language, system_values(language) | {"hotline": "<i>1</i>", "details": "a & <b>"})
    assert "&lt;i&gt;1&lt;/i&gt;" in text and "a &amp; &lt;b&gt;" in text


# --- the example campaigns -------------------------------------------------------------------------


def test_example_campaigns_load() -> None:
    campaigns = example_config().campaigns
    assert sorted(c.template for c in campaigns) == sorted(REMINDERS), "one example campaign per reminder"
    assert all(c.enabled for c in campaigns)


def campaign_ids() -> list[str]:
    return [c.id for c in example_config().campaigns]


def campaign(campaign_id: str) -> CampaignConfig:
    return next(c for c in example_config().campaigns if c.id == campaign_id)


@pytest.mark.parametrize("campaign_id", campaign_ids())
def test_campaign_sends_a_reminder_with_declared_variables(campaign_id: str) -> None:
    chosen = campaign(campaign_id)
    template = spec(chosen.template)
    assert template.kind == "reminder"
    declared = {v.name for v in template.variables}
    assert set(chosen.variables) <= declared, sorted(set(chosen.variables) - declared)
    for language in LANGUAGES:
        render(chosen.template, language, SYSTEM_SAMPLES[language] | chosen.variables)


@pytest.mark.parametrize("campaign_id", campaign_ids())
def test_campaign_fires_inside_its_season(campaign_id: str) -> None:
    """Over a year the schedule has occurrences, and some fall inside the season window."""
    chosen = campaign(campaign_id)
    config = example_config()
    trigger = parse_cron(chosen.schedule, config.bot.zone)
    moment = datetime(2027, 1, 1, tzinfo=config.bot.zone)
    end = moment + timedelta(days=366)
    in_season = []
    previous = None
    while (fire := trigger.get_next_fire_time(previous, moment)) is not None and fire < end:
        if chosen.season is None or chosen.season.contains(fire.month, fire.day):
            in_season.append(fire)
        previous, moment = fire, fire + timedelta(minutes=1)
    assert in_season
    assert all(7 <= fire.hour < 22 for fire in in_season), "reminders go out in the daytime"


def test_restaurant_campaign_asks_for_confirmation() -> None:
    chosen = next(c for c in example_config().campaigns if c.template == "summer_lpg_restaurant")
    assert chosen.audience == "business:restaurant"
    assert chosen.ack is True
    assert chosen.follow_up_after == timedelta(days=3)
    assert chosen.schedule == "0 10 * * 1"


def test_winter_season_wraps_the_new_year() -> None:
    season = next(c for c in example_config().campaigns if c.template == "winter_co").season
    assert season is not None
    assert season.contains(12, 31) and season.contains(1, 15) and not season.contains(7, 1)
