"""Runs the background jobs (dispatcher, progress reporter) only while this instance holds the lease."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence
from datetime import timedelta
from typing import Protocol

from alertbot.storage.leases import LeaseRepository

log = logging.getLogger(__name__)

LEASE_NAME = "dispatch"


class Job(Protocol):
    async def run(self) -> None: ...

    async def stop(self) -> None: ...


class Leadership:
    """Acquires and renews the lease; starts the jobs when it is held and stops them when it is lost."""

    def __init__(self, leases: LeaseRepository, holder: str, ttl: timedelta, jobs: Sequence[Job]) -> None:
        self._leases = leases
        self.holder = holder
        self._ttl = ttl
        self._jobs = jobs
        self._tasks: list[asyncio.Task[None]] = []
        self._stopping = asyncio.Event()
        self.leading = asyncio.Event()

    async def run(self) -> None:
        try:
            while not self._stopping.is_set():
                try:
                    held = await self._leases.acquire(LEASE_NAME, self.holder, self._ttl)
                except Exception:
                    log.exception("could not renew the dispatch lease")
                    held = False
                if held and not self._tasks:
                    log.info("%s now dispatches", self.holder)
                    self._tasks = [asyncio.create_task(job.run()) for job in self._jobs]
                    self.leading.set()
                elif not held and self._tasks:
                    log.warning("%s lost the dispatch lease; stopping", self.holder)
                    await self._stop_jobs()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stopping.wait(), self._ttl.total_seconds() / 3)
        finally:
            await self._stop_jobs()
            with contextlib.suppress(Exception):
                await self._leases.release(LEASE_NAME, self.holder)

    async def stop(self) -> None:
        self._stopping.set()

    async def _stop_jobs(self) -> None:
        self.leading.clear()
        for job in self._jobs:
            await job.stop()
        tasks, self._tasks = self._tasks, []
        for task in tasks:
            try:
                await asyncio.wait_for(task, timeout=15)
            except (TimeoutError, asyncio.CancelledError):
                log.warning("a dispatch job did not stop in time")
            except Exception:
                log.exception("a dispatch job failed")
