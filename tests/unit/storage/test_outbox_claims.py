"""Claims by several dispatchers at once (two instances, or a fenced-off holder still running) never overlap."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from alertbot.config import AppConfig, load_config
from alertbot.services.container import build_services
from alertbot.services.drafts import AlertDraft
from alertbot.storage import Database
from alertbot.storage.outbox import OutboxRepository
from tests.harness import EXAMPLE_CONFIG, seed_residents


def config_on(url: str) -> AppConfig:
    data = load_config(EXAMPLE_CONFIG).model_dump(mode="python")
    data["storage"] = {"url": url}
    data["campaigns"] = []
    return AppConfig.model_validate(data)


async def test_concurrent_claims_take_each_delivery_once(database_url: str) -> None:
    services = await build_services(config_on(database_url))
    others = [Database(database_url) for _ in range(3)]
    try:
        await seed_residents(services.database, range(10_000, 10_600), ("heping",))
        draft = AlertDraft(template_id="gas_leak", variables={"location": "x", "hotline": "1"}, districts=("heping",))
        await services.alerts.confirm(1001, draft)
        outboxes = [OutboxRepository(database) for database in others]

        async def claim_all(outbox: OutboxRepository, epoch: int) -> list[int]:
            taken: list[int] = []
            while batch := await outbox.claim(25, timedelta(minutes=1), epoch):
                taken.extend(claimed.id for claimed in batch)
            return taken

        claims = await asyncio.gather(*(claim_all(outbox, n) for n, outbox in enumerate(outboxes, 1)))
        every = [delivery for taken in claims for delivery in taken]
        assert len(every) == len(set(every)) == 600, "a delivery was claimed twice (or not at all)"
        assert sum(1 for taken in claims if taken) >= 2, "one dispatcher took everything: the claims did not interleave"
    finally:
        for database in others:
            await database.close()
        await services.database.close()
