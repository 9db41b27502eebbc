"""The sandbox's pure parts: the page's HTML from Telegram entities, its configuration and its guards."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from pydantic import SecretStr

from alertbot.cli.main import main
from alertbot.config import load_config
from alertbot.core.errors import ConfigError
from alertbot.sandbox.botapi import FakeBotAPI
from alertbot.sandbox.botapi.html import parse_html
from alertbot.sandbox.chats import render_html
from alertbot.sandbox.people import draw_population
from alertbot.sandbox.runner import register_channels
from alertbot.sandbox.setup import (
    MARKER_NAME,
    OFFICER_ID,
    SUPERVISOR_ID,
    check_folder,
    folder_lock,
    is_sandbox_database,
    prepare_folder,
    sandbox_config,
    sandbox_token,
)
from tests.harness import EXAMPLE_CONFIG


def rendered(telegram_html: str) -> str:
    parsed = parse_html(telegram_html)
    return render_html(parsed.text, parsed.entities)


def test_entities_become_html_at_utf16_offsets_and_everything_else_is_escaped() -> None:
    assert rendered("🔴 <b>极端</b> &amp; <i>now</i>") == "🔴 <b>极端</b> &amp; <i>now</i>"
    assert rendered("<b>bold <i>both</i></b> plain") == "<b>bold <i>both</i></b> plain"
    assert rendered("&lt;script&gt;alert(1)&lt;/script&gt;") == "&lt;script&gt;alert(1)&lt;/script&gt;"
    assert rendered('<a href="https://example.org/?a=1&amp;b=&quot;2&quot;">map</a>') == (
        '<a href="https://example.org/?a=1&amp;b=&quot;2&quot;" target="_blank" rel="noopener noreferrer">map</a>'
    )


def test_only_web_and_telegram_links_are_links() -> None:
    assert render_html("x", [{"type": "text_link", "offset": 0, "length": 1, "url": "javascript:alert(1)"}]) == "x"
    assert render_html("a b", [{"type": "mention", "offset": 0, "length": 1}, {"type": "hashtag", "offset": 2}]) == (
        "a b"
    )


def test_the_population_is_drawn_the_same_for_a_seed_over_the_configured_districts() -> None:
    districts = [district.id for district in load_config(EXAMPLE_CONFIG).districts]
    people = draw_population(2000, districts, seed=7)
    assert people == draw_population(2000, districts, seed=7) != draw_population(2000, districts, seed=8)
    assert {district for person in people for district in person.districts} == set(districts)
    assert {person.language_code for person in people} == {"zh-hans", "en"}
    fates = [person.fate for person in people]
    assert 20 < fates.count("blocked") < 120 and 5 < fates.count("deleted") < 50
    assert 150 < sum(1 for person in people if person.category is not None) < 450
    assert len({person.user_id for person in people}) == 2000
    with pytest.raises(ValueError, match="at least one configured district"):
        draw_population(1, [])


def test_the_sandbox_config_never_points_at_telegram_or_the_production_database(tmp_path: Path) -> None:
    production = load_config(EXAMPLE_CONFIG)
    production = production.model_copy(
        update={"telegram": production.telegram.model_copy(update={"token": SecretStr("123:REAL")})}
    )
    database = prepare_folder(tmp_path / "sandbox", production)
    token = sandbox_token()
    config = sandbox_config(production, api_base="http://127.0.0.1:4567", token=token, database=database)
    assert config.token == token != production.token and token != sandbox_token()
    assert config.telegram.api_base == "http://127.0.0.1:4567" and config.telegram.mode == "polling"
    assert config.storage.url == f"sqlite:///{tmp_path / 'sandbox' / 'sandbox.db'}"
    assert config.redis.url.get_secret_value() == ""
    assert [(o.telegram_id, o.role) for o in config.officials] == [
        (OFFICER_ID, "officer"),
        (SUPERVISOR_ID, "supervisor"),
    ]
    assert [d.id for d in config.districts] == [d.id for d in production.districts]
    assert config.districts[0].channels == {"zh": "@heping_alerts_zh", "en": "@heping_alerts_en"}
    assert config.server.host == "127.0.0.1" and config.server.port == 0
    with pytest.raises(ConfigError, match=r"must be on 127\.0\.0\.1"):
        sandbox_config(production, api_base="https://api.telegram.org", token=token, database=database)


def test_the_sandbox_folder_is_marked_fresh_and_never_the_production_databases(tmp_path: Path) -> None:
    production = load_config(EXAMPLE_CONFIG)
    folder = tmp_path / "sandbox"
    database = prepare_folder(folder, production)
    assert (folder / MARKER_NAME).is_file() and is_sandbox_database(f"sqlite:///{database}")
    database.write_bytes(b"an earlier run")
    assert prepare_folder(folder, production) == database and not database.exists()  # afresh every time

    live = tmp_path / "live"
    live.mkdir()
    (live / "alertbot.db").write_bytes(b"real subscribers")
    with_live_db = production.model_copy(update={"storage": production.storage.model_copy(
        update={"url": f"sqlite:///{live / 'alertbot.db'}"})})  # fmt: skip
    with pytest.raises(ConfigError, match="holds the configured database"):
        prepare_folder(live, with_live_db)
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "todo.txt").write_text("mine")
    with pytest.raises(ConfigError, match="not empty and not a sandbox folder"):
        prepare_folder(tmp_path / "notes", production)
    assert (live / "alertbot.db").read_bytes() == b"real subscribers" and not is_sandbox_database(
        with_live_db.storage.url
    )


def test_alertbot_run_refuses_a_sandbox_database_and_points_newcomers_to_the_sandbox(tmp_path: Path) -> None:
    database = prepare_folder(tmp_path / "sandbox", load_config(EXAMPLE_CONFIG))
    runner = CliRunner()
    env = {"ALERTBOT_TELEGRAM_TOKEN": "123:ABC", "ALERTBOT_STORAGE_URL": f"sqlite:///{database}"}
    result = runner.invoke(main, ["run", "--config", str(EXAMPLE_CONFIG)], env=env)
    assert result.exit_code == 2 and "a sandbox's database" in result.output and "123:ABC" not in result.output
    result = runner.invoke(main, ["run", "--config", str(EXAMPLE_CONFIG)], env={"ALERTBOT_TELEGRAM_TOKEN": ""})
    assert result.exit_code == 2
    assert (
        result.output.count("\n") == 1 and "to try alertbot offline: uv run alertbot sandbox" in result.output.lower()
    )


def test_one_sandbox_at_a_time_in_a_folder(tmp_path: Path) -> None:
    folder = check_folder(tmp_path / "sandbox", load_config(EXAMPLE_CONFIG))
    with folder_lock(folder):
        prepare_folder(folder, load_config(EXAMPLE_CONFIG))
        with pytest.raises(ConfigError, match="another sandbox runs in"), folder_lock(folder):
            pass
    with folder_lock(folder):  # released when the first one stopped
        pass


def test_a_channel_that_districts_share_is_registered_once() -> None:
    production = load_config(EXAMPLE_CONFIG)
    shared = {"zh": "@shenyang_alerts_zh", "en": "-1001234567890"}
    districts = [d.model_copy(update={"channels": shared}) for d in production.districts[:3]]
    config = production.model_copy(update={"districts": districts})
    api = FakeBotAPI()
    channels = register_channels(api, config, draw_population(100, [d.id for d in districts]))
    assert sorted(channels.values()) == ["en", "zh"] and -1001234567890 in channels
    assert {api.chat(chat)["username"] for chat in channels if chat != -1001234567890} == {"shenyang_alerts_zh"}
