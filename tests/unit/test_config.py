"""The config refuses, naming the key, values that would break the bot or not fit the database.

Each case is a small TOML file read by `load_config`, exactly as `alertbot check` and `alertbot run` read it.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from alertbot.config import AppConfig, load_config
from alertbot.core.errors import ConfigError

DISTRICT = '[[districts]]\nid = "a"\nname = { zh = "甲", en = "A" }\n'
OFFICIAL = '[[officials]]\ntelegram_id = 1\nname = "Duty officer"\n'
CAMPAIGN = '[[campaigns]]\nid = "winter_co"\ntemplate = "winter_co"\nschedule = "0 19 * * 5"\n'


def load(tmp_path: Path, text: str) -> AppConfig:
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    return load_config(path)


def refused(tmp_path: Path, text: str) -> str:
    with pytest.raises(ConfigError) as caught:
        load(tmp_path, text)
    return str(caught.value)


SECTION_DURATIONS = [
    ("dispatch", "lease_ttl"),
    ("dispatch", "progress_interval"),
    ("dispatch", "send_timeout"),
    ("scheduler", "grace"),
    ("alerts", "approval_timeout"),
]


@pytest.mark.parametrize(("section", "key"), SECTION_DURATIONS)
@pytest.mark.parametrize("value", ['"0s"', "0", "-5", '"0m"'])
def test_durations_that_must_be_positive(tmp_path: Path, section: str, key: str, value: str) -> None:
    message = refused(tmp_path, f"[{section}]\n{key} = {value}\n" + DISTRICT)
    assert f"{section}.{key}: " in message
    assert "must be longer than 0 seconds" in message or "at least 1 second" in message, message


@pytest.mark.parametrize(("section", "key"), [("dispatch", "send_timeout"), ("scheduler", "grace")])
def test_durations_counted_in_whole_seconds_need_one(tmp_path: Path, section: str, key: str) -> None:
    """The send timeout and the scheduler's misfire grace are handed on as whole seconds: 0.5 would be 0."""
    message = refused(tmp_path, f"[{section}]\n{key} = 0.5\n" + DISTRICT)
    assert f"{section}.{key}: must be at least 1 second" in message
    assert getattr(getattr(load(tmp_path, f"[{section}]\n{key} = 1\n" + DISTRICT), section), key) == timedelta(
        seconds=1
    )


def test_short_positive_durations_are_accepted(tmp_path: Path) -> None:
    config = load(
        tmp_path,
        '[dispatch]\nlease_ttl = 1\nprogress_interval = 0.2\nsend_timeout = "1s"\n'
        '[alerts]\napproval_timeout = 1\nduplicate_window = "0s"\n' + DISTRICT,
    )
    assert config.dispatch.progress_interval == timedelta(seconds=0.2)
    assert config.alerts.duplicate_window == timedelta(0)  # no duplicate check: allowed


def test_duplicate_window_may_be_zero_but_not_negative(tmp_path: Path) -> None:
    message = refused(tmp_path, "[alerts]\nduplicate_window = -1\n" + DISTRICT)
    assert "alerts.duplicate_window: must not be negative" in message


@pytest.mark.parametrize("value", ['"0s"', "0", "-60"])
def test_campaign_follow_up_after_must_be_positive(tmp_path: Path, value: str) -> None:
    message = refused(tmp_path, DISTRICT + CAMPAIGN + f"ack = true\nfollow_up_after = {value}\n")
    assert "campaigns[0].follow_up_after: must be longer than 0 seconds" in message


@pytest.mark.parametrize(("key", "value"), [("throttle_rate", "0"), ("throttle_rate", "-1"), ("throttle_burst", "0")])
def test_throttle_values_must_be_positive(tmp_path: Path, key: str, value: str) -> None:
    assert f"bot.{key}: " in refused(tmp_path, f"[bot]\n{key} = {value}\n" + DISTRICT)


def test_official_names_fit_the_audit_log(tmp_path: Path) -> None:
    longest = "官" * 128  # audit_log.actor_name is VARCHAR(128): characters, on PostgreSQL too
    config = load(tmp_path, DISTRICT + f'[[officials]]\ntelegram_id = 1\nname = "{longest}"\n')
    assert config.officials[0].name == longest
    message = refused(tmp_path, DISTRICT + f'[[officials]]\ntelegram_id = 1\nname = "{longest}x"\n')
    assert "officials[0].name: " in message and "128" in message


def test_dispatch_instance_name_fits_with_a_suffix(tmp_path: Path) -> None:
    assert load(tmp_path, f'[dispatch]\ninstance = "{"i" * 64}"\n' + DISTRICT).dispatch.instance == "i" * 64
    message = refused(tmp_path, f'[dispatch]\ninstance = "{"i" * 65}"\n' + DISTRICT)
    assert "dispatch.instance: " in message and "64" in message


