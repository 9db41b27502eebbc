"""A warning being composed: what the official has chosen so far, its plain form for the chat's FSM
storage, and what makes two confirmations of it "the same warning"."""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from alertbot.core.domain import Audience, Broadcast, Severity


@dataclass(frozen=True)
class AlertDraft:
    """What an official has chosen so far. `issued_at` is fixed at the first preview, so the confirmed
    text is exactly the previewed one."""

    template_id: str
    variables: Mapping[str, str] = field(default_factory=dict)
    districts: tuple[str, ...] = ()
    audience: Audience = field(default_factory=Audience)
    severity: Severity | None = None
    exercise: bool = False
    follows_id: int | None = None
    issued_at: datetime | None = None
    origin: str | None = None
    """A warning made from a CAP message: its reference ("sender,identifier,sent"); only such a draft may use
    the generic imported template."""

    def following(self, original: Broadcast) -> AlertDraft:
        """This draft as a follow-up of `original`: it goes where the original went, as it went."""
        return dataclasses.replace(
            self, districts=original.districts, audience=original.audience, severity=original.severity,
            exercise=original.exercise, follows_id=original.id,
        )  # fmt: skip

    def to_json(self) -> dict[str, Any]:
        """A plain form for FSM storage; `from_json` re-reads it (and everything is re-validated)."""
        return {
            "template_id": self.template_id,
            "variables": dict(self.variables),
            "districts": list(self.districts),
            "audience": str(self.audience),
            "severity": self.severity.value if self.severity else None,
            "exercise": self.exercise,
            "follows_id": self.follows_id,
            "issued_at": self.issued_at.isoformat() if self.issued_at else None,
            "origin": self.origin,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> AlertDraft:
        return cls(
            template_id=str(data["template_id"]),
            variables={str(k): str(v) for k, v in dict(data.get("variables") or {}).items()},
            districts=tuple(str(d) for d in data.get("districts") or ()),
            audience=Audience.parse(str(data.get("audience") or "all")),
            severity=Severity(data["severity"]) if data.get("severity") else None,
            exercise=bool(data.get("exercise")),
            follows_id=int(data["follows_id"]) if data.get("follows_id") is not None else None,
            issued_at=datetime.fromisoformat(data["issued_at"]) if data.get("issued_at") else None,
            origin=str(data["origin"]) if data.get("origin") else None,
        )

    def dedupe_key(self, send_at: datetime | None = None) -> str:
        """What makes two confirmations "the same warning", hashed whole: 64 hex digits, the width of
        broadcasts.dedupe_key, whatever the content. A scheduled one includes its moment (in UTC, so the
        same moment typed in another zone is the same key)."""
        parts: list[Any] = [self.template_id, sorted(self.districts), sorted(self.variables.items()),
                            str(self.audience), self.exercise, self.follows_id]  # fmt: skip
        if send_at is not None:
            parts.append(send_at.astimezone(UTC).isoformat())
        return hashlib.sha256(json.dumps(parts, ensure_ascii=False).encode()).hexdigest()
