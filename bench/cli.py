"""`python -m bench [CASE ...] [--quick]`: run the cases (all by default) one after another, print the table
of every figure against its target, and write `bench/results.json` with the machine and the time.

The exit status is 1 only when a case could not run to its end (an error, not a missed target): targets
are reported, never asserted.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import sys
import time
import traceback
from pathlib import Path
from typing import Any

from bench import cases
from bench.context import Context, Unavailable
from bench.processes import Launcher
from bench.report import REPO, Row, describe, machine, markdown_table, now, table, write_results

DEFAULT_OUTPUT = REPO / "bench" / "results.json"


def parser() -> argparse.ArgumentParser:
    result = argparse.ArgumentParser(
        prog="python -m bench", description=(__doc__ or "").splitlines()[0],
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )  # fmt: skip
    known = ", ".join(cases.CASES)
    result.add_argument("cases", nargs="*", metavar="CASE", help=f"cases to run (default: all): {known}")
    result.add_argument("--quick", action="store_true", help="small sizes (CI: about 2-3 minutes for all)")
    result.add_argument("--list", action="store_true", help="list the cases and exit")
    result.add_argument("--output", type=Path, default=DEFAULT_OUTPUT, help="where the results go (JSON)")
    result.add_argument("--markdown", action="store_true", help="also print the table as Markdown")
    result.add_argument(
        "--fresh-processes", action="store_true",
        help="start each process with its own interpreter (python -m alertbot run ...) instead of forking it from "
        "a process that imported alertbot once (bench.forkserver; saves ~8 s per process on 2 cores)",
    )  # fmt: skip
    result.add_argument("--profile", type=Path, metavar="DIR", help="py-spy record the measured processes into DIR")
    result.add_argument(
        "--profile-args", default="--nonblocking", help="more py-spy record options (--profile-args=--gil)"
    )
    cases.add_arguments(result)
    return result


async def run_case(name: str, args: argparse.Namespace, launcher: Launcher) -> tuple[list[Row], dict[str, Any]]:
    ctx = Context(name, args.quick, args, launcher, args.profile)
    print(f"\n== {name}: {cases.summary(name)}{' (quick)' if args.quick else ''}", flush=True)
    began = time.monotonic()
    error = None
    try:
        await cases.runner(name)(ctx)
    except Unavailable as reason:
        ctx.not_run("case", str(reason))
    except Exception as exc:
        traceback.print_exc()
        error = f"{type(exc).__name__}: {exc}".splitlines()[0][:300]
        ctx.row("error", "failed", note=error)
    seconds = time.monotonic() - began
    ctx.log(f"done in {seconds:.0f} s")
    return ctx.rows, {"name": name, "duration_s": round(seconds, 1), "error": error}


async def run_all(args: argparse.Namespace, selected: list[str]) -> tuple[list[Row], list[dict[str, Any]]]:
    info, started = machine(), now()
    print(f"bench: {', '.join(selected)}{' (quick)' if args.quick else ''} on {describe(info)}", flush=True)
    launcher = Launcher(fresh=args.fresh_processes)
    await launcher.warm("alertbot", *(["clients"] if {"overhead", "peers"} & set(selected) else []))
    rows: list[Row] = []
    ran: list[dict[str, Any]] = []
    try:
        for name in selected:
            case_rows, record = await run_case(name, args, launcher)
            gc.collect()  # the case's doubles: between cases, not while the next one measures
            rows += case_rows
            ran.append(record)
            # written after every case: an interrupted run keeps what it measured
            write_results(args.output, rows, ran, info=info, started=started, quick=args.quick, argv=sys.argv[1:])
    finally:
        await launcher.close()
    return rows, ran


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    if args.list:
        for name in cases.CASES:
            print(f"{name:10} {cases.summary(name)}")
        return 0
    unknown = [name for name in args.cases if name not in cases.CASES]
    if unknown:
        print(f"unknown case(s): {', '.join(unknown)}; known: {', '.join(cases.CASES)}", file=sys.stderr)
        return 2
    selected = args.cases or list(cases.CASES)
    started = now()
    # The double shares this process: the cyclic collector's full passes (over aiogram's, SQLAlchemy's and
    # the double's millions of objects) stalled it for 0.1-0.3 s, bunching the requests it then took and
    # turning a bot's even pace into 429s. Here it collects only between cases (its measured processes
    # are untouched).
    gc.collect()
    gc.freeze()
    gc.disable()
    rows, ran = asyncio.run(run_all(args, selected))
    duration = (now() - started).total_seconds()
    print(f"\n{table(rows)}\n")
    if args.markdown:
        print(f"{markdown_table(rows)}\n")
    met = sum(1 for row in rows if row.met)
    missed = [f"{row.case}: {row.metric}" for row in rows if row.met is False]
    print(
        f"{met} targets met, {len(missed)} not met{': ' + '; '.join(missed) if missed else ''}; "
        f"{duration:.0f} s in all; results in {args.output}"
    )
    return 1 if any(record["error"] for record in ran) else 0
