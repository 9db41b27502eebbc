"""The HTTP API's request and response bodies as pydantic models: they validate every request and they are
what `/api/v1/openapi.json` describes (generated from them, never written by hand)."""

from __future__ import annotations

import re
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    WithJsonSchema,
    field_validator,
)

from alertbot.content.templates import MessageTemplates
from alertbot.core.domain import Audience, BusinessCategory, Language

NAME_PATTERN = r"^[a-z][a-z0-9_]*$"
MAX_TEXT = 1000
Name = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=NAME_PATTERN)]


def _names(value: dict[str, str]) -> dict[str, str]:
    for name, text in value.items():
        if not re.match(NAME_PATTERN, name) or len(name) > 64:
            raise ValueError(f"{name!r} is not a variable name (a-z, 0-9, _; a letter first)")
        if len(text) > MAX_TEXT:
            raise ValueError(f"{name}: longer than {MAX_TEXT} characters")
    return value


Variables = Annotated[
    dict[str, str],
    AfterValidator(_names),
    WithJsonSchema({
        "type": "object", "maxProperties": 32,
        "propertyNames": {"pattern": NAME_PATTERN, "minLength": 1, "maxLength": 64},
        "additionalProperties": {"type": "string", "maxLength": MAX_TEXT},
    }),
]  # fmt: skip
"""A template's variables by name (the names each template takes: GET /templates)."""


def _warning_templates(schema: dict[str, Any]) -> None:
    schema["enum"] = [t.id for t in MessageTemplates().catalog.templates if t.kind == "warning"]


DistrictName = Annotated[str, StringConstraints(min_length=1, max_length=64)]
AUDIENCES = ["all", "residents", "businesses", *(f"business:{c.value}" for c in BusinessCategory)]


class SeverityName(StrEnum):
    extreme = "extreme"
    severe = "severe"
    moderate = "moderate"
    minor = "minor"


class Body(BaseModel):
    """A request body: unknown fields refused, and no coercion (strict: 0 is not false, "1" is not 1)."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


_EXAMPLE: dict[str, Any] = {"template": "gas_leak", "variables": {"location": "北二马路 12 号", "hotline": "96177"},
            "districts": ["heping"]}  # fmt: skip


class AlertRequest(Body):
    """A warning from a template: what `/alert` asks in the chat, in one request."""

    model_config = ConfigDict(json_schema_extra={"examples": [_EXAMPLE]})

    template: Name = Field(description="a warning template's id (GET /templates)", json_schema_extra=_warning_templates)
    variables: Variables = Field(default_factory=dict, max_length=32)
    districts: list[DistrictName] = Field(
        min_length=1, max_length=64, description='district ids or names, or ["*"] for all (needs scope "*")'
    )
    audience: str = Field(default="all", json_schema_extra={"enum": list(AUDIENCES)})
    severity: SeverityName | None = Field(default=None, description="default: the template's")
    exercise: bool = Field(default=False, description="a drill: reaches only officials and the test chats")

    @field_validator("districts")
    @classmethod
    def _no_blank(cls, value: list[str]) -> list[str]:
        if any(not d.strip() for d in value):
            raise ValueError("a district name is blank")
        return value

    @field_validator("audience")
    @classmethod
    def _audience(cls, value: str) -> str:
        if value not in AUDIENCES:
            raise ValueError(f"must be one of {', '.join(AUDIENCES)}")
        return value

    def audience_value(self) -> Audience:
        return Audience.parse(self.audience)


class NewAlert(AlertRequest):
    model_config = ConfigDict(json_schema_extra={"examples": [_EXAMPLE, {**_EXAMPLE, "exercise": True}]})

    send_at: AwareDatetime | None = Field(
        default=None, description="queue now, send then (1 minute to 30 days ahead), with its UTC offset"
    )
    force_duplicate: bool = Field(default=False, description="send although the same warning went out just now")


class FollowUpRequest(Body):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"template": "update", "variables": {"details": "泄漏点已关闭。"}}]}
    )

    template: Literal["update", "all_clear", "sent_in_error"]
    variables: Variables = Field(default_factory=dict, max_length=8)


def _iso(value: object) -> object:
    """A date-time in a query is ISO 8601 text with its offset, not a number of seconds."""
    if isinstance(value, str):
        datetime.fromisoformat(value)  # (ValueError names the problem)
    return value


MAX_ID = 2**31 - 1  # the ids' column type (INTEGER)


class AuditQuery(BaseModel):
    """Query parameters: text, read as numbers and date-times where the field says so."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    since: Annotated[AwareDatetime, BeforeValidator(_iso)] | None = Field(
        default=None, description="entries from then on (ISO 8601 with its UTC offset)"
    )
    after_id: Annotated[int, Field(ge=0, le=MAX_ID)] | None = Field(
        default=None, description="entries after this one (paging)"
    )
    limit: int = Field(default=100, ge=1, le=500)


