"""Every operation of the HTTP API — method, path, models, answers — read by the routing (`routes.py`) and
by the OpenAPI document (`openapi.py`), so the two cannot disagree."""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import BaseModel

from alertbot.web.api import models

PREFIX = "/api/v1"
CAP_XML = "application/cap+xml"
JSON = "application/json"
IDEMPOTENCY_KEY = "Idempotency-Key"


@dataclass(frozen=True)
class Operation:
    method: str
    path: str  # under PREFIX, with {id}
    name: str
    summary: str
    responses: dict[int, tuple[type[BaseModel] | None, str]]  # status -> (model, content type)
    body: type[BaseModel] | None = None
    body_type: str = JSON
    query: type[BaseModel] | None = None  # the query parameters, validated by this model
    idempotency: str | None = None  # "required" | "optional"
    errors: tuple[int, ...] = ()  # the problems it may answer, besides 401, 429 and (with a body) 413/415/422
    public: bool = False


_ALERT_ERRORS = (403, 404)
OPERATIONS: list[Operation] = [
    Operation("GET", "/templates", "templates", "The vetted warning and follow-up templates with their variables",
              {200: (None, JSON)}),
    Operation("POST", "/alerts/preview", "preview",
              "The exact texts per language, recipient and channel counts and the ETA of a warning (nothing sent)",
              {200: (models.PreviewOut, JSON)}, body=models.AlertRequest, errors=(403,)),
    Operation("POST", "/alerts", "create",
              "Queue a warning (201), or ask a supervisor to approve it (202); the same Idempotency-Key and body "
              "give the same alert",
              {201: (models.Created, JSON), 202: (models.Created, JSON)}, body=models.NewAlert,
              idempotency="required", errors=(403, 409, 428)),
    Operation("GET", "/alerts/{id}", "get", "An alert's status and delivery counts", {200: (models.AlertOut, JSON)},
              errors=_ALERT_ERRORS),
    Operation("POST", "/alerts/{id}/cancel", "cancel", "Stop an alert: what is not sent yet is never sent",
              {200: (models.Cancelled, JSON)}, errors=_ALERT_ERRORS),
    Operation("POST", "/alerts/{id}/follow-ups", "follow_up",
              "An Update, All clear or Sent in error to those the alert reached",
              {201: (models.Created, JSON), 202: (models.Created, JSON)}, body=models.FollowUpRequest,
              idempotency="optional", errors=(*_ALERT_ERRORS, 409)),
    Operation("POST", "/alerts/{id}/decision", "decide",
              "A supervisor (not the requester) approves or rejects an alert awaiting approval",
              {200: (models.AlertOut, JSON)}, body=models.Decision, errors=(*_ALERT_ERRORS, 409)),
    Operation("GET", "/alerts/{id}/cap", "cap", "The alert as a CAP 1.2 document", {200: (None, CAP_XML)},
              errors=_ALERT_ERRORS),
    Operation("GET", "/audit", "audit",
              "Audit entries (a supervisor: everyone's; a duty officer: their own), oldest first",
              {200: (models.AuditPage, JSON)}, errors=(403, 422), query=models.AuditQuery),
    Operation("GET", "/stats", "stats", "Subscribers per district and kind in the key's scope; deliveries queued",
              {200: (models.Stats, JSON)}, errors=(403,)),
    Operation("POST", "/cap", "cap_import",
              "Import a CAP 1.2 message: a draft for the key's official, or sent under the usual rules",
              {200: (models.CapImported, JSON), 201: (models.CapImported, JSON), 202: (models.CapImported, JSON)},
              body=BaseModel, body_type=CAP_XML, errors=(403, 404)),
]  # fmt: skip
