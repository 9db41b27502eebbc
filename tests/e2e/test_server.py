"""The bot's HTTP server as an operator's probes see it: /healthz, /readyz and /metrics of a running bot."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy.engine import make_url

from alertbot.app import Application
from alertbot.core.errors import ConfigError
from alertbot.sandbox.botapi import FakeBotAPI
from alertbot.services.drafts import AlertDraft
from alertbot.storage.campaigns import CampaignRepository
from tests.harness import fresh_postgres, make_config, running_bot, seed_residents, wait_until_done
from tests.tcp_proxy import TcpProxy

OFFICER = 1001
LEAK = {"location": "北二马路 12 号", "hotline": "96177"}


async def get(bot: Application, path: str) -> tuple[int, Any]:
    url = f"http://127.0.0.1:{bot.server.port}{path}"
    async with aiohttp.ClientSession() as session, session.get(url) as response:
        body = await (response.json() if response.content_type == "application/json" else response.text())
        return response.status, body


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of a /metrics page by (name, labels), parsed with prometheus-client's own parser."""
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


async def test_healthz_readyz_and_metrics_of_a_running_bot(api: FakeBotAPI, db_path: Path) -> None:
    chats = range(61_000, 61_040)
    api.block(61_003)
    async with running_bot(make_config(api, db_path)) as bot:
        assert bot.server.port, "the server is not listening"
        assert await get(bot, "/healthz") == (200, {"alive": True})
        await seed_residents(bot.database, chats, ("heping",))
        confirmation = await bot.services.alerts.confirm(
            OFFICER, AlertDraft(template_id="gas_leak", variables=LEAK, districts=("heping",))
        )
        await wait_until_done(bot, confirmation.broadcast.id)
        await api.wait_until(lambda: bot.leadership.term is not None, timeout=10)
        status, ready = await get(bot, "/readyz")
        assert status == 200, ready
        assert ready["checks"] == {"database": "ok", "migrations": "ok", "dispatching": True, "sender": "ok"}
        campaigns = CampaignRepository(bot.database)
        await campaigns.record_occurrence("winter_check", datetime(2026, 11, 1, 2, tzinfo=UTC), "missed")
        await campaigns.record_occurrence("winter_check", datetime(2026, 11, 8, 2, tzinfo=UTC), "missed")
        await campaigns.record_occurrence("winter_check", datetime(2026, 11, 15, 2, tzinfo=UTC), "paused")
        status, page = await get(bot, "/metrics")
    assert status == 200
    metrics = samples(page)
    number = str(confirmation.broadcast.id)
    first = metrics[("alertbot_broadcast_first_delivery_seconds", (("broadcast", number), ("kind", "warning")))]
    last = metrics[
        ("alertbot_broadcast_last_delivery_seconds", (("broadcast", number), ("finished", "1"), ("kind", "warning")))
    ]
    assert 0 <= first < last < 10, (first, last)  # 39 messages at 30/s: more than a second from first to last
    assert last > 1.0
    assert metrics[("alertbot_send_rate", ())] == pytest.approx((len(chats) - 1) / 10)
    assert metrics[("alertbot_campaign_occurrences", (("campaign", "winter_check"), ("status", "missed")))] == 2
    assert metrics[("alertbot_campaign_occurrences", (("campaign", "winter_check"), ("status", "paused")))] == 1
    delivered = sum(len(api.messages(c)) for c in chats)
    assert delivered == len(chats) - 1
    assert metrics[("alertbot_messages_sent_total", ())] == delivered
    assert metrics[("alertbot_messages_failed_total", (("reason", "blocked"),))] == 1
    assert metrics[("alertbot_lease_holder", (("instance", bot.config.dispatch.instance),))] == 1
    assert metrics[("alertbot_flood_waits_total", ())] == 0
    assert ("alertbot_queue_depth", (("priority", "extreme"),)) not in metrics  # nothing left to send
    assert metrics[("alertbot_update_seconds_count", ())] >= 0
    assert any(name == "alertbot_build_info" for name, _ in metrics)


async def test_readyz_is_503_within_5_s_when_the_database_goes_away_and_200_when_it_is_back(api: FakeBotAPI) -> None:
    async with fresh_postgres() as url:
        real = make_url(url)
        async with TcpProxy(real.host or "127.0.0.1", real.port or 5432) as proxy:
            proxied = real.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
            async with running_bot(make_config(api, proxied)) as bot:
                assert (await get(bot, "/readyz"))[0] == 200
                proxy.cut()
                away = time.monotonic()
                status, body = await until_status(bot, 503, timeout=5)
                print(f"503 after {time.monotonic() - away:.1f} s: {body}")
                assert status == 503 and body["checks"]["database"].startswith("not answering"), body
                assert (await get(bot, "/healthz"))[0] == 200  # alive all the same
                proxy.restore()
                back = time.monotonic()
                status, body = await until_status(bot, 200, timeout=15)
                print(f"200 again {time.monotonic() - back:.1f} s after the database came back")
                assert status == 200, body


async def until_status(bot: Application, wanted: int, timeout: float) -> tuple[int, Any]:
    deadline = time.monotonic() + timeout
    while True:
        status, body = await get(bot, "/readyz")
        if status == wanted or time.monotonic() > deadline:
            return status, body
        await asyncio.sleep(0.2)


async def test_a_port_in_use_is_refused_with_the_setting_to_change(api: FakeBotAPI, db_path: Path) -> None:
    async with running_bot(make_config(api, db_path)) as first:
        taken = make_config(api, db_path.with_name("second.db"), server={"port": first.server.port},
                            dispatch={"instance": "second"})  # fmt: skip
        with pytest.raises(ConfigError, match=rf"cannot listen on 127.0.0.1:{first.server.port}.*\[server\] port"):
            async with running_bot(taken):
                pass
    # what the startup hooks before the failing one started has stopped too (the command menus' task, which went
    # on setting menus after its session closed, and so opened another that nothing closed)
    left = [task.get_name() for task in asyncio.all_tasks() if task.get_name().startswith("alertbot-")]
    assert left == [], left
