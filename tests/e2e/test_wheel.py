"""The wheel is complete: installed into a fresh virtual environment, alertbot renders every template."""

from __future__ import annotations

import os
import shutil
import subprocess
import zipfile
from pathlib import Path

import pytest

from tests.harness import EXAMPLE_CONFIG, REPO


def run(*args: str | Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ALERTBOT_", "VIRTUAL_ENV", "UV_PROJECT"))}
    return subprocess.run(
        [str(a) for a in args], capture_output=True, text=True, cwd=cwd, env=env, timeout=600, check=False
    )


def test_the_wheel_installed_elsewhere_checks_config_and_templates(tmp_path: Path) -> None:
    uv = shutil.which("uv")
    if uv is None:
        pytest.skip("uv is not on PATH")
    built = run(uv, "build", "--wheel", "--out-dir", tmp_path / "dist", REPO, cwd=tmp_path)
    assert built.returncode == 0, built.stderr
    (wheel,) = (tmp_path / "dist").glob("alertbot-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert "alertbot/messages/catalog.toml" in names, "messages/ is not in the wheel"
    assert any(n.startswith("alertbot/content/locales/") for n in names), "the translations are not in the wheel"
    venv = tmp_path / "venv"
    assert run(uv, "venv", "--quiet", venv, cwd=tmp_path).returncode == 0
    python = venv / "bin" / "python"
    installed = run(uv, "pip", "install", "--quiet", "--python", python, wheel, cwd=tmp_path)
    assert installed.returncode == 0, installed.stderr
    config = tmp_path / "config.toml"
    config.write_text(EXAMPLE_CONFIG.read_text())
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    checked = run(venv / "bin" / "alertbot", "check", "--config", config, cwd=elsewhere)
    assert checked.returncode == 0, checked.stderr
    assert "templates OK" in checked.stdout
    location = run(python, "-c", "import alertbot, sys; print(alertbot.__file__)", cwd=elsewhere).stdout
    assert str(REPO) not in location, f"the check ran the checkout, not the installed wheel: {location}"