class Decision(Body):
    approve: bool


class Variable(BaseModel):
    name: str
    required: bool
    description: dict[Language, str]
    example: dict[Language, str]


class Template(BaseModel):
    id: str
    kind: Literal["warning", "follow_up"]
    titles: dict[Language, str]
    severity: str | None
    variables: list[Variable]
    cap_event: str | None
    cap_category: str | None


class Channel(BaseModel):
    channel: str
    language: str
    members: int | None
    usable: bool | None


class Eta(BaseModel):
    seconds: float = Field(description="until the last direct message, at the pace and behind what is queued")
    rate: float
    paid: bool
    ahead: int
    charged_messages: int
    stars: float


class PreviewOut(BaseModel):
    template: str
    districts: list[str]
    audience: str
    severity: str | None
    exercise: bool
    texts: dict[Language, str] = Field(description="exactly what each language group receives (Telegram HTML)")
    recipients: dict[Language, int]
    total: int
    channels: list[Channel]
    needs_approval: bool
    eta: Eta | None


class Counts(BaseModel):
    pending: int
    sending: int
    sent: int
    blocked: int
    failed: int
    cancelled: int


class AlertOut(BaseModel):
    id: int
    kind: str
    status: str
    template: str
    severity: str | None
    exercise: bool
    districts: list[str]
    audience: str
    recipients: int
    created_at: datetime
    created_by: int
    approved_by: int | None
    scheduled_for: datetime | None
    follows_id: int | None
    withdrawn_at: datetime | None
    counts: Counts
    links: dict[str, str]


class Created(BaseModel):
    outcome: Literal["queued", "pending_approval"]
    alert: AlertOut


class Cancelled(BaseModel):
    cancelled_deliveries: int
    alert: AlertOut


class AuditOut(BaseModel):
    id: int
    at: datetime
    actor_id: int | None
    actor_name: str | None
    action: str
    broadcast_id: int | None
    details: dict[str, Any]


class AuditPage(BaseModel):
    entries: list[AuditOut]
    next_after_id: int | None = Field(description="pass as after_id for the next page (None: no more)")


class DistrictStats(BaseModel):
    district: str
    name: dict[str, str]
    residents: int
    businesses: int


class Stats(BaseModel):
    districts: list[DistrictStats]
    queued_deliveries: int


class CapImported(BaseModel):
    outcome: Literal["queued", "pending_approval", "draft", "not_sent", "duplicate"]
    reason: str | None = None
    alert: AlertOut | None = None
    preview: PreviewOut | None = None


class FieldProblem(BaseModel):
    field: str
    message: str


class Problem(BaseModel):
    """RFC 9457 problem details."""

    type: str = "about:blank"
    title: str
    status: int
    detail: str | None = None
    field: str | None = Field(default=None, description="the request field (or CAP element) at fault")
    errors: list[FieldProblem] | None = None
