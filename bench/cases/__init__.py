"""The case registry: a case is one module here and one entry in CASES (name -> module), run in this order.

A case module has a docstring (its first line is the summary `--list` shows) and

    async def run(ctx: bench.context.Context) -> None     # measures, adds rows with ctx.row(...)

and may have `def add_arguments(group: argparse._ArgumentGroup) -> None` for options of its own (named
`--<case>-...`). Keep imports light: every case module is imported to build the command line (the
optional libraries of the bench group are imported only by the clients, in their own processes).
"""

from __future__ import annotations

import argparse
import importlib
from collections.abc import Awaitable, Callable
from types import ModuleType
from typing import cast

from bench.context import Context

CASES: dict[str, str] = {
    "overhead": "bench.cases.overhead",
    "limit": "bench.cases.limit",
    "peers": "bench.cases.peers",
    "reach": "bench.cases.reach",
    "preempt": "bench.cases.preempt",
    "scale": "bench.cases.scale",
    "surge": "bench.cases.surge",
}


def module(name: str) -> ModuleType:
    return importlib.import_module(CASES[name])


def summary(name: str) -> str:
    doc = module(name).__doc__ or ""
    return doc.strip().splitlines()[0] if doc.strip() else ""


def runner(name: str) -> Callable[[Context], Awaitable[None]]:
    return cast(Callable[[Context], Awaitable[None]], module(name).run)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    for name in CASES:
        adder = getattr(module(name), "add_arguments", None)
        if adder is not None:
            adder(parser.add_argument_group(f"{name} case"))
