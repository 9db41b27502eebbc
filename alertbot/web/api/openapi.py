"""The API's operations, and the OpenAPI 3.1 document and docs page made from them and their pydantic models.

Routing (`routes.Api.register`) and this document read the same `OPERATIONS`, and every schema in it is
a model's own JSON schema, so the document cannot drift from what the server validates and answers.
"""

from __future__ import annotations

import functools
from html import escape
from importlib.metadata import PackageNotFoundError, version
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from alertbot.web.api import models
from alertbot.web.api.operations import CAP_XML, IDEMPOTENCY_KEY, JSON, OPERATIONS, PREFIX, Operation
from alertbot.web.api.problems import PROBLEM_JSON, TITLES

_BODY_ERRORS = (400, 413, 415, 422)
_NEXT = {"status": "get", "cap": "cap", "follow_up": "follow_up", "cancel": "cancel", "decide": "decide"}


def _version() -> str:
    try:
        return version("alertbot")
    except PackageNotFoundError:  # pragma: no cover - a checkout that was never installed
        return "unknown"


@functools.cache
def document() -> dict[str, Any]:
    """The OpenAPI 3.1 document of the API."""
    used = {m for op in OPERATIONS for m, _ in op.responses.values() if m} | {
        op.body for op in OPERATIONS if op.body is not None and op.body is not BaseModel
    }
    _, top = models_json_schema(
        [(m, "validation") for m in sorted(used | {models.Problem, models.Template}, key=lambda m: m.__name__)],  # type: ignore[misc]
        ref_template="#/components/schemas/{model}",
    )
    schemas = dict(top.get("$defs", {}))
    paths: dict[str, dict[str, Any]] = {}
    for op in OPERATIONS:
        paths.setdefault(PREFIX + op.path, {})[op.method.lower()] = _operation(op)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "alertbot API",
            "version": _version(),
            "description": "Gas-safety and emergency warnings over Telegram: templates, preview, send, follow up, "
            "audit, CAP 1.2. Every request carries `Authorization: Bearer KEY` (alertbot api-keys create); the key "
            "acts as its official, with the same scope and two-person rule as in the chat.",
        },
        "servers": [{"url": "/"}],
        "security": [{"bearer": []}],
        "paths": paths,
        "components": {"schemas": schemas, "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}},
    }


def _ref(model: type[BaseModel]) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{model.__name__}"}


def _one(schema: dict[str, Any]) -> dict[str, Any]:
    """A query parameter's schema: "X or null" is just X (an absent parameter is the null)."""
    options = [o for o in schema.get("anyOf", [schema]) if o.get("type") != "null"]
    kept = {k: v for k, v in schema.items() if k in ("description", "default")}
    return options[0] | kept if len(options) == 1 else schema


def _operation(op: Operation) -> dict[str, Any]:
    parameters: list[dict[str, Any]] = []
    if "{id}" in op.path:
        parameters.append(
            {
                "name": "id",
                "in": "path",
                "required": True,
                "schema": {"type": "integer", "minimum": 1, "maximum": models.MAX_ID},
            }
        )
    if op.query is not None:
        fields = op.query.model_json_schema()["properties"]
        parameters += [{"name": n, "in": "query", "required": False, "schema": _one(s)} for n, s in fields.items()]
    if op.idempotency:
        parameters.append({
            "name": IDEMPOTENCY_KEY, "in": "header", "required": op.idempotency == "required",
            "schema": {"type": "string", "minLength": 1, "maxLength": 128},
        })  # fmt: skip
    responses: dict[str, Any] = {}
    for status, (model, content_type) in op.responses.items():
        if model is not None:
            schema: dict[str, Any] = _ref(model)
        elif content_type == JSON:
            schema = {"type": "array", "items": _ref(models.Template)}
        else:
            schema = {"type": "string"}
        responses[str(status)] = {
            "description": TITLES.get(status, "OK"),
            "content": {content_type: {"schema": schema}},
        }
    if models.Created in {m for m, _ in op.responses.values()}:
        for created in ("201", "202"):  # what a client does next with the alert made
            responses[created]["links"] = {
                name: {"operationId": target, "parameters": {"id": "$response.body#/alert/id"}}
                for name, target in _NEXT.items()
            }
    problems = {401, 429, *op.errors, *(_BODY_ERRORS if op.body is not None else ())}
    for status in sorted(problems):
        responses[str(status)] = {
            "description": TITLES[status],
            "content": {PROBLEM_JSON: {"schema": _ref(models.Problem)}},
        }
    if 429 in problems:
        responses["429"]["headers"] = {"Retry-After": {"schema": {"type": "integer"}, "required": True}}
    spec: dict[str, Any] = {
        "operationId": op.name,
        "summary": op.summary,
        "parameters": parameters,
        "responses": responses,
    }
    if op.body is not None:
        body_schema = {"type": "string"} if op.body_type == CAP_XML else _ref(op.body)
        spec["requestBody"] = {"required": True, "content": {op.body_type: {"schema": body_schema}}}
    return spec


_STYLE = (
    "body{font:16px/1.5 system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem}"
    "code{background:#f3f3f3;padding:0 .2em}section{border-top:1px solid #ddd}"
)


def docs_page() -> str:
    """A readable page of the document, served at /api/docs: no script, nothing fetched from elsewhere."""
    doc = document()
    info = doc["info"]
    parts = [
        f"<h1>{escape(info['title'])} {escape(info['version'])}</h1><p>{escape(info['description'])}</p>",
        f'<p>Machine-readable: <a href="{PREFIX}/openapi.json">{PREFIX}/openapi.json</a> (OpenAPI 3.1).</p>',
    ]
    for path, methods in doc["paths"].items():
        parts += [_operation_html(method, path, op) for method, op in methods.items()]
    parts.append("<h2>Schemas</h2>")
    parts += [_schema_html(name, schema) for name, schema in doc["components"]["schemas"].items()]
    return f"<!doctype html><meta charset=utf-8><title>alertbot API</title><style>{_STYLE}</style>{''.join(parts)}"


def _operation_html(method: str, path: str, op: dict[str, Any]) -> str:
    body = op.get("requestBody", {}).get("content", {})
    schema = next(iter(body.values()))["schema"].get("$ref", "").rsplit("/", 1)[-1] if body else ""
    body_line = ""
    if body:
        what = f'<a href="#{schema}">{schema}</a>' if schema else "CAP 1.2 XML"
        body_line = f"<p>Body: <code>{escape(', '.join(body))}</code> — {what}</p>"
    return (
        f"<section><h2><code>{method.upper()} {escape(path)}</code></h2><p>{escape(op['summary'])}</p>"
        f"{body_line}<p>Answers: {', '.join(op['responses'])}</p></section>"
    )


def _schema_html(name: str, schema: dict[str, Any]) -> str:
    required = set(schema.get("required", []))
    items = "".join(
        f"<li><code>{escape(field)}</code> {escape(str(spec.get('type', spec.get('$ref', 'any'))))}"
        f"{' (required)' if field in required else ''}</li>"
        for field, spec in schema.get("properties", {}).items()
    )
    return f'<h3 id="{name}">{name}</h3><ul>{items}</ul>'
