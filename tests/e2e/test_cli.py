"""The command line as a user runs it: a real `alertbot` process (no token, bad config, check, db)."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

from tests.harness import EXAMPLE_CONFIG, REPO


def alertbot(*args: str, env: dict[str, str] | None = None, cwd: Path = REPO) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("ALERTBOT_")}
    environment.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "alertbot", *args],
        capture_output=True,
        text=True,
        env=environment,
        cwd=cwd,
        timeout=60,
        check=False,
    )


def test_run_without_token_prints_one_line_hint(tmp_path: Path) -> None:
    result = alertbot("run", "--config", str(EXAMPLE_CONFIG), cwd=tmp_path)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "BotFather" in lines[0]
    assert "ALERTBOT_TELEGRAM_TOKEN" in lines[0]
    assert "Traceback" not in result.stderr


def test_bad_config_names_the_key(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text('[bot]\ndefault_language = "fr"\n[[districts]]\nid = "x"\nname = { zh = "x" }\n')
    result = alertbot("check", "--config", str(bad))
    assert result.returncode == 2
    assert "bot.default_language" in result.stderr
    assert "districts[0].name.en" in result.stderr
    assert "Traceback" not in result.stderr


def test_config_from_environment_variable(tmp_path: Path) -> None:
    bad = tmp_path / "typo.toml"
    bad.write_text("[telegram]\ntokn = 'x'\n[[districts]]\nid = 'x'\nname = { zh = 'x', en = 'x' }\n")
    result = alertbot("check", env={"ALERTBOT_CONFIG": str(bad)})
    assert result.returncode == 2
    assert "telegram.tokn" in result.stderr


def test_unknown_official_district_is_reported(tmp_path: Path) -> None:
    bad = tmp_path / "scope.toml"
    bad.write_text(
        "[[districts]]\nid = 'a'\nname = { zh = 'x', en = 'x' }\n"
        "[[officials]]\ntelegram_id = 1\nname = 'n'\ndistricts = ['b']\n"
    )
    result = alertbot("check", "--config", str(bad))
    assert result.returncode == 2
    assert "officials[0].districts: unknown district b" in result.stderr


def test_missing_config_file(tmp_path: Path) -> None:
    result = alertbot("check", "--config", str(tmp_path / "nope.toml"))
    assert result.returncode == 2
    assert "config file not found" in result.stderr


def test_check_renders_all_templates() -> None:
    result = alertbot("check", "--config", str(EXAMPLE_CONFIG))
    assert result.returncode == 0, result.stderr
    assert "templates OK" in result.stdout


def test_db_upgrade_creates_schema(tmp_path: Path) -> None:
    config = tmp_path / "c.toml"
    db = tmp_path / "x.db"
    config.write_text(EXAMPLE_CONFIG.read_text().replace("sqlite:///alertbot.db", f"sqlite:///{db}"))
    result = alertbot("db", "upgrade", "--config", str(config))
    assert result.returncode == 0, result.stderr
    with sqlite3.connect(db) as connection:
        tables = {row[0] for row in connection.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        assert {"subscribers", "subscriptions", "alembic_version"} <= tables
        assert connection.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
