"""Generate the compact in-repo Bot API spec, ``alertbot/sandbox/botapi/telegram-bot-api.json``.

The Bot API double (:mod:`alertbot.sandbox.botapi.server`) and its
:class:`~alertbot.sandbox.botapi.spec.SpecChecker` need only part of the full machine-readable Bot API
specification: the version, each method's name, parameters (name, types, required) and return types, and each
type's fields and subtypes. This script extracts that part (descriptions and links stripped) so the double works
on any fresh clone.

Regenerate after updating the full spec, from the repository root::

    uv run python -m alertbot.sandbox.botapi.make_spec [PATH_TO_FULL_SPEC]          # write the file
    uv run python -m alertbot.sandbox.botapi.make_spec --check [PATH_TO_FULL_SPEC]  # exit 1 if it is out of date

``PATH_TO_FULL_SPEC`` (the machine-readable Bot API spec, not part of this repository) defaults to
``$ALERTBOT_FULL_BOTAPI_SPEC``; the freshness test runs only where that is set.
The output is deterministic: keys sorted, one method / type per line, so diffs
between Bot API versions are readable.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
from pathlib import Path
from typing import Any

__all__ = ["DEFAULT_SOURCE", "OUTPUT", "compact", "main", "render"]

REPO = Path(__file__).resolve().parents[2]
#: The full specification, kept outside the repository: named by the environment, never assumed.
DEFAULT_SOURCE = (
    Path(os.environ.get("ALERTBOT_FULL_BOTAPI_SPEC", "")) if os.environ.get("ALERTBOT_FULL_BOTAPI_SPEC") else None
)
#: The compact copy checked into the repository.
OUTPUT = Path(__file__).resolve().with_name("telegram-bot-api.json")


def _fields(entry: dict[str, Any]) -> list[dict[str, Any]]:
    """Parameters / fields in the spec's order, reduced to name, types and required."""
    return [
        {"name": f["name"], "required": bool(f.get("required", False)), "types": list(f.get("types", []))}
        for f in entry.get("fields", [])
    ]


def compact(full: dict[str, Any], *, source_sha256: str | None = None) -> dict[str, Any]:
    """The subset of the full spec *full* that the double and SpecChecker use."""
    methods = {
        name: {"fields": _fields(method), "name": method["name"], "returns": list(method.get("returns", []))}
        for name, method in full["methods"].items()
    }
    types: dict[str, dict[str, Any]] = {}
    for name, entry in full.get("types", {}).items():
        reduced: dict[str, Any] = {"name": entry["name"]}
        if "fields" in entry:
            reduced["fields"] = _fields(entry)
        if "subtypes" in entry:
            reduced["subtypes"] = list(entry["subtypes"])
        if "subtype_of" in entry:
            reduced["subtype_of"] = list(entry["subtype_of"])
        types[name] = reduced
    result: dict[str, Any] = {
        "version": full.get("version", "?"),
        "release_date": full.get("release_date", ""),
        "changelog": full.get("changelog", ""),
        "methods": methods,
        "types": types,
    }
    if source_sha256 is not None:
        result["source_sha256"] = source_sha256
    return result


def _line(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def render(spec: dict[str, Any]) -> str:
    """Serialise a compact spec: sorted keys, one method / type per line (valid JSON)."""
    lines = ["{"]
    scalars = sorted(k for k in spec if k not in {"methods", "types"})
    for key in scalars:
        lines.append(f"{_line(key)}:{_line(spec[key])},")
    for section in ("methods", "types"):
        entries = spec[section]
        lines.append(f"{_line(section)}:{{")
        names = sorted(entries)
        for index, name in enumerate(names):
            comma = "," if index < len(names) - 1 else ""
            lines.append(f"{_line(name)}:{_line(entries[name])}{comma}")
        lines.append("}," if section == "methods" else "}")
    lines.append("}")
    return "\n".join(lines) + "\n"


def build(source: Path) -> str:
    """The compact spec generated from the full spec at *source*, as text."""
    raw = source.read_bytes()
    full = json.loads(raw)
    if "methods" not in full:
        raise SystemExit(f"{source} does not look like the Bot API spec (no 'methods' key)")
    text = render(compact(full, source_sha256=hashlib.sha256(raw).hexdigest()))
    assert json.loads(text)["methods"].keys() == full["methods"].keys()
    return text


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("source", nargs="?", type=Path, default=DEFAULT_SOURCE,
                        help="the full spec (JSON); default $ALERTBOT_FULL_BOTAPI_SPEC")  # fmt: skip
    parser.add_argument("--output", type=Path, default=OUTPUT, help=f"where to write (default: {OUTPUT})")
    parser.add_argument("--check", action="store_true", help="do not write; exit 1 if the output is out of date")
    args = parser.parse_args(argv)
    if args.source is None or not args.source.is_file():
        print(f"full Bot API spec not found at {args.source}", file=sys.stderr)
        return 2
    text = build(args.source)
    current = args.output.read_text(encoding="utf-8") if args.output.is_file() else None
    if args.check:
        if current != text:
            print(
                f"{args.output} is out of date; run: uv run python -m alertbot.sandbox.botapi.make_spec",
                file=sys.stderr,
            )
            return 1
        print(f"{args.output} is up to date")
        return 0
    args.output.write_text(text, encoding="utf-8")
    spec = json.loads(text)
    print(
        f"wrote {args.output} ({spec['version']}: {len(spec['methods'])} methods, {len(spec['types'])} types, "
        f"{len(text.encode('utf-8')) // 1024} KiB)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
