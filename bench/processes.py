"""The processes being measured: `alertbot run` and the benchmark's own clients (`bench.clients.*`), each in a
process of its own apart from the double, with their CPU seconds and memory read from /proc.

They are forked by a fork server that imported their modules once (`bench.forkserver`), or, with
`--fresh-processes`, started each with its own interpreter (`python -m alertbot run ...`). `--profile DIR`
records every alertbot process with py-spy (raw collapsed stacks, one file per process).
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib.util
import json
import os
import shlex
import signal
import sys
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any, Protocol

import aiohttp

from bench.context import Context
from bench.double import BenchBotAPI
from bench.forkserver import ForkServer
from tests.harness import REPO, process_environment

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """utime + stime of a process (all its threads), from /proc/PID/stat."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def postgres_cpu_seconds() -> float:
    """utime + stime of every PostgreSQL server process on this machine (the database's share of the CPU)."""
    total = 0.0
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            with contextlib.suppress(OSError):
                if (proc / "comm").read_text().strip() in ("postgres", "postmaster"):
                    total += cpu_seconds(int(proc.name))
    return total


def own_cpu_seconds() -> float:
    times = os.times()
    return times.user + times.system


def memory_kib(pid: int, field: str = "VmRSS") -> int:
    """A /proc/PID/status memory figure in KiB: VmRSS (now) or VmHWM (the peak since the process started)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1])
    return 0


def read_text(path: Path) -> str:
    return path.read_text(encoding="utf-8", errors="replace") if path.exists() else ""


class ProcessFailed(RuntimeError):
    pass


class Process(Protocol):
    """What is used of a process: asyncio.subprocess.Process, or a fork server's child."""

    pid: int

    @property
    def returncode(self) -> int | None: ...

    def send_signal(self, signum: int) -> None: ...

    def terminate(self) -> None: ...

    def kill(self) -> None: ...

    async def wait(self) -> int: ...


def _available(*modules: str) -> list[str]:
    return [m for m in modules if importlib.util.find_spec(m.split(".")[0]) is not None]


class Launcher:
    """Starts the measured processes: forked from a fork server per kind (alertbot, clients), or fresh."""

    def __init__(self, fresh: bool) -> None:
        self.fresh = fresh
        clients = [f"bench.clients.{name}" for name in ("broadcast", "broadcaster") if _available(f"aiogram_{name}")]
        self._servers = {
            "alertbot": ForkServer(["alertbot.cli.main", "alertbot.app", *_available("uvloop")]),
            "clients": ForkServer(["bench.clients.bare", *clients]),
        }

    async def warm(self, *kinds: str) -> None:
        """Start the fork servers of these kinds now (they import in the background)."""
        if not self.fresh:
            for kind in kinds:
                await self._servers[kind].start()

    async def spawn(self, kind: str, module: str, argv: list[str], env: dict[str, str], log: Path) -> Process:
        if self.fresh:
            with log.open("wb") as stderr:
                return await asyncio.create_subprocess_exec(
                    sys.executable, "-m", module, *argv, cwd=REPO, stdin=asyncio.subprocess.DEVNULL,
                    stdout=asyncio.subprocess.DEVNULL, stderr=stderr, env=env,
                )  # fmt: skip
        return await self._servers[kind].spawn(module, argv, env, REPO, Path(os.devnull), log)

    async def close(self) -> None:
        for server in self._servers.values():
            await server.close()


class Measured:
    """A running process being measured: its pid, CPU and memory, its log, and a clean stop."""

    def __init__(self, ctx: Context, label: str, process: Process, log: Path) -> None:
        self.ctx = ctx
        self.label = label
        self.process = process
        self.log = log
        self.peak_rss_kib = 0
        self._profiler: asyncio.subprocess.Process | None = None
        self._sampler: asyncio.Task[None] | None = None

    @property
    def pid(self) -> int:
        return self.process.pid

    def cpu(self) -> float:
        return cpu_seconds(self.pid)

    def alive(self) -> None:
        """Raise if the process has exited (with the end of its log)."""
        if self.process.returncode is not None:
            raise ProcessFailed(f"{self.label} exited ({self.process.returncode}):\n{read_text(self.log)[-3000:]}")

    def peak_kib(self) -> int:
        """The most memory the process has held: its kernel high-water mark, or the most sampled."""
        with contextlib.suppress(OSError):
            self.peak_rss_kib = max(self.peak_rss_kib, memory_kib(self.pid, "VmHWM"))
        return self.peak_rss_kib

    def sample_memory(self, every: float = 0.25) -> None:
        async def sample() -> None:
            while True:
                with contextlib.suppress(OSError):
                    self.peak_rss_kib = max(self.peak_rss_kib, memory_kib(self.pid))
                await asyncio.sleep(every)

        self._sampler = asyncio.create_task(sample())

    async def profile(self) -> None:
        """py-spy record this process from now on, if `--profile DIR` was given."""
        if self.ctx.profile_dir is None or self._profiler is not None:
            return
        self.ctx.profile_dir.mkdir(parents=True, exist_ok=True)
        path = self.ctx.profile_dir / f"{self.ctx.case}-{self.label}.txt"
        self._profiler = await asyncio.create_subprocess_exec(
            "py-spy", "record", "--pid", str(self.pid), "-o", str(path), "--format", "raw",
            *shlex.split(getattr(self.ctx.args, "profile_args", "") or ""),
            stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
        )  # fmt: skip
        await asyncio.sleep(1.0)  # attached
        self.ctx.log(f"profiling {self.label} (pid {self.pid}) into {path}")

    async def exited(self, within: float) -> int:
        try:
            return await asyncio.wait_for(self.process.wait(), within)
        except TimeoutError:
            raise ProcessFailed(f"{self.label} did not finish within {within:.0f} s") from None

    async def stop(self) -> None:
        if self._sampler is not None:
            self._sampler.cancel()
        if self._profiler is not None and self._profiler.returncode is None:
            self._profiler.send_signal(signal.SIGINT)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._profiler.wait(), 30)
        if self.process.returncode is None:
            self.process.terminate()
            try:
                await asyncio.wait_for(self.process.wait(), 20)
            except TimeoutError:
                self.process.kill()
                await self.process.wait()
        lines = read_text(self.log).splitlines()
        errors = [line for line in lines if " ERROR " in line or " CRITICAL " in line]
        if errors:
            self.ctx.log(f"{self.label} (stopped {time.strftime('%H:%M:%S')}) logged {len(errors)} error(s):")
            for line in errors[:3]:
                self.ctx.log(f"  {line[:500]}")


