"""Checking requests against the machine-readable Bot API specification.

The specification lives in ``shared/reference/telegram-bot-api.json`` next to
the repository checkout (``<repo>/../shared/...``). It is a dict with
``methods`` (name -> {name, fields: [{name, types, required, description}],
returns}) and ``types``.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

__all__ = ["SPEC_PATH", "SpecChecker", "SpecNotFoundError"]

#: ``tests/botapi/spec.py`` -> parents[2] is the repository root; its parent holds ``shared/``.
SPEC_PATH = Path(__file__).resolve().parents[3] / "shared/reference/telegram-bot-api.json"

_SCALARS = {"String", "Integer", "Float", "Boolean", "InputFile"}


class SpecNotFoundError(FileNotFoundError):
    """The Bot API specification file is not where it is expected."""


@cache
def _load(path: Path) -> dict[str, Any]:
    if not path.is_file():
        raise SpecNotFoundError(
            f"Telegram Bot API spec not found at {path}. The test double expects the repository to be "
            "checked out next to a 'shared/' folder containing reference/telegram-bot-api.json."
        )
    with path.open(encoding="utf-8") as fh:
        data: dict[str, Any] = json.load(fh)
    if "methods" not in data:
        raise SpecNotFoundError(f"{path} does not look like the Bot API spec (no 'methods' key)")
    return data


class SpecChecker:
    """Validates method names and parameters against the Bot API spec.

    It also knows each parameter's declared types, which the fake server uses
    to decode form-encoded values (``"true"`` -> ``True``, JSON objects, ...).
    """

    def __init__(self, path: Path | str | None = None) -> None:
        self.path = Path(path) if path is not None else SPEC_PATH
        self.spec = _load(self.path.resolve())
        self.methods: dict[str, dict[str, Any]] = self.spec["methods"]
        self._by_lower = {name.lower(): name for name in self.methods}

    @property
    def version(self) -> str:
        """The spec's version string, e.g. ``"Bot API 10.1"``."""
        return str(self.spec.get("version", "?"))

    def canonical(self, method: str) -> str | None:
        """The spec's spelling of *method* (Telegram method names are case-insensitive)."""
        return self._by_lower.get(method.lower())

    def has_method(self, method: str) -> bool:
        """Whether *method* exists in the spec (case-insensitively)."""
        return self.canonical(method) is not None

    def fields(self, method: str) -> dict[str, dict[str, Any]]:
        """Parameter name -> field description for *method* (empty if unknown)."""
        name = self.canonical(method)
        if name is None:
            return {}
        return {f["name"]: f for f in self.methods[name].get("fields", [])}

    def field_types(self, method: str, param: str) -> list[str] | None:
        """Declared types of *param* of *method*, or ``None`` if it is not a known parameter."""
        field = self.fields(method).get(param)
        return list(field["types"]) if field else None

    def check(self, method: str, params: dict[str, Any]) -> list[str]:
        """Return human-readable violations of the spec by a call of *method* with *params*."""
        name = self.canonical(method)
        if name is None:
            return [f"{method}: method is not in the Bot API spec ({self.version})"]
        fields = self.fields(name)
        problems: list[str] = []
        for field_name, field in fields.items():
            if field["required"] and params.get(field_name) in (None, ""):
                problems.append(f"{name}: required parameter {field_name!r} is missing")
        for param, value in params.items():
            field = fields.get(param)
            if field is None:
                problems.append(f"{name}: parameter {param!r} is not a parameter of this method")
                continue
            if value is not None and not _matches(value, field["types"]):
                problems.append(
                    f"{name}: parameter {param!r} should be {' or '.join(field['types'])}, got {value!r:.80}"
                )
        return problems

    def decode(self, method: str, param: str, value: Any) -> Any:
        """Decode a (form-encoded) string *value* of *param* according to its declared types.

        Non-string values (already-decoded JSON, uploaded files) are returned unchanged,
        as are values that do not decode.
        """
        if not isinstance(value, str):
            return value
        types = self.field_types(method, param)
        if types is None:
            return _try_json(value)
        if "String" in types:
            if "Integer" in types:
                return _try_int(value)
            return value
        if types == ["Integer"]:
            return _try_int(value)
        if types == ["Float"]:
            try:
                return float(value)
            except ValueError:
                return value
        if types == ["Boolean"]:
            lowered = value.lower()
            return {"true": True, "false": False, "1": True, "0": False}.get(lowered, value)
        if types == ["InputFile"]:
            return value
        return _try_json(value)


def _try_int(value: str) -> int | str:
    try:
        return int(value)
    except ValueError:
        return value


def _try_json(value: str) -> Any:
    try:
        return json.loads(value)
    except ValueError:
        return value


def _matches(value: Any, types: list[str]) -> bool:
    """Lenient structural type check of an already-decoded value."""
    for type_name in types:
        if type_name == "String" and isinstance(value, str):
            return True
        if type_name == "Integer" and isinstance(value, int) and not isinstance(value, bool):
            return True
        if type_name == "Float" and isinstance(value, int | float) and not isinstance(value, bool):
            return True
        if type_name == "Boolean" and isinstance(value, bool):
            return True
        if type_name == "InputFile" and (hasattr(value, "filename") or isinstance(value, str)):
            return True
        if type_name.startswith("Array of ") and isinstance(value, list):
            return True
        if type_name not in _SCALARS and not type_name.startswith("Array of ") and isinstance(value, dict):
            return True
    return False
