"""Commands that do not talk to Telegram never import aiogram (it costs seconds of start-up)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.harness import EXAMPLE_CONFIG, REPO

# Runs in a fresh interpreter: each command in-process (click's runner), then a look at sys.modules.
PROBE = """
import json, sys
from click.testing import CliRunner
from alertbot.cli.main import main
results = []
for args in json.loads(sys.argv[1]):
    result = CliRunner().invoke(main, args, catch_exceptions=False)
    results.append({"args": args, "exit": result.exit_code, "output": result.output[-300:],
                    "aiogram": sorted(m for m in sys.modules if m.split(".")[0] == "aiogram")[:3]})
print(json.dumps(results))
"""

WARNING = ["-t", "gas_leak", "-d", "heping", "--var", "location=北二马路 12 号", "--var", "hotline=96177"]


def test_commands_that_do_not_talk_to_telegram_do_not_import_aiogram(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text(EXAMPLE_CONFIG.read_text().replace("sqlite:///alertbot.db", f"sqlite:///{tmp_path / 'a.db'}"))
    c = ["--config", str(config)]
    commands = [
        ["db", "upgrade", *c],
        ["check", *c],
        ["templates", *c],
        ["alert", "send", *c, *WARNING, "--as", "1001", "--yes"],  # refused (nobody subscribed): still no aiogram
        ["alert", "status", "1", *c],
        ["alert", "cancel", "1", *c, "--as", "1001"],
        ["audit", *c],
        ["campaigns", "list", *c],
        ["campaigns", "preview", "heating_season", *c],
    ]
    probe = subprocess.run(
        [sys.executable, "-c", PROBE, json.dumps(commands)],
        capture_output=True, text=True, cwd=REPO, timeout=120, check=True,
    )  # fmt: skip
    results = json.loads(probe.stdout)
    assert [r["args"][:2] for r in results] == [a[:2] for a in commands], "a command did not run"
    ran = [r for r in results if r["exit"] in (0, 1, 2)]
    assert len(ran) == len(commands), [(r["args"][:2], r["exit"], r["output"]) for r in results]
    assert [r["args"][:2] for r in results if r["aiogram"]] == []
    assert results[0]["exit"] == 0 and results[2]["exit"] == 0 and results[7]["exit"] == 0, results
