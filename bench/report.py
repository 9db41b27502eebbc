"""What a run reports: rows (case, metric, value, target, met?), the table printed at the end, the machine
the figures were measured on, and `bench/results.json`.

A target is only ever compared with, never asserted: a row whose target was not met says so.
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent

Value = float | int | str | None


@dataclass(frozen=True)
class Target:
    """A bound a figure is compared with: `>=`, `>`, `<=`, `<`, `==`, or `±` (within `bound` of `centre`)."""

    op: str
    bound: float
    unit: str = ""
    centre: float = 1.0

    def met(self, value: float) -> bool:
        checks = {
            ">=": value >= self.bound,
            ">": value > self.bound,
            "<=": value <= self.bound,
            "<": value < self.bound,
            "==": value == self.bound,
            "±": abs(value - self.centre) <= self.bound + 1e-12,
        }
        return checks[self.op]

    def __str__(self) -> str:
        unit = f" {self.unit}" if self.unit else ""
        if self.op == "±":
            return f"{self.centre:g} ± {self.bound:g}{unit}"
        symbol = {">=": "≥", "<=": "≤", "==": "="}.get(self.op, self.op)
        return f"{symbol} {self.bound:g}{unit}"


def at_least(bound: float, unit: str = "") -> Target:
    return Target(">=", bound, unit)


def below(bound: float, unit: str = "") -> Target:
    return Target("<", bound, unit)


def exactly(bound: float, unit: str = "") -> Target:
    return Target("==", bound, unit)


def within(fraction: float, of: float = 1.0) -> Target:
    return Target("±", fraction, centre=of)


@dataclass
class Row:
    case: str
    metric: str
    value: Value
    unit: str = ""
    target: Target | None = None
    note: str = ""
    met: bool | None = field(init=False, default=None)

    def __post_init__(self) -> None:
        if self.target is not None and isinstance(self.value, int | float):
            self.met = self.target.met(float(self.value))

    @property
    def shown_value(self) -> str:
        text = format_value(self.value)
        return f"{text} {self.unit}" if self.unit and isinstance(self.value, int | float) else text

    @property
    def shown_met(self) -> str:
        return {True: "yes", False: "NO", None: "—"}[self.met]

    def to_json(self) -> dict[str, Any]:
        return {
            "case": self.case,
            "metric": self.metric,
            "value": self.value,
            "unit": self.unit,
            "target": str(self.target) if self.target else None,
            "met": self.met,
            "note": self.note,
        }


def format_value(value: Value) -> str:
    if value is None:
        return "—"
    if isinstance(value, str):
        return value
    if isinstance(value, int) or (float(value).is_integer() and abs(value) >= 1000):
        return f"{int(value):,}"
    magnitude = abs(value)
    if magnitude >= 1000:
        return f"{value:,.0f}"
    if magnitude >= 100:
        return f"{value:.1f}"
    if magnitude >= 10:
        return f"{value:.2f}"
    return f"{value:.3f}"


def table(rows: list[Row]) -> str:
    """The rows as an aligned text table (notes after it, numbered)."""
    header = ("case", "metric", "value", "target", "met?")
    cells = []
    notes: list[str] = []
    for row in rows:
        metric = row.metric
        if row.note:
            notes.append(row.note)
            metric = f"{metric} [{len(notes)}]"
        cells.append((row.case, metric, row.shown_value, str(row.target) if row.target else "—", row.shown_met))
    widths = [max(len(str(c[i])) for c in [header, *cells]) for i in range(len(header))]
    lines = ["  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)).rstrip()]
    lines.append("  ".join("-" * w for w in widths))
    previous = None
    for cell in cells:
        shown = ("" if cell[0] == previous else cell[0], *cell[1:])
        previous = cell[0]
        lines.append("  ".join(str(c).ljust(w) for c, w in zip(shown, widths, strict=True)).rstrip())
    lines += [f"[{number}] {note}" for number, note in enumerate(notes, 1)]
    return "\n".join(lines)


def markdown_table(rows: list[Row]) -> str:
    """The rows as a Markdown table (for the README)."""
    lines = ["| case | metric | value | target | met? |", "|---|---|---|---|---|"]
    for row in rows:
        metric = f"{row.metric} ({row.note})" if row.note else row.metric
        target = str(row.target) if row.target else "—"
        met = {True: "yes", False: "**no**", None: "—"}[row.met]
        lines.append(f"| {row.case} | {metric} | {row.shown_value} | {target} | {met} |")
    return "\n".join(lines)


def _first_line(path: str, key: str) -> str | None:
    try:
        for line in Path(path).read_text(encoding="utf-8", errors="replace").splitlines():
            if line.startswith(key):
                return line.split(":", 1)[1].strip() if ":" in line else line.split("=", 1)[1].strip().strip('"')
    except OSError:
        return None
    return None


def _git(*args: str) -> str | None:
    try:
        result = subprocess.run(["git", *args], cwd=REPO, capture_output=True, text=True, timeout=10, check=True)
    except (OSError, subprocess.SubprocessError):
        return None
    return result.stdout.strip()


def machine() -> dict[str, Any]:
    """What the figures were measured on: CPU, cores, memory, Python, OS, and the code's commit."""
    memory_kb = _first_line("/proc/meminfo", "MemTotal")
    try:
        import aiogram

        aiogram_version: str | None = aiogram.__version__
    except ImportError:
        aiogram_version = None
    status = _git("status", "--porcelain")
    return {
        "cpu": _first_line("/proc/cpuinfo", "model name") or platform.processor() or None,
        "cores": os.cpu_count(),
        "cores_usable": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "memory_gib": round(int(memory_kb.split()[0]) / 2**20, 1) if memory_kb else None,
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        "os": _first_line("/etc/os-release", "PRETTY_NAME") or platform.system(),
        "kernel": platform.release(),
        "aiogram": aiogram_version,
        "commit": _git("rev-parse", "--short", "HEAD"),
        "uncommitted_changes": bool(status) if status is not None else None,
    }


def describe(info: dict[str, Any]) -> str:
    return (
        f"{info['cpu']}, {info['cores']} cores, {info['memory_gib']} GiB; {info['python']}; {info['os']} "
        f"(kernel {info['kernel']}); aiogram {info['aiogram']}; commit {info['commit']}"
        + (" + uncommitted changes" if info["uncommitted_changes"] else "")
    )


def now() -> datetime:
    return datetime.now(UTC)


def write_results(
    path: Path, rows: list[Row], cases: list[dict[str, Any]], *, info: dict[str, Any], started: datetime,
    quick: bool, argv: list[str],
) -> None:  # fmt: skip
    finished = now()
    document = {
        "started_at": started.isoformat(timespec="seconds"),
        "finished_at": finished.isoformat(timespec="seconds"),
        "local_time": started.astimezone().isoformat(timespec="seconds"),
        "duration_s": round((finished - started).total_seconds(), 1),
        "quick": quick,
        "argv": argv,
        "machine": info,
        "cases": cases,
        "rows": [row.to_json() for row in rows],
    }
    path.write_text(json.dumps(document, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
