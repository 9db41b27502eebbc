"""The vetted message templates (messages/): catalog, wording rules and rendering, without a bot.

Warnings, follow-ups and reminders alike; tests/test_reminder_templates.py adds what is particular to reminders.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tomllib
from collections import Counter

import pytest
from jinja2 import meta
from markupsafe import escape

from alertbot.content.telegram_html import check_telegram_html
from alertbot.content.templates import (
    FOLLOW_UP_VARIABLES,
    MESSAGES_DIR,
    SYSTEM_SAMPLES,
    SYSTEM_VARIABLES,
    MessageTemplates,
    TemplateSpec,
)
from alertbot.core.domain import LANGUAGES, Language
from alertbot.core.errors import TemplateProblem
from tests.harness import REPO

TEMPLATES = MessageTemplates()
SPECS = {spec.id: spec for spec in TEMPLATES.catalog.templates}

# id: (kind, default severity)
EXPECTED = {
    "gas_leak": ("warning", "severe"),
    "gas_explosion": ("warning", "extreme"),
    "evacuation": ("warning", "extreme"),
    "co_risk": ("warning", "moderate"),
    "supply_interruption": ("warning", "minor"),
    "chemical_leak": ("warning", "extreme"),
    "update": ("follow_up", None),
    "all_clear": ("follow_up", None),
    "sent_in_error": ("follow_up", None),
    "cap_alert": ("imported", None),
    "heating_season": ("reminder", None),
    "winter_co": ("reminder", None),
    "spring_festival": ("reminder", None),
    "summer_lpg_restaurant": ("reminder", None),
    "flood_season_pipes": ("reminder", None),
}
# The emergency numbers each template tells people to call (the same in both languages).
EMERGENCY_NUMBERS = {
    "gas_leak": {"119"},
    "gas_explosion": {"119", "120"},
    "evacuation": {"119"},
    "co_risk": {"120"},
    "supply_interruption": {"119"},
    "chemical_leak": {"120"},
    "update": set(),
    "all_clear": {"119", "120"},
    "sent_in_error": set(),
    "cap_alert": set(),
    "heating_season": {"119"},
    "winter_co": {"120"},
    "spring_festival": {"119"},
    "summer_lpg_restaurant": {"119"},
    "flood_season_pipes": {"119"},
}
# Other figures a template writes itself (the same in both languages): year of the Yinchuan explosion, hose metres.
OTHER_FIGURES = {"summer_lpg_restaurant": {"2023", "2"}}
CAP_CATEGORIES = {
    "Geo", "Met", "Safety", "Security", "Rescue", "Fire", "Health", "Env", "Transport", "Infra", "CBRNE", "Other",
}  # fmt: skip
CAP_RESPONSE_TYPES = {"Shelter", "Evacuate", "Prepare", "Execute", "Avoid", "Monitor", "Assess", "AllClear", "None"}
HOSTILE = "<b>x</b> & <script>"
# What the system may add around a template (exercise banner, severity label) must still fit.
LENGTH_BUDGET = 900

IDS = list(EXPECTED)
# the vetted templates officials choose (the imported one, one text per language, has tests of its own)
VETTED = [template_id for template_id in IDS if EXPECTED[template_id][0] != "imported"]
BY_LANGUAGE = [(template_id, language) for template_id in VETTED for language in LANGUAGES]
REQUIRED = [(spec.id, v.name) for spec in SPECS.values() if spec.id in VETTED for v in spec.variables if v.required]
OPTIONAL = [
    (spec.id, language, v.name)
    for spec in SPECS.values()
    if spec.id in VETTED
    for v in spec.variables
    if not v.required
    for language in LANGUAGES
]
FOLLOW_UPS = [
    (template_id, language) for template_id, language in BY_LANGUAGE if SPECS[template_id].kind == "follow_up"
]


def system_values(spec: TemplateSpec, language: Language) -> dict[str, str]:
    names = SYSTEM_VARIABLES + (FOLLOW_UP_VARIABLES if spec.kind == "follow_up" else ())
    return {name: SYSTEM_SAMPLES[language][name] for name in names}


def examples(spec: TemplateSpec, language: Language) -> dict[str, str]:
    """What an official would type (the catalog examples) plus what the system fills in."""
    return system_values(spec, language) | {v.name: v.example[language] for v in spec.variables}


def render(template_id: str, language: Language, values: dict[str, str]) -> str:
    text = TEMPLATES.render(template_id, language, values).text
    check_telegram_html(text)
    return text


def used_variables(template_id: str, language: Language) -> set[str]:
    environment = TEMPLATES.environment
    source = (MESSAGES_DIR / language / f"{template_id}.j2").read_text(encoding="utf-8")
    return meta.find_undeclared_variables(environment.parse(source))


def all_district_names(language: Language) -> str:
    config = tomllib.loads((REPO / "config.example.toml").read_text(encoding="utf-8"))
    names = [district["name"][language] for district in config["districts"]]
    return ("、" if language == "zh" else ", ").join(names)


def assert_tidy(text: str) -> None:
    """No blank runs, no stray whitespace, no label left without its value."""
    assert "\n\n\n" not in text, text
    lines = text.split("\n")
    for number, line in enumerate(lines):
        assert line == line.rstrip(), f"trailing whitespace: {line!r}"
        if line.endswith((":", "：")):
            following = lines[number + 1] if number + 1 < len(lines) else ""
            assert following.startswith(("•", "<blockquote>")), f"label without a value: {line!r}"


# --- the catalog -----------------------------------------------------------------------------------


def test_catalog_lists_exactly_the_vetted_templates() -> None:
    assert [spec.id for spec in TEMPLATES.catalog.templates] == IDS
    for language in LANGUAGES:
        files = {path.stem for path in (MESSAGES_DIR / language).iterdir()}
        assert files == set(IDS), f"messages/{language}: {sorted(files ^ set(IDS))}"
        assert all(path.suffix == ".j2" for path in (MESSAGES_DIR / language).iterdir())


def test_check_all_finds_no_problem() -> None:
    assert TEMPLATES.check_all() == []


@pytest.mark.parametrize("template_id", VETTED)
def test_kind_severity_and_cap_codes(template_id: str) -> None:
    spec = SPECS[template_id]
    assert (spec.kind, spec.severity) == EXPECTED[template_id]
    assert spec.title["zh"].strip() and spec.title["en"].strip()
    assert spec.cap_event
    assert spec.cap_category in CAP_CATEGORIES
    assert spec.cap_response_type in CAP_RESPONSE_TYPES


@pytest.mark.parametrize("template_id", IDS)
def test_variables_are_described_for_officials(template_id: str) -> None:
    for variable in SPECS[template_id].variables:
        assert variable.name not in SYSTEM_VARIABLES + FOLLOW_UP_VARIABLES
        for language in LANGUAGES:
            assert variable.description[language].strip(), variable.name
            assert variable.example[language].strip(), variable.name
        if not variable.required:
            assert variable.description["zh"].endswith("（可选）"), variable.name
            assert variable.description["en"].endswith("(optional)"), variable.name


@pytest.mark.parametrize("template_id", VETTED)
def test_both_languages_use_exactly_the_catalog_variables(template_id: str) -> None:
    spec = SPECS[template_id]
    allowed = set(SYSTEM_VARIABLES) | {v.name for v in spec.variables}
    if spec.kind == "follow_up":
        allowed |= set(FOLLOW_UP_VARIABLES)
    for language in LANGUAGES:
        used = used_variables(template_id, language)
        assert used <= allowed, f"{language}: undeclared {sorted(used - allowed)}"
        assert {v.name for v in spec.variables} <= used, f"{language}: unused {sorted(allowed - used)}"
        assert set(SYSTEM_VARIABLES) <= used, f"{language}: districts and issued_at are always shown"
    if spec.kind == "follow_up":
        assert set(FOLLOW_UP_VARIABLES) <= used_variables(template_id, "zh") & used_variables(template_id, "en")


# --- rendering -------------------------------------------------------------------------------------


@pytest.mark.parametrize(("template_id", "language"), BY_LANGUAGE)
def test_renders_with_its_examples(template_id: str, language: Language) -> None:
    spec = SPECS[template_id]
    values = examples(spec, language)
    text = render(template_id, language, values)
    first_line = text.split("\n")[0]
    assert re.fullmatch(r"\S+ <b>[^<]+</b>", first_line), first_line
    assert spec.title[language].casefold() in first_line.casefold()
    assert values["districts"] in text.split("\n\n")[0], "the districts belong in the header"
    assert values["issued_at"] in text
    assert "•" in text
    assert TEMPLATES.render(template_id, language, values).length <= 800
    assert_tidy(text)


@pytest.mark.parametrize(("template_id", "language"), BY_LANGUAGE)
def test_fits_when_every_district_is_addressed(template_id: str, language: Language) -> None:
    values = examples(SPECS[template_id], language) | {"districts": all_district_names(language)}
    rendered = TEMPLATES.render(template_id, language, values)
    assert rendered.length <= LENGTH_BUDGET, rendered.length


@pytest.mark.parametrize(("template_id", "variable"), REQUIRED)
def test_missing_required_variable_is_named(template_id: str, variable: str) -> None:
    for language in LANGUAGES:
        values = examples(SPECS[template_id], language)
        del values[variable]
        with pytest.raises(TemplateProblem, match=rf"\b{variable}\b"):
            TEMPLATES.render(template_id, language, values)
        with pytest.raises(TemplateProblem, match=rf"\b{variable}\b"):
            TEMPLATES.render(template_id, language, values | {variable: "  "})


@pytest.mark.parametrize(("template_id", "language", "variable"), OPTIONAL)
def test_empty_optional_variable_leaves_no_trace(template_id: str, language: Language, variable: str) -> None:
    """Emptying an optional variable only removes the lines that showed it (label included)."""
    values = examples(SPECS[template_id], language)
    full = render(template_id, language, values).split("\n")
    sparse_text = render(template_id, language, values | {variable: ""})
    assert_tidy(sparse_text)
    sparse = sparse_text.split("\n")
    assert not Counter(sparse) - Counter(full), "emptying a variable added lines"
    shown = str(escape(values[variable]))
    removed = [line for line in (Counter(full) - Counter(sparse)).elements() if line]
    assert removed, f"{variable} was never shown"
    assert all(shown in line for line in removed), removed


@pytest.mark.parametrize(("template_id", "language"), BY_LANGUAGE)
def test_only_required_variables(template_id: str, language: Language) -> None:
    spec = SPECS[template_id]
    values = system_values(spec, language) | {v.name: v.example[language] for v in spec.variables if v.required}
    text = render(template_id, language, values)
    assert_tidy(text)
    for variable in spec.variables:
        if not variable.required:
            assert str(escape(variable.example[language])) not in text


@pytest.mark.parametrize(("template_id", "language"), BY_LANGUAGE)
def test_typed_html_is_escaped(template_id: str, language: Language) -> None:
    spec = SPECS[template_id]
    values = dict.fromkeys(examples(spec, language), HOSTILE)
    text = render(template_id, language, values)
    assert "<script>" not in text and "<b>x</b>" not in text
    assert text.count("&lt;b&gt;x&lt;/b&gt; &amp; &lt;script&gt;") >= len(spec.variables)


@pytest.mark.parametrize(("template_id", "language"), FOLLOW_UPS)
def test_follow_ups_name_the_original(template_id: str, language: Language) -> None:
    values = examples(SPECS[template_id], language)
    text = render(template_id, language, values)
    assert values["original_title"] in text.split("\n")[0]
    assert values["original_issued_at"] in text


@pytest.mark.parametrize("language", LANGUAGES)
def test_sent_in_error_is_unmistakable(language: Language) -> None:
    text = render("sent_in_error", language, examples(SPECS["sent_in_error"], language))
    first_line = text.split("\n")[0]
    if language == "zh":
        assert "误发" in first_line and "忽略" in first_line
        assert "<b>无需采取任何行动</b>" in text and "歉意" in text
    else:
        assert "SENT IN ERROR" in first_line and "ignore" in first_line
        assert "<b>no action is needed</b>" in text and "apologise" in text


@pytest.mark.parametrize("template_id", IDS)
def test_both_languages_give_the_same_phone_numbers(template_id: str) -> None:
    """Rendered with digit-free placeholders, only the numbers written in the template remain."""
    spec = SPECS[template_id]
    found = {}
    for language in LANGUAGES:
        text = render(template_id, language, {name: f"[{name}]" for name in examples(spec, language)})
        found[language] = set(re.findall(r"\d+", text))
    assert found["zh"] == found["en"] == EMERGENCY_NUMBERS[template_id] | OTHER_FIGURES.get(template_id, set())


def test_hotline_is_shown_in_bold_in_both_languages() -> None:
    for template_id in [spec.id for spec in SPECS.values() if "hotline" in {v.name for v in spec.variables}]:
        for language in LANGUAGES:
            text = render(template_id, language, examples(SPECS[template_id], language) | {"hotline": "96177"})
            assert "<b>96177</b>" in text


# --- the command line ------------------------------------------------------------------------------


def test_alertbot_check_reports_every_template() -> None:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("ALERTBOT_")}
    result = subprocess.run(
        [sys.executable, "-m", "alertbot", "check", "--config", "config.example.toml"],
        capture_output=True,
        text=True,
        env=environment,
        cwd=REPO,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "templates OK: 15 in zh and en" in result.stdout  # 6 warnings, 3 follow-ups, 1 imported, 5 reminders
    assert result.stderr == ""


def test_the_imported_template_says_each_language_its_own_text() -> None:
    spec = SPECS["cap_alert"]
    values = {v.name: f"<{v.name}>" for v in spec.variables} | SYSTEM_SAMPLES["en"]
    for language in LANGUAGES:
        text = render("cap_alert", language, values)
        other = "en" if language == "zh" else "zh"
        for part in ("headline", "description", "instruction"):
            assert f"&lt;{part}_{language}&gt;" in text
            assert f"{part}_{other}" not in text
        assert "&lt;contact&gt;" in text and "&lt;sender_name&gt;" in text
    bare = render("cap_alert", "en", {"headline_zh": "x", "headline_en": "Leak"} | SYSTEM_SAMPLES["en"])
    assert "\n\n\n" not in bare and "Contact" not in bare and "Issued 2026-11-29 18:30" in bare
