"""Leadership and fencing on real databases: jobs that end are restarted, failing jobs hand the lease over,
and an earlier epoch can neither re-queue a live claim nor record over a later one."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from datetime import timedelta

from sqlalchemy import update

from alertbot.core.domain import DeliveryState
from alertbot.core.health import Health
from alertbot.delivery.leadership import Leadership, Term
from alertbot.sandbox.botapi import FakeBotAPI
from alertbot.services.container import build_services
from alertbot.storage import Database
from alertbot.storage.instances import InstanceRepository
from alertbot.storage.leases import LeaseRepository
from alertbot.storage.outbox import OutboxRepository, Outcome
from alertbot.storage.tables import deliveries
from tests.e2e.test_faults import OFFICER, gas_leak
from tests.harness import delivery_rows, make_config, seed_residents

TTL = timedelta(seconds=1)


class ScriptedJob:
    """A job for Leadership (the contract it runs, not our storage): ends or fails as told."""

    def __init__(self, *, end_after: float | None = None, failing: bool = False) -> None:
        self.health = Health("scripted job")
        self.runs: list[Term] = []
        self._end_after = end_after
        self._failing = failing
        self._stop = asyncio.Event()

    async def run(self, term: Term) -> None:
        self.runs.append(term)
        self._stop.clear()
        if self._failing:
            self.health.failed(RuntimeError("the database is gone"), "testing")
            self.health.failing_since = time.monotonic() - 60  # failing for a minute already
        if self._end_after is not None and len(self.runs) == 1:
            await asyncio.sleep(self._end_after)
            raise RuntimeError("a bug that ends the job")
        await self._stop.wait()

    async def stop(self) -> None:
        self._stop.set()


def leadership(database: Database, name: str, job: ScriptedJob) -> Leadership:
    return Leadership(LeaseRepository(database), InstanceRepository(database), name, TTL, [job])


async def wait_for(predicate: Callable[[], object], timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.05)


async def test_a_job_that_ends_is_restarted_within_the_same_term(backend_url: str) -> None:
    database = Database(backend_url)
    await database.upgrade()
    job = ScriptedJob(end_after=0.1)
    leader = leadership(database, "a", job)
    await leader.register()
    task = asyncio.create_task(leader.run())
    try:
        await wait_for(lambda: len(job.runs) >= 2)
        assert job.runs[0].epoch == job.runs[1].epoch, "restarted within the same term"
        assert job.health.last_error and "a bug that ends the job" in job.health.last_error
    finally:
        await leader.stop()
        await task
        await database.close()


async def test_an_instance_whose_jobs_keep_failing_hands_the_lease_over(backend_url: str) -> None:
    database = Database(backend_url)
    await database.upgrade()
    sick, healthy = ScriptedJob(failing=True), ScriptedJob()
    a, b = leadership(database, "a", sick), leadership(database, "b", healthy)
    await a.register()
    await b.register()
    tasks = [asyncio.create_task(a.run())]
    try:
        await wait_for(lambda: sick.runs)
        tasks.append(asyncio.create_task(b.run()))
        await wait_for(lambda: healthy.runs, timeout=15)
        assert healthy.runs[0].epoch > sick.runs[0].epoch
        assert await LeaseRepository(database).holder("dispatch") == "b"
        assert a.term is None
    finally:
        for leader in (a, b):
            await leader.stop()
        await asyncio.gather(*tasks)
        await database.close()


async def test_an_earlier_epoch_cannot_requeue_a_live_claim_or_record_over_a_later_one(
    api: FakeBotAPI, backend_url: str
) -> None:
    services = await build_services(make_config(api, backend_url))
    try:
        await seed_residents(services.database, range(7000, 7004), ("hunnan",))
        await services.alerts.confirm(OFFICER, gas_leak("hunnan"))
        repo: OutboxRepository = services.outbox
        old = await repo.claim(4, timedelta(seconds=30), epoch=1)  # holder of epoch 1 sends these now
        assert len(old) == 4
        # epoch 2 takes over while epoch 1 is alive: its live claims are not touched ...
        assert await repo.release_claims(2, other_epochs=True, expired_only=True) == 0
        # ... until their claim lease has run out (here: made to run out)
        async with services.database.transaction() as conn:
            past = await services.database.now(conn) - timedelta(seconds=1)
            await conn.execute(update(deliveries).where(deliveries.c.id == old[0].id).values(lease_until=past))
        assert await repo.release_claims(2, other_epochs=True, expired_only=True) == 1
        [again] = await repo.claim(1, timedelta(seconds=30), epoch=2)
        assert again.id == old[0].id and again.epoch == 2
        # epoch 1's late "retry" and "failed" answers change nothing; its late "sent" is the truth
        await repo.record([Outcome(old[0].id, DeliveryState.PENDING, epoch=1, retry_in=5)])
        await repo.record([Outcome(old[1].id, DeliveryState.FAILED, epoch=2, error="not mine")])
        await repo.record([Outcome(old[2].id, DeliveryState.SENT, epoch=1, message_id=42)])
        rows = {row.id: row for row in await delivery_rows(services.database, old[0].broadcast_id)}
        assert rows[old[0].id].state == "sending" and rows[old[0].id].claim_epoch == 2
        assert rows[old[1].id].state == "sending"  # epoch 2 never claimed it: its answer is not taken
        assert rows[old[2].id].state == "sent" and rows[old[2].id].message_id == 42
    finally:
        await services.database.close()


async def test_a_restarted_container_takes_its_name_back_at_once(backend_url: str) -> None:
    """In a container the bot has the same host name and pid after every restart: the previous run (same
    host:pid, another nonce) is known gone at once instead of being watched for 1.5 lease times."""
    import os
    import socket

    database = Database(backend_url)
    await database.upgrade()
    previous_run = f"{socket.gethostname()}:{os.getpid()}:0ld0ld00"
    try:
        assert await InstanceRepository(database).claim_name("bot1", previous_run, stale_after=TTL) is None
        started = time.monotonic()
        await leadership(database, "bot1", ScriptedJob()).register()
        assert time.monotonic() - started < TTL.total_seconds() / 3, "waited for a process that cannot be alive"
    finally:
        await database.close()
