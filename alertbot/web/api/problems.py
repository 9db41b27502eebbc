"""Errors as RFC 9457 problem documents (`application/problem+json`), each naming the field at fault.

`ApiProblem` is raised anywhere in a handler; `from_app_error` turns the services' refusals into the HTTP
status a client can act on (403 for who may act, 404 for what is not there, 409 for a conflict with what
exists, 422 for what the request says); `from_validation` names every bad field of a request body.
"""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web
from pydantic import ValidationError

from alertbot.content.cap import CapError
from alertbot.core.errors import (
    AppError,
    ApprovalError,
    BroadcastNotFoundError,
    DistrictError,
    NoRecipientsError,
    NotAnOfficialError,
    OutOfScopeError,
    RenderError,
    ScheduleError,
    UnknownTemplateError,
    VariableError,
)
from alertbot.services.api_keys import ApiKeyError
from alertbot.services.cap_import import CapImportError
from alertbot.web.api.models import FieldProblem, Problem

PROBLEM_JSON = "application/problem+json"
TITLES = {
    400: "Bad request", 401: "Unauthorized", 403: "Forbidden", 404: "Not found", 405: "Method not allowed",
    409: "Conflict", 413: "Request body too large", 415: "Unsupported media type", 422: "Unprocessable content",
    428: "Precondition required", 429: "Too many requests", 500: "Internal server error",
    503: "Service unavailable",
}  # fmt: skip
# (refusal class, HTTP status, the field it is about)
_REFUSALS: list[tuple[type[AppError], int, str | None]] = [
    (NotAnOfficialError, 403, None),
    (OutOfScopeError, 403, "districts"),
    (BroadcastNotFoundError, 404, None),
    (UnknownTemplateError, 422, "template"),
    (VariableError, 422, "variables"),
    (RenderError, 422, "variables"),
    (DistrictError, 422, "districts"),
    (NoRecipientsError, 422, "districts"),
    (ScheduleError, 422, "send_at"),
    (ApiKeyError, 422, None),
]


class ApiProblem(Exception):
    def __init__(
        self, status: int, detail: str, *, field: str | None = None, headers: dict[str, str] | None = None,
        errors: list[FieldProblem] | None = None, kind: str | None = None,
    ) -> None:  # fmt: skip
        super().__init__(detail)
        self.problem = Problem(
            type=f"https://alertbot.example/problems/{kind}" if kind else "about:blank",
            title=TITLES.get(status, "Error"), status=status, detail=detail, field=field, errors=errors,
        )  # fmt: skip
        self.headers = headers or {}

    def response(self) -> web.Response:
        body = self.problem.model_dump(exclude_none=True)
        return web.Response(
            text=json.dumps(body, ensure_ascii=False), status=self.problem.status, content_type=PROBLEM_JSON,
            headers=self.headers,
        )  # fmt: skip


def from_app_error(error: AppError) -> ApiProblem:
    """The services' refusal as a problem: its English message, the field it is about."""
    if isinstance(error, CapImportError):
        return ApiProblem(422, str(error), field=error.element, kind="cap-unmappable")
    if isinstance(error, ApprovalError):
        reason = str(error.args_for_text.get("reason", ""))
        return ApiProblem(409 if reason == "decided" else 404 if reason == "missing" else 403, str(error))
    for kind, status, field in _REFUSALS:
        if isinstance(error, kind):
            name = error.args_for_text.get("name") if isinstance(error, VariableError) else None
            return ApiProblem(status, str(error), field=f"variables.{name}" if name else field)
    return ApiProblem(422, str(error))


def from_validation(error: ValidationError, *, prefix: str = "") -> ApiProblem:
    """Every bad field of a request body; the first names the problem."""
    errors = [
        FieldProblem(field=prefix + ".".join(str(p) for p in e["loc"]) or "body", message=e["msg"])
        for e in error.errors(include_url=False)
    ]
    first = errors[0]
    return ApiProblem(422, f"{first.field}: {first.message}", field=first.field, errors=errors, kind="invalid")


def from_cap_error(error: CapError) -> ApiProblem:
    return ApiProblem(422, str(error), field=error.element, kind="cap-invalid")


def problem_schema() -> dict[str, Any]:
    return Problem.model_json_schema(ref_template="#/components/schemas/{model}")
