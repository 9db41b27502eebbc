"""A fork server: `python -m bench.forkserver MODULE...` imports the modules once, then forks every process the
benchmarks start and runs it as `python -m` would (runpy, as `__main__`), so a process starts in a fraction of
a second instead of the ~8 s Python and aiogram take to import on the 2-core machine (a quick run starts 15).

The child is a process of its own like any other (its own pid, CPU seconds, memory, py-spy): only the
imports are done before the fork. Protocol, one JSON object a line: the driver writes `{"module", "argv",
"env", "cwd", "stdout", "stderr"}`, the server answers `{"pid"}`, and `{"exit": pid, "code"}` when a child
ends. `--fresh-processes` starts every process with its own interpreter instead.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import json
import os
import runpy
import signal
import sys
import traceback
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent


def _write(message: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(message) + "\n")  # one write per line: a signal handler runs between two
    sys.stdout.flush()


def _reap(_signum: int, _frame: Any) -> None:
    while True:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        _write({"exit": pid, "code": os.waitstatus_to_exitcode(status)})


def _child(request: dict[str, Any]) -> None:
    """In the forked child: redirect, set the environment, run the module as __main__, exit."""
    code = 1
    try:
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        writing = os.O_WRONLY | os.O_CREAT | os.O_TRUNC
        for fd, path, mode in ((0, os.devnull, os.O_RDONLY), (1, request["stdout"], writing),
                               (2, request["stderr"], writing)):  # fmt: skip
            target = os.open(path, mode, 0o644)
            os.dup2(target, fd)
            os.close(target)
        os.chdir(request["cwd"])
        os.environ.clear()
        os.environ.update(request["env"])
        sys.argv = [request["module"], *request["argv"]]
        try:
            runpy.run_module(request["module"], run_name="__main__", alter_sys=True)
            code = 0
        except SystemExit as exit:
            code = exit.code if isinstance(exit.code, int) else (0 if exit.code is None else 1)
    except BaseException:
        traceback.print_exc()
    finally:
        with contextlib.suppress(Exception):
            sys.stdout.flush()
            sys.stderr.flush()
        os._exit(code)


def serve(modules: list[str]) -> None:
    for name in modules:
        importlib.import_module(name)
    signal.signal(signal.SIGCHLD, _reap)
    _write({"ready": True})
    for line in sys.stdin:
        request = json.loads(line)
        pid = os.fork()
        if pid == 0:
            _child(request)
        _write({"pid": pid})


class Forked:
    """A child of the fork server, with what the benchmarks use of asyncio.subprocess.Process."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.returncode: int | None = None
        self._ended = asyncio.Event()

    def ended(self, code: int) -> None:
        self.returncode = code
        self._ended.set()

    def send_signal(self, signum: int) -> None:
        if self.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, signum)

    def terminate(self) -> None:
        self.send_signal(signal.SIGTERM)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)

    async def wait(self) -> int:
        await self._ended.wait()
        assert self.returncode is not None
        return self.returncode


class ForkServer:
    """The driver's side: one server process per set of preloaded modules, started on first use."""

    def __init__(self, modules: list[str]) -> None:
        self.modules = modules
        self._process: asyncio.subprocess.Process | None = None
        self._reader: asyncio.Task[None] | None = None
        self._ready = asyncio.Event()
        self._pids: asyncio.Queue[int] = asyncio.Queue()
        self._children: dict[int, Forked] = {}
        self._early: dict[int, int] = {}  # exits reported before the pid was taken
        self._lock = asyncio.Lock()

    async def start(self) -> None:
        if self._process is not None:
            return
        self._process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bench.forkserver", *self.modules, cwd=REPO,
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
        )  # fmt: skip
        self._reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        assert self._process is not None and self._process.stdout is not None
        async for line in self._process.stdout:
            message = json.loads(line)
            if "ready" in message:
                self._ready.set()
            elif "pid" in message:
                self._pids.put_nowait(message["pid"])
            elif "exit" in message:
                child = self._children.pop(message["exit"], None)
                if child is None:
                    self._early[message["exit"]] = message["code"]
                else:
                    child.ended(message["code"])
        for child in self._children.values():  # the server is gone: so are its children's reports
            child.ended(-1)

    async def spawn(
        self, module: str, argv: list[str], env: dict[str, str], cwd: Path, stdout: Path, stderr: Path
    ) -> Forked:
        await self.start()
        assert self._process is not None and self._process.stdin is not None
        async with self._lock:
            await asyncio.wait_for(self._ready.wait(), 120)
            request = {"module": module, "argv": argv, "env": env, "cwd": str(cwd), "stdout": str(stdout),
                       "stderr": str(stderr)}  # fmt: skip
            self._process.stdin.write((json.dumps(request) + "\n").encode())
            await self._process.stdin.drain()
            pid = await asyncio.wait_for(self._pids.get(), 30)
            child = Forked(pid)
            if pid in self._early:
                child.ended(self._early.pop(pid))
            else:
                self._children[pid] = child
            return child

    async def close(self) -> None:
        if self._process is None:
            return
        assert self._process.stdin is not None
        self._process.stdin.close()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._process.wait(), 10)
        if self._reader is not None:
            self._reader.cancel()
        self._process = None


if __name__ == "__main__":
    serve(sys.argv[1:])
