"""Runs the background jobs (outbox sender, progress reporter) only while this instance holds the lease.

Fencing: each time the lease changes hands its epoch grows; the jobs get a `Term` for the epoch this
instance holds, which is valid only until three quarters of the lease time after the last successful
renewal began. The sender checks it before each claim and send, so a holder that cannot renew
(database gone, process stalled) stops sending well before another instance can take over.

Jobs never end silently: a job that returns or raises while the term lasts is restarted with
backoff; when jobs keep failing for longer than the lease time, the instance gives the lease up for a
while so that a healthy instance can take over.

A process is `host:pid:nonce`. Its name (`[dispatch] instance`) is registered in the `instances`
table with a heartbeat, and a second live process under the same name is refused.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
import socket
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Protocol

from alertbot.core.errors import DuplicateInstanceError
from alertbot.core.health import Health, backoff
from alertbot.storage.instances import InstanceRepository
from alertbot.storage.leases import LeaseRepository

log = logging.getLogger(__name__)

LEASE_NAME = "dispatch"
TERM_FRACTION = 0.75  # a term is valid for this share of the lease time after a renewal began
STOP_SECONDS = 15.0  # how long a stopping background task may take before it is reported


_STARTED_HERE: set[str] = set()  # the processes (Applications) this Python process has started


def this_process() -> str:
    process = f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"
    _STARTED_HERE.add(process)
    return process


def process_is_gone(process: str) -> bool:
    """True when `process` (host:pid:nonce) ran on this host and its pid no longer exists."""
    host, _, rest = process.partition(":")
    pid_text = rest.partition(":")[0]
    if host != socket.gethostname() or not pid_text.isdigit():
        return False
    if int(pid_text) == os.getpid():
        # another Application in this very process: alive. Otherwise an earlier process that had this pid
        # on this host - a container restarted, whose bot is always the same pid: gone.
        return process not in _STARTED_HERE
    try:
        os.kill(int(pid_text), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


@dataclass
class Term:
    """One uninterrupted holding of the lease by this instance."""

    epoch: int
    predecessor_gone: bool
    valid_until: float  # time.monotonic()

    def valid(self) -> bool:
        return time.monotonic() < self.valid_until


class Job(Protocol):
    health: Health

    async def run(self, term: Term) -> None: ...

    async def stop(self) -> None: ...


class Leadership:
    """Acquires and renews the lease; runs the jobs while it is held and stops them when it is lost."""

    def __init__(
        self,
        leases: LeaseRepository,
        instances: InstanceRepository,
        name: str,
        ttl: timedelta,
        jobs: Sequence[Job],
        *,
        process: str | None = None,
    ) -> None:
        self._leases = leases
        self._instances = instances
        self.holder = name
        self.process = process or this_process()
        self._ttl = ttl
        self._jobs = jobs
        self._tasks: dict[int, asyncio.Task[None]] = {}
        self._restarts: dict[int, tuple[int, float]] = {}  # job index -> (restarts in a row, not before)
        self._stopping = asyncio.Event()
        self._cool_down_until = 0.0
        self.term: Term | None = None
        self.leading = asyncio.Event()
        self.health = Health("dispatch lease")

    # -- the instance name --------------------------------------------------------------------

    async def register(self) -> None:
        """Claim this instance's name, or raise DuplicateInstanceError if another live process has it.

        A process that died on this host is replaced at once; one elsewhere is judged by its heartbeat,
        watched for up to one and a half lease times.
        """
        ttl = self._ttl
        other = await self._instances.claim_name(self.holder, self.process, stale_after=ttl)
        if other is None:
            return
        if process_is_gone(other):
            await self._instances.claim_name(self.holder, self.process, stale_after=ttl, force=True)
            return
        first = await self._instances.seen_at(self.holder)
        deadline = time.monotonic() + ttl.total_seconds() * 1.5
        log.warning("instance name %r was in use by %s a moment ago; waiting to see if it is alive", self.holder, other)
        while time.monotonic() < deadline:
            await asyncio.sleep(ttl.total_seconds() / 3)
            other = await self._instances.claim_name(self.holder, self.process, stale_after=ttl)
            if other is None:
                return
            if await self._instances.seen_at(self.holder) != first:
                raise DuplicateInstanceError(self.holder, other)
        raise DuplicateInstanceError(self.holder, other)

    async def unregister(self) -> None:
        with contextlib.suppress(Exception):
            await self._instances.remove(self.holder, self.process)

    # -- the lease ----------------------------------------------------------------------------

    async def run(self) -> None:
        try:
            while not self._stopping.is_set():
                await self._tick()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stopping.wait(), self._ttl.total_seconds() / 3)
        finally:
            await self._stop_jobs()
            if self.term is not None or self.leading.is_set():
                with contextlib.suppress(Exception):
                    await self._leases.release(LEASE_NAME, self.holder, self.process)
            self.term = None

    async def stop(self) -> None:
        self._stopping.set()

    async def _tick(self) -> None:
        started = time.monotonic()
        if started < self._cool_down_until:
            await self._heartbeat()
            return
        try:
            lease = await self._leases.acquire(
                LEASE_NAME, self.holder, self.process, self._ttl, is_gone=process_is_gone
            )
            self.health.ok()
        except Exception as error:
            self.health.failed(error, "renewing the dispatch lease")
            if self.term is not None and not self.term.valid():
                log.warning("%s could not renew the dispatch lease in time; its term is over", self.holder)
                await self._end_term()
            await self._heartbeat()
            return
        valid_until = started + self._ttl.total_seconds() * TERM_FRACTION
        if lease is None:
            if self.term is not None:
                log.warning("%s lost the dispatch lease; stopping", self.holder)
                await self._end_term()
        elif self.term is None or self.term.epoch != lease.epoch:
            if self.term is not None:  # our lease ran out while unrenewed: whatever we started is fenced off
                await self._end_term()
            self.term = Term(lease.epoch, lease.predecessor_gone, valid_until)
            log.info("%s now dispatches (lease epoch %d)", self.holder, lease.epoch)
            self._start_jobs()
            self.leading.set()
        else:
            self.term.valid_until = valid_until
            self._restart_ended_jobs()
            if self._jobs_failing():
                log.error(
                    "%s: background jobs keep failing; handing the dispatch lease to another instance", self.holder
                )
                await self._end_term()
                with contextlib.suppress(Exception):
                    await self._leases.release(LEASE_NAME, self.holder, self.process)
                self._cool_down_until = time.monotonic() + 2 * self._ttl.total_seconds()
        await self._heartbeat()

    def _jobs_failing(self) -> bool:
        limit = self._ttl.total_seconds()
        return any(job.health.failing_for() > limit for job in self._jobs)

    async def _heartbeat(self) -> None:
        healths = [self.health, *(job.health for job in self._jobs)]
        latest = max((h for h in healths if h.last_error_at), key=lambda h: h.last_error_at or 0, default=None)
        try:
            mine = await self._instances.heartbeat(
                self.holder, self.process, dispatching=self.term is not None and self.term.valid(),
                error=latest.last_error if latest else None, error_at=latest.last_error_at if latest else None,
            )  # fmt: skip
        except Exception as error:
            log.debug("heartbeat failed: %s", error)
            return
        if not mine:
            log.error("another process took over the instance name %r; this one stops dispatching", self.holder)
            await self._end_term()
            self._cool_down_until = float("inf")

    # -- the jobs -----------------------------------------------------------------------------

    def _start_jobs(self) -> None:
        assert self.term is not None
        for index, job in enumerate(self._jobs):
            self._tasks[index] = asyncio.create_task(job.run(self.term), name=f"alertbot-job-{index}")

    def _restart_ended_jobs(self) -> None:
        """A job that ended while the term lasts is restarted, with backoff if it keeps ending."""
        assert self.term is not None
        for index, task in list(self._tasks.items()):
            if not task.done():
                continue
            count, not_before = self._restarts.get(index, (0, 0.0))
            if time.monotonic() < not_before:
                continue
            error = None if task.cancelled() else task.exception()
            job = self._jobs[index]
            if error is not None:
                job.health.failed(error, "running (the job ended)")
            else:
                log.error("background job %s ended on its own; restarting it", type(job).__name__)
            self._restarts[index] = (count + 1, time.monotonic() + backoff(count + 1))
            self._tasks[index] = asyncio.create_task(job.run(self.term), name=f"alertbot-job-{index}")

    async def _end_term(self) -> None:
        self.term = None
        await self._stop_jobs()

    async def _stop_jobs(self) -> None:
        self.leading.clear()
        for job in self._jobs:
            await job.stop()
        tasks, self._tasks = list(self._tasks.values()), {}
        self._restarts.clear()
        await wait_stopped(tasks)


async def wait_stopped(tasks: Iterable[asyncio.Task[None]]) -> None:
    """Wait for background tasks that were asked to stop; log the ones that overrun or failed."""
    for task in tasks:
        try:
            await asyncio.wait_for(task, timeout=STOP_SECONDS)
        except (TimeoutError, asyncio.CancelledError):
            log.warning("%s did not stop in time", task.get_name())
        except Exception:
            log.exception("%s failed", task.get_name())