@contextlib.asynccontextmanager
async def alertbot(
    ctx: Context, label: str, config: Path, api: BenchBotAPI, **environment: str
) -> AsyncIterator[Measured]:
    """`alertbot run --config CONFIG` (logging at WARNING, into the config's folder) until the block ends."""
    log = config.parent / f"{label}.log"
    argv = ["run", "--config", str(config), "--log-level", "WARNING"]
    env = process_environment(ALERTBOT_TELEGRAM_TOKEN=api.token, **environment)
    measured = Measured(ctx, label, await ctx.launcher.spawn("alertbot", "alertbot", argv, env, log), log)
    try:
        yield measured
    finally:
        await measured.stop()


class Client(Measured):
    """One of the benchmark's own clients: it imports what it needs, says it is ready, and starts on `go()`."""

    def __init__(self, ctx: Context, label: str, process: Process, log: Path, files: dict[str, Path]) -> None:
        super().__init__(ctx, label, process, log)
        self.files = files

    async def ready(self, within: float = 60) -> None:
        deadline = time.monotonic() + within
        while not self.files["ready_file"].exists():
            self.alive()
            if time.monotonic() > deadline:
                raise ProcessFailed(f"{self.label} was not ready within {within:.0f} s")
            await asyncio.sleep(0.02)

    def go(self) -> None:
        self.files["go_file"].touch()

    async def result(self, within: float) -> dict[str, Any]:
        """What the client counted, once it has exited (within `within` seconds)."""
        code = await self.exited(within)
        if code != 0:
            raise ProcessFailed(f"{self.label} exited ({code}):\n{read_text(self.log)[-3000:]}")
        return dict(json.loads(self.files["result_file"].read_text(encoding="utf-8")))


@contextlib.asynccontextmanager
async def client(ctx: Context, label: str, module: str, spec: dict[str, Any], folder: Path) -> AsyncIterator[Client]:
    """`python -m MODULE SPEC.json`: one of the benchmark's own clients, given its job as a JSON file; it
    starts at once and waits for `go()` (`ready()` waits until it has imported what it needs)."""
    files = {key: folder / f"{label}.{key.removesuffix('_file')}" for key in ("ready_file", "go_file", "result_file")}
    spec_path = folder / f"{label}.json"
    spec_path.write_text(json.dumps({**spec, **{k: str(v) for k, v in files.items()}}), encoding="utf-8")
    log = folder / f"{label}.log"
    process = await ctx.launcher.spawn("clients", module, [str(spec_path)], process_environment(), log)
    measured = Client(ctx, label, process, log, files)
    try:
        yield measured
    finally:
        await measured.stop()


async def until(condition: Callable[[], Any], bot: Measured, what: str, within: float = 60) -> None:
    """Until `condition()` holds (the bot must stay alive meanwhile)."""
    deadline = time.monotonic() + within
    while not condition():
        bot.alive()
        if time.monotonic() > deadline:
            raise ProcessFailed(f"{bot.label}: not {what} within {within:.0f} s:\n{read_text(bot.log)[-3000:]}")
        await asyncio.sleep(0.05)


async def wait_polling(api: BenchBotAPI, bot: Measured, within: float = 60) -> None:
    """Until the bot has asked the double for updates (its dispatcher and sender are running)."""
    await until(lambda: api.calls("getUpdates"), bot, "polling", within)


async def wait_ready(bot: Measured, port: int, ready: Any = None, within: float = 60) -> None:
    """Until the bot's /readyz answers 200 (and `ready()`, if given, holds)."""
    deadline = time.monotonic() + within
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=2)) as http:
        while True:
            bot.alive()
            with contextlib.suppress(aiohttp.ClientError, TimeoutError, OSError):
                async with http.get(f"http://127.0.0.1:{port}/readyz") as response:
                    if response.status == 200 and (ready is None or ready()):
                        return
            if time.monotonic() > deadline:
                raise ProcessFailed(f"{bot.label} was not ready within {within:.0f} s:\n{read_text(bot.log)[-3000:]}")
            await asyncio.sleep(0.1)