def test_campaign_ids_and_templates_fit_their_columns(tmp_path: Path) -> None:
    longest = "c" * 48
    config = load(tmp_path, DISTRICT + CAMPAIGN.replace('"winter_co"\ntemplate', f'"{longest}"\ntemplate'))
    assert config.campaigns[0].id == longest
    message = refused(tmp_path, DISTRICT + CAMPAIGN.replace('"winter_co"\ntemplate', f'"{longest}c"\ntemplate'))
    assert "campaigns[0].id: " in message and "48" in message
    message = refused(tmp_path, DISTRICT + CAMPAIGN.replace('template = "winter_co"', f'template = "{"t" * 65}"'))
    assert "campaigns[0].template: " in message and "64" in message


def test_district_ids_fit_their_column(tmp_path: Path) -> None:
    longest = "d" * 32
    assert load(tmp_path, DISTRICT.replace('"a"', f'"{longest}"')).districts[0].id == longest
    message = refused(tmp_path, DISTRICT.replace('"a"', f'"{longest}d"'))
    assert "districts[0].id: " in message and "32" in message


def test_chat_ids_fit_a_64_bit_column(tmp_path: Path) -> None:
    too_big = 2**63  # TOML (and Python) read it; BIGINT cannot store it
    message = refused(tmp_path, DISTRICT + f"[[officials]]\ntelegram_id = {too_big}\nname = 'n'\n")
    assert "officials[0].telegram_id: " in message
    message = refused(tmp_path, f"[alerts]\ntest_chats = [-1001234567890, {too_big}]\n" + DISTRICT)
    assert "alerts.test_chats[1]: " in message
    assert load(tmp_path, "[alerts]\ntest_chats = [-1001234567890]\n" + DISTRICT + OFFICIAL).alerts.test_chats == [
        -1001234567890
    ]


def test_several_problems_are_reported_together(tmp_path: Path) -> None:
    message = refused(tmp_path, '[dispatch]\nlease_ttl = "0s"\n[scheduler]\ngrace = "0s"\n' + DISTRICT)
    assert "dispatch.lease_ttl: " in message and "scheduler.grace: " in message


def test_config_bounds_are_the_column_lengths() -> None:
    from alertbot import config
    from alertbot.storage import tables

    columns = {
        "DISTRICT_ID_MAX": [tables.subscriptions.c.district_id],
        "CAMPAIGN_ID_MAX": [tables.campaign_occurrences.c.campaign_id, tables.campaign_states.c.campaign_id],
        "TEMPLATE_ID_MAX": [tables.broadcasts.c.template_id],
        "OFFICIAL_NAME_MAX": [tables.audit_log.c.actor_name],
    }
    if "instances" in tables.metadata.tables:
        columns["INSTANCE_NAME_MAX"] = [tables.metadata.tables["instances"].c.name]
    lengths = {name: {column.type.length for column in listed} for name, listed in columns.items()}
    assert lengths == {name: {getattr(config, name)} for name in columns}
    holder: Any = tables.leases.c.holder.type
    assert holder.length >= 2 * config.INSTANCE_NAME_MAX  # the holder is the instance name with a suffix


WEBHOOK = '[telegram]\nmode = "webhook"\nwebhook_url = "https://alerts.example.org/tg/hook"\n'


@pytest.mark.parametrize(
    ("text", "named"),
    [
        (WEBHOOK, "webhook_secret: needed"),
        ('[telegram]\nmode = "webhook"\nwebhook_secret = "abc"\n', "webhook_url: needed"),
        (WEBHOOK + 'webhook_secret = "has space"\n', "telegram.webhook_secret: must be 1-256 characters"),
        ('[telegram]\nwebhook_url = "alerts.example.org/hook"\n', "telegram.webhook_url: must be an https:// URL"),
        (WEBHOOK + 'webhook_secret = "abc"\n[server]\nenabled = false\n', "server.enabled: the webhook"),
        ('[redis]\nurl = "http://127.0.0.1:6379"\n', "redis.url: must start with redis://"),
        ('[logging]\nformat = "xml"\n', "logging.format"),
    ],
)
def test_webhook_redis_and_logging_settings_are_checked(tmp_path: Path, text: str, named: str) -> None:
    assert named in refused(tmp_path, text + DISTRICT)


def test_secrets_come_from_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ALERTBOT_TELEGRAM_TOKEN", "123:from-env")
    monkeypatch.setenv("ALERTBOT_WEBHOOK_SECRET", "env_secret")
    monkeypatch.setenv("ALERTBOT_STORAGE_URL", "postgresql://alertbot:pw-in-env@db:5432/alertbot")
    monkeypatch.setenv("ALERTBOT_REDIS_URL", "redis://:redis-pw@cache:6379/1")
    config = load(tmp_path, WEBHOOK + 'token = "in-file"\n' + DISTRICT)
    assert config.token == "123:from-env"
    assert config.telegram.webhook_secret.get_secret_value() == "env_secret"
    assert config.telegram.webhook_path == "/tg/hook"
    assert config.storage.url == "postgresql://alertbot:pw-in-env@db:5432/alertbot"
    assert config.redis.url.get_secret_value() == "redis://:redis-pw@cache:6379/1"
    assert sorted(config.secrets) == sorted(["123:from-env", "env_secret", "pw-in-env", "redis-pw"])
    assert "redis-pw" not in repr(config) and "env_secret" not in repr(config)
