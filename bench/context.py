"""What a case is given: its sizes (full or `--quick`), its options, where its rows go, progress lines."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from bench.report import Row, Target, Value

if TYPE_CHECKING:
    from bench.processes import Launcher


class Unavailable(Exception):
    """Something a case needs is not there (PostgreSQL, Redis, an optional library): its rows say so."""


@dataclass
class Context:
    case: str
    quick: bool
    args: argparse.Namespace
    launcher: Launcher
    profile_dir: Path | None = None
    rows: list[Row] = field(default_factory=list)
    started: float = field(default_factory=time.monotonic)

    def size(self, full: int, quick: int) -> int:
        return quick if self.quick else full

    def seconds(self, full: float, quick: float) -> float:
        return quick if self.quick else full

    def log(self, message: str) -> None:
        elapsed = time.monotonic() - self.started
        print(f"[{self.case} {elapsed:5.1f}s] {message}", flush=True)

    def row(self, metric: str, value: Value, unit: str = "", target: Target | None = None, note: str = "") -> Row:
        row = Row(self.case, metric, value, unit, target, note)
        self.rows.append(row)
        shown = f"{row.shown_value}" + (f" (target {row.target}: {row.shown_met})" if row.target else "")
        self.log(f"{metric}: {shown}")
        return row

    def not_run(self, metric: str, reason: str) -> Row:
        return self.row(metric, "not run", note=reason)

    @contextlib.asynccontextmanager
    async def progress(self, describe: Callable[[], str], every: float = 5.0) -> AsyncIterator[None]:
        """Print `describe()` every `every` seconds while the block runs."""

        async def report() -> None:
            while True:
                await asyncio.sleep(every)
                self.log(describe())

        task = asyncio.create_task(report())
        try:
            yield
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
