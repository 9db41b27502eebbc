"""Two `alertbot run` processes in webhook mode on one PostgreSQL database (and Redis), as in production.

The Bot API double posts updates to the two instances in turn (a reverse proxy's round robin) with the
secret header. Flows started on one instance finish on the other; a wrong secret changes nothing;
readiness follows the database; metrics match what the double saw; and a kill -9 of the sending
instance in the middle of a broadcast to 3,000 is taken over by the other within 15 s.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import sys
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy.engine import make_url

from alertbot.sandbox.botapi import FakeBotAPI
from tests import stalls
from tests.e2e.test_alert_chat import SKIP, compose
from tests.e2e.test_faults import (
    OFFICER,
    RATE,
    SUPERVISOR,
    current_holder,
    gas_leak,
    limited,
    received,
    running_services,
)
from tests.harness import (
    REDIS_TEST_URL,
    REPO,
    Person,
    free_port,
    fresh_postgres,
    fresh_redis_prefix,
    process_environment,
    seed_residents,
    write_config,
)
from tests.tcp_proxy import TcpProxy

SECRET = "hook_SECRET-0123456789"
PUBLIC_HOOK = "https://alerts.example.org/tg/hook"


@dataclass
class Instance:
    name: str
    port: int
    process: asyncio.subprocess.Process
    log: Path

    @property
    def hook(self) -> str:
        return f"http://127.0.0.1:{self.port}/tg/hook"

    async def get(self, path: str) -> tuple[int, str]:
        async with aiohttp.ClientSession() as http, http.get(f"http://127.0.0.1:{self.port}{path}") as response:
            return response.status, await response.text()

    async def post_update(self, update: dict[str, Any], headers: dict[str, str]) -> int:
        async with aiohttp.ClientSession() as http, http.post(self.hook, json=update, headers=headers) as response:
            return response.status

    def kill(self) -> None:
        if self.process.returncode is None:
            self.process.kill()


async def start_instance(
    folder: Path, api: FakeBotAPI, storage_url: str, name: str, redis_prefix: str | None
) -> Instance:
    """One `alertbot run` in webhook mode; its secrets (and the database and Redis) come from the environment."""
    folder.mkdir(parents=True, exist_ok=True)  # noqa: ASYNC240 - a test's own folder
    port = free_port()
    lines = [
        'telegram.mode = "webhook"', f'telegram.webhook_url = "{PUBLIC_HOOK}"', f"server.port = {port}",
        f'dispatch.instance = "{name}"', 'dispatch.lease_ttl = "10s"', 'dispatch.progress_interval = "3s"',
        f"dispatch.rate = {RATE}", "bot.throttle_rate = 100.0", "bot.throttle_burst = 100",
        'logging.format = "json"',
    ]  # fmt: skip
    if redis_prefix:
        lines.append(f'redis.prefix = "{redis_prefix}"')
    config = write_config(folder, api, folder / "unused.db", "\n".join(lines))
    environment = {"ALERTBOT_TELEGRAM_TOKEN": api.token, "ALERTBOT_WEBHOOK_SECRET": SECRET,
                   "ALERTBOT_STORAGE_URL": storage_url}  # fmt: skip
    if redis_prefix:
        environment["ALERTBOT_REDIS_URL"] = REDIS_TEST_URL
    log = folder / "stderr.log"
    with log.open("wb") as stderr:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "alertbot", "run", "--config", str(config),
            cwd=REPO, env=process_environment(**environment), stdout=asyncio.subprocess.DEVNULL, stderr=stderr,
        )  # fmt: skip
    return Instance(name, port, process, log)


async def wait_ready(instance: Instance, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if instance.process.returncode is not None:
            raise AssertionError(f"{instance.name} exited {instance.process.returncode}: {instance.log.read_text()}")
        with contextlib.suppress(aiohttp.ClientError):
            if (await instance.get("/readyz"))[0] == 200:
                return
        await asyncio.sleep(0.2)
    raise AssertionError(f"{instance.name} not ready within {timeout}s: {instance.log.read_text()[-2000:]}")


@contextlib.asynccontextmanager
async def two_instances(
    api: FakeBotAPI, tmp_path: Path, url: str, *, redis: bool, urls: tuple[str, str] | None = None
) -> AsyncIterator[tuple[Instance, Instance]]:
    """bot-a and bot-b behind the double's round robin; `urls`: each one's storage URL (default `url`)."""
    first_url, second_url = urls or (url, url)
    async with contextlib.AsyncExitStack() as stack:
        prefix = await stack.enter_async_context(fresh_redis_prefix()) if redis else None
        a = await start_instance(tmp_path / "a", api, first_url, "bot-a", prefix)
        stack.callback(a.kill)
        await wait_ready(a)  # bot-a starts first: it takes the lease
        b = await start_instance(tmp_path / "b", api, second_url, "bot-b", prefix)
        stack.callback(b.kill)
        await wait_ready(b)
        api.webhook_targets = [a.hook, b.hook]
        await api.wait_until(lambda: len(api.calls("setWebhook")) >= 2, timeout=10)
        yield a, b
        for instance in (a, b):
            text = instance.log.read_text()
            assert SECRET not in text and api.token not in text, "a secret reached the log"
            entries = [json.loads(line) for line in text.splitlines()]  # [logging] format = "json": one per line
            assert any(entry["message"].startswith("webhook set") for entry in entries), entries[:5]
        a.kill()
        b.kill()
        await a.process.wait()
        await b.process.wait()


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def targets_of(api: FakeBotAPI, update_ids: set[int]) -> set[str]:
    return {target for target, update_id, status in api.webhook.posts if update_id in update_ids and status == 200}


@pytest.fixture
async def postgres_url() -> AsyncIterator[str]:
    async with fresh_postgres() as url:
        yield url


async def test_flows_continue_on_the_other_instance_secrets_readiness_and_metrics(
    api: FakeBotAPI, postgres_url: str, tmp_path: Path
) -> None:
    real = make_url(postgres_url)
    async with TcpProxy(real.host or "127.0.0.1", real.port or 5432) as proxy:
        proxied = real.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
        async with two_instances(api, tmp_path, postgres_url, redis=True, urls=(proxied, postgres_url)) as (
            a,
            b,
        ):
            # onboarding: every step lands on the other instance than the one before (round robin)
            anna = Person(api, 501, "en")
            first = len(api.webhook.posts)
            welcome = await anna.say("/start")
            await anna.tap(welcome, "🏠 Resident")
            picker = anna.current(welcome)
            await anna.tap(picker, "Heping")
            await anna.tap(picker, "Tiexi")
            await anna.tap(picker, "✔️ Done")
            assert "Heping, Tiexi" in anna.current(picker)["text"]
            onboarding = {update_id for _, update_id, _ in api.webhook.posts[first:]}
            assert targets_of(api, onboarding) == {a.hook, b.hook}, "the flow did not cross instances"
            # a choice made on one instance holds on the other at once
            for command, language, expected in (("/language zh", "zh", "和平区"), ("/language en", "en", "Heping")):
                await anna.say(command)
                for _ in range(2):  # the next two updates: one on each instance
                    reply = await anna.say("/mysubs")
                    assert expected in reply["text"], (language, reply["text"])

            # an official's /alert, composed step by step across both instances, then confirmed
            officer = Person(api, OFFICER, "en")
            first = len(api.webhook.posts)
            composed = await compose(officer, "Gas explosion", ["Taiyuan North Street 5", SKIP, SKIP, SKIP, SKIP],
                                     ["Heping"])  # fmt: skip
            steps = {update_id for _, update_id, _ in api.webhook.posts[first:]}
            assert targets_of(api, steps) == {a.hook, b.hook}
            # extreme: the two-person rule holds across instances too
            await officer.tap(composed.confirm, officer.button_texts(composed.confirm)[0])
            assert "waits for a supervisor's approval" in officer.current(composed.confirm)["text"]
            supervisor = Person(api, SUPERVISOR, "en")
            request = await api.wait_for_message(SUPERVISOR, contains="Taiyuan North Street 5", timeout=10)
            await supervisor.tap(request, api.buttons(request)[0][1])
            await api.wait_for_message(501, contains="Taiyuan North Street 5", timeout=20)

            # a wrong or missing secret: 401 on either instance, and nothing happens
            stranger = {"update_id": 99_999, "message": {"message_id": 1, "date": 0, "text": "/subscribe faku",
                        "chat": {"id": 909, "type": "private"}, "from": {"id": 909, "is_bot": False, "first_name": "X"},
                        "entities": [{"type": "bot_command", "offset": 0, "length": 10}]}}  # fmt: skip
            for instance in (a, b):
                for headers in ({}, {"X-Telegram-Bot-Api-Secret-Token": SECRET.lower()}):
                    assert await instance.post_update(stranger, headers) == 401
            await asyncio.sleep(0.5)
            assert api.messages(909) == []

            # metrics on both parse, and together they count what the double received
            pages = [samples((await instance.get("/metrics"))[1]) for instance in (a, b)]
            sent = sum(page.get(("alertbot_messages_sent_total", ()), 0) for page in pages)
            holders = [page.get(("alertbot_lease_holder", (("instance", name),)), 0) for page, name in
                       zip(pages, ("bot-a", "bot-b"), strict=True)]  # fmt: skip
            assert holders == [1, 0]
            assert sent == len([m for m in api.messages(501) if "Taiyuan North Street 5" in m["text"]]) == 1
            assert all(page.get(("alertbot_update_seconds_count", ()), 0) > 0 for page in pages)

            # bot-a's database goes away: not ready within 5 s; back: ready again
            proxy.cut()
            started = time.monotonic()
            while (await a.get("/readyz"))[0] != 503:
                assert time.monotonic() - started < 5, "still ready 5 s after the database went away"
                await asyncio.sleep(0.1)
            assert (await b.get("/readyz"))[0] == 200
            proxy.restore()
            started = time.monotonic()
            while (await a.get("/readyz"))[0] != 200:
                assert time.monotonic() - started < 15, "not ready 15 s after the database came back"
                await asyncio.sleep(0.2)


@pytest.mark.faults
async def test_kill_9_of_the_sending_instance_mid_broadcast_to_3000(
    api: FakeBotAPI, postgres_url: str, tmp_path: Path
) -> None:
    """bot-a sends; it is killed halfway. bot-b takes over within 15 s and finishes: everyone reached,
    duplicates within the in-flight bound, and the two together never over the token's limit."""
    limited(api)
    chats = range(300_000, 303_000)
    async with (
        two_instances(api, tmp_path, postgres_url, redis=True) as (a, _),
        running_services(api, postgres_url) as services,
    ):
        await seed_residents(services.database, chats, ("hunnan",))
        confirmation = await services.alerts.confirm(OFFICER, gas_leak("hunnan"))
        await api.wait_until(lambda: sum(1 for c in chats if api.messages(c)) >= 1500, timeout=120)
        holder_before = await current_holder(services.database)
        killed_at = time.monotonic()
        a.kill()  # SIGKILL: no goodbye; its lease simply stops being renewed
        await a.process.wait()
        # updates keep being answered: the double's posts to the dead instance fail and go to bot-b
        late = Person(api, 404_001, "en")
        assert "Faku" in (await late.say("/subscribe faku", timeout=20))["text"]
        await api.wait_until(lambda: any(t > killed_at for t in api.send_times), timeout=20)
        takeover = min(t for t in api.send_times if t > killed_at) - killed_at
        for _ in range(600):
            if (await services.broadcasts.counts(confirmation.broadcast.id)).open == 0:
                break
            await asyncio.sleep(0.1)
        holder_after = await current_holder(services.database)
        counts = received(api, chats)
        report = await services.alerts.report(confirmation.broadcast.id)
    missing = [chat for chat, n in counts.items() if n == 0]
    duplicates = sum(n - 1 for n in counts.values() if n > 1)
    print(f"takeover after {takeover:.1f} s; {duplicates} duplicates; max {api.max_in_window()}/s")
    assert holder_before == "bot-a" and holder_after == "bot-b"
    assert takeover <= 15, f"bot-b took {takeover:.1f} s to take over"
    assert not missing, f"{len(missing)} never reached"
    assert duplicates <= 32  # bot-a's in-flight window at 30/s: requests in flight + a claim + unrecorded answers
    flood = [(m, p.get("chat_id"), str(e)) for m, p, e in api.errors if e.error_code == 429]
    assert api.rate_limited == 0, (
        f"{api.rate_limited} requests over the token's limit: {flood[:8]}; {api.floods[:8]}; {stalls.describe()}"
    )
    assert api.max_in_window() <= RATE
    assert report.counts.sent == len(chats)
