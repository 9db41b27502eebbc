"""Talking to a running bot's HTTP API as a dispatch system would: keys made with the real CLI, aiohttp requests."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import aiohttp

from alertbot.app import Application
from tests.harness import REPO, override


def cli_config(bot: Application, folder: Path) -> Path:
    """A config file for `alertbot` commands on the running bot's database (whichever it is)."""
    text = (REPO / "config.example.toml").read_text(encoding="utf-8").split("\n[[campaigns]]")[0]
    text = override(text, "storage", "url", f'"{bot.config.storage.url}"')
    path = folder / "cli.toml"
    path.write_text(text, encoding="utf-8")
    return path


async def alertbot_cli(config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("ALERTBOT_")}
    return await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "alertbot", *args, "--config", str(config)],
        capture_output=True, text=True, env=environment, cwd=REPO, timeout=60, check=False,
    )  # fmt: skip


async def new_key(bot: Application, name: str, official: int, cap_import: str | None = None) -> str:
    return (await bot.services.api_keys.create(name, official, cap_import)).key  # type: ignore[arg-type]


class ApiClient:
    def __init__(self, bot: Application, key: str | None) -> None:
        self.base = f"http://127.0.0.1:{bot.server.port}"
        self.key = key

    async def call(
        self, method: str, path: str, *, json: Any = None, data: bytes | str | None = None,
        headers: dict[str, str] | None = None, key: str | None = None,
    ) -> tuple[int, Any, Any]:  # fmt: skip
        """(status, body as JSON or text, headers)."""
        sent = dict(headers or {})
        token = key if key is not None else self.key
        if token:
            sent.setdefault("Authorization", f"Bearer {token}")
        async with (
            aiohttp.ClientSession() as session,
            session.request(method, self.base + path, json=json, data=data, headers=sent) as response,
        ):
            text = await response.text()
            body: Any = text
            if response.content_type in ("application/json", "application/problem+json"):
                body = await response.json(content_type=None)
            return response.status, body, response.headers
