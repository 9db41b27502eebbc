"""The HTTP API under /api/v1: officials' work for monitoring and dispatch systems, as an API key's official.

Every operation is one `Operation` in `OPERATIONS` — its path, models and answers — from which both the
routing and the OpenAPI document (`openapi.py`) are made. Each request is authenticated (`Authorization:
Bearer KEY`), rate-limited per key, and runs with the audit's `via` set to the key's name; the services do the
rest, with the same checks as the chat (scope, role, the two-person rule). Nothing is half-done: a request is
validated whole before a service is called, and each service call is one transaction.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from aiohttp import web
from pydantic import BaseModel, ValidationError

from alertbot.content import cap
from alertbot.core.clock import utcnow
from alertbot.core.domain import LANGUAGES, Broadcast, BroadcastKind, Severity
from alertbot.core.errors import AppError
from alertbot.services.alerts import Preview
from alertbot.services.container import Services
from alertbot.services.drafts import AlertDraft
from alertbot.storage.api import IN_PROGRESS, ApiKey
from alertbot.storage.audit import acting_via
from alertbot.web.api import models
from alertbot.web.api.limits import RateLimiter
from alertbot.web.api.openapi import docs_page, document
from alertbot.web.api.operations import CAP_XML, IDEMPOTENCY_KEY, JSON, OPERATIONS, PREFIX, Operation
from alertbot.web.api.problems import ApiProblem, from_app_error, from_cap_error, from_validation

log = logging.getLogger(__name__)

Handler = Callable[["Call"], Awaitable[web.StreamResponse]]
ABANDONED = timedelta(minutes=1)  # an idempotent request in progress this long was cut off


@dataclass
class Call:
    request: web.Request
    key: ApiKey
    body: Any = None


def _alert_id(call: Call) -> int:
    text = call.request.match_info["id"]
    if not text.isdigit() or len(text) > 12 or not 1 <= int(text) <= models.MAX_ID:
        raise ApiProblem(404, f"no alert {text!r}", field="id")
    return int(text)


class Api:
    def __init__(self, services: Services) -> None:
        self._s = services
        self._config = services.config.api
        self._limiter = RateLimiter(self._config.requests_per_minute)
        self._handlers: dict[str, Handler] = {
            "templates": self._templates, "preview": self._preview, "create": self._create, "get": self._get,
            "cancel": self._cancel, "follow_up": self._follow_up, "decide": self._decide, "cap": self._cap,
            "audit": self._audit, "stats": self._stats, "cap_import": self._cap_import,
        }  # fmt: skip

    def register(self, app: web.Application) -> None:
        app.middlewares.append(_problems_for_api_paths)
        for operation in OPERATIONS:
            path = PREFIX + operation.path.replace("{id}", r"{id:\d{1,12}}")  # /alerts/preview is no alert id
            app.router.add_route(operation.method, path, self._endpoint(operation))
        app.router.add_get(PREFIX + "/openapi.json", _openapi)
        app.router.add_get("/api/docs", _docs)

    # -- every request ------------------------------------------------------------------------------

    def _endpoint(self, operation: Operation) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
        handler = self._handlers[operation.name]

        async def endpoint(request: web.Request) -> web.StreamResponse:
            key: ApiKey | None = None
            try:
                key = await self._authenticate(request)
                response = await self._handle(operation, handler, request, key)
            except ApiProblem as problem:
                response = problem.response()
            except AppError as error:
                response = from_app_error(error).response()
            except Exception:
                log.exception("API %s %s failed", request.method, request.path)
                response = ApiProblem(500, "the request failed; it is logged").response()
            if key is not None:
                await self._audit_call(key, request, response.status)
            return response

        return endpoint

    async def _handle(
        self, operation: Operation, handler: Handler, request: web.Request, key: ApiKey
    ) -> web.StreamResponse:
        self._limit(key)
        call = Call(request, key)
        if operation.body is not None:
            call.body = await self._body(request, operation)
        token = acting_via.set(f"api:{key.name}")
        try:
            return await handler(call)
        finally:
            acting_via.reset(token)

    async def _audit_call(self, key: ApiKey, request: web.Request, status: int) -> None:
        """Every call of a key is audited (what it changed, the services audit besides, with `via`)."""
        official = self._s.officials.get(key.official_id)
        try:
            await self._s.audit.record(
                "api_call", actor_id=key.official_id, actor_name=official.name if official else None,
                via=f"api:{key.name}", method=request.method, path=request.path, status=status,
            )  # fmt: skip
        except Exception:  # the answer stands; what it did was audited by the services in its own transaction
            log.exception("could not audit API call %s %s of key %s", request.method, request.path, key.name)

    async def _authenticate(self, request: web.Request) -> ApiKey:
        scheme, _, key = request.headers.get("Authorization", "").partition(" ")
        challenge = {"WWW-Authenticate": 'Bearer realm="alertbot"'}
        if scheme.lower() != "bearer" or not key.strip():
            raise ApiProblem(401, "an API key is needed: Authorization: Bearer KEY", headers=challenge)
        record = await self._s.api_keys.authenticate(key.strip())
        if record is None:
            raise ApiProblem(401, "unknown or revoked API key", headers=challenge)
        return record

    def _limit(self, key: ApiKey) -> None:
        wait = self._limiter.take(key.name)
        if wait > 0:
            retry = max(1, int(wait + 0.999))
            raise ApiProblem(
                429, f"more than {self._config.requests_per_minute} requests in a minute; retry in {retry} s",
                headers={"Retry-After": str(retry)},
            )  # fmt: skip

    async def _body(self, request: web.Request, operation: Operation) -> Any:
        limit = int(self._config.max_cap_body if operation.body_type == CAP_XML else self._config.max_body)
        if request.content_length is not None and request.content_length > limit:
            raise ApiProblem(413, f"the body is larger than {limit} bytes")
        if request.content_type != operation.body_type:
            raise ApiProblem(415, f"send the body as {operation.body_type}", field="Content-Type")
        data = await request.content.read(limit + 1)
        if len(data) > limit:
            raise ApiProblem(413, f"the body is larger than {limit} bytes")
        if operation.body_type == CAP_XML:
            try:
                return cap.loads(data)
            except cap.CapError as error:
                raise from_cap_error(error) from None
        assert operation.body is not None
        try:
            return operation.body.model_validate_json(data)
        except ValidationError as error:
            if any(e["type"] == "json_invalid" for e in error.errors()):
                raise ApiProblem(400, "the body is not JSON", field="body") from None
            raise from_validation(error) from None

    # -- the operations -------------------------------------------------------------------------------

    async def _templates(self, call: Call) -> web.Response:
        rows = [
            models.Template(
                id=t.id,
                kind=t.kind,
                titles=dict(t.title),
                severity=t.severity,
                cap_event=t.cap_event,
                cap_category=t.cap_category,
                variables=[
                    models.Variable(
                        name=v.name, required=v.required, description=dict(v.description), example=dict(v.example)
                    )
                    for v in t.variables
                ],
            )
            for t in self._s.alerts.templates.catalog.templates
            if t.kind in ("warning", "follow_up")
        ]
        return _json([r.model_dump(mode="json") for r in rows])

    async def _preview(self, call: Call) -> web.Response:
        preview = await self._s.alerts.preview(call.key.official_id, _draft(call.body))
        return _json(preview_out(preview).model_dump(mode="json"))

    async def _create(self, call: Call) -> web.Response:
        request: models.NewAlert = call.body
        return await self._idempotent(call, request, lambda: self._confirm(call, _draft(request), request))

    async def _confirm(self, call: Call, draft: AlertDraft, request: models.NewAlert | None) -> tuple[int, int]:
        confirmation = await self._s.alerts.confirm(
            call.key.official_id, draft, send_at=request.send_at if request else None,
            force_duplicate=bool(request and request.force_duplicate),
        )  # fmt: skip
        if confirmation.outcome == "duplicate":
            raise ApiProblem(
                409, f"the same warning went out as alert {confirmation.broadcast.id} within the duplicate window; "
                "send with force_duplicate: true to send it again", field="force_duplicate", kind="duplicate",
            )  # fmt: skip
        return (201 if confirmation.outcome == "queued" else 202), confirmation.broadcast.id

    async def _idempotent(
        self, call: Call, request: BaseModel, create: Callable[[], Awaitable[tuple[int, int]]], *, required: bool = True
    ) -> web.Response:
        """Create once per Idempotency-Key: the same key and body again give the same alert; another body, 409."""
        key = call.request.headers.get(IDEMPOTENCY_KEY, "").strip()
        if not key and required:
            raise ApiProblem(428, f"the {IDEMPOTENCY_KEY} header is required", field=IDEMPOTENCY_KEY)
        if len(key) > 128:
            raise ApiProblem(422, f"{IDEMPOTENCY_KEY} is longer than 128 characters", field=IDEMPOTENCY_KEY)
        if not key:
            return await self._created(*await create())
        digest = hashlib.sha256(f"{call.request.path} {request.model_dump_json()}".encode()).hexdigest()
        store, name = self._s.idempotency, call.key.name
        first = await store.claim(name, key, digest)
        if first is not None and first.status == IN_PROGRESS and utcnow() - first.created_at > ABANDONED:
            await store.release(name, key)  # its process died mid-way; confirm's duplicate window guards a resend
            first = await store.claim(name, key, digest)
        if first is not None:
            if first.request_hash != digest:
                raise ApiProblem(
                    409, f"this {IDEMPOTENCY_KEY} was used for another request", field=IDEMPOTENCY_KEY,
                    kind="idempotency",
                )  # fmt: skip
            if first.status == IN_PROGRESS or first.broadcast_id is None:
                raise ApiProblem(
                    409, f"a request with this {IDEMPOTENCY_KEY} is being handled; retry in a second",
                    field=IDEMPOTENCY_KEY, kind="in-progress", headers={"Retry-After": "1"},
                )  # fmt: skip
            return await self._created(first.status, first.broadcast_id)
        try:
            status, broadcast_id = await create()
        except BaseException:
            await store.release(name, key)  # nothing made: the same key may be sent again
            raise
        await store.settle(name, key, broadcast_id, status)
        return await self._created(status, broadcast_id)

    async def _created(self, status: int, broadcast_id: int) -> web.Response:
        out = await self._alert_out(await self._broadcast(broadcast_id))
        body = models.Created(outcome="queued" if status == 201 else "pending_approval", alert=out)
        return _json(body.model_dump(mode="json"), status=status, headers={"Location": out.links["self"]})

    async def _get(self, call: Call) -> web.Response:
        broadcast = await self._in_scope(call, _alert_id(call), "status")
        return _json((await self._alert_out(broadcast)).model_dump(mode="json"))

    async def _cancel(self, call: Call) -> web.Response:
        alert_id = _alert_id(call)
        stopped = await self._s.alerts.cancel(call.key.official_id, alert_id)
        out = await self._alert_out(await self._broadcast(alert_id))
        return _json(models.Cancelled(cancelled_deliveries=stopped, alert=out).model_dump(mode="json"))

    async def _follow_up(self, call: Call) -> web.Response:
        request: models.FollowUpRequest = call.body
        original = _alert_id(call)
        draft = await self._s.alerts.follow_up_draft(call.key.official_id, original, request.template)
        draft = AlertDraft(draft.template_id, dict(request.variables), follows_id=draft.follows_id)
        return await self._idempotent(call, request, lambda: self._confirm(call, draft, None), required=False)

    async def _decide(self, call: Call) -> web.Response:
        decision: models.Decision = call.body
        broadcast = await self._s.alerts.decide(call.key.official_id, _alert_id(call), approve=decision.approve)
        return _json((await self._alert_out(broadcast)).model_dump(mode="json"))

    async def _cap(self, call: Call) -> web.Response:
        broadcast = await self._in_scope(call, _alert_id(call), "cap")
        exporter = self._s.cap_export
        document = cap.dumps(await exporter.alert(await exporter.issued(broadcast.id)))
        return web.Response(body=document, content_type=CAP_XML, charset="utf-8")

    async def _audit(self, call: Call) -> web.Response:
        try:
            query = models.AuditQuery.model_validate(dict(call.request.query))
        except ValidationError as error:
            raise from_validation(error) from None
        official = await self._s.alerts.official(call.key.official_id, "audit")
        limit = query.limit
        entries = await self._s.audit.entries(since=query.since, after_id=query.after_id, limit=limit)
        if official.role != "supervisor":  # a duty officer reads their own entries; a supervisor, everyone's
            entries = [e for e in entries if e.actor_id == official.telegram_id]
        rows = [models.AuditOut(**dataclasses.asdict(e)) for e in entries]
        page = models.AuditPage(entries=rows, next_after_id=rows[-1].id if len(rows) == limit else None)
        return _json(page.model_dump(mode="json"))

    async def _stats(self, call: Call) -> web.Response:
        official = await self._s.alerts.official(call.key.official_id, "stats")
        counts = await self._s.campaigns.subscribers_by_district_and_kind()
        districts = self._s.districts
        rows = [
            models.DistrictStats(
                district=d,
                name={lang: districts.name(d, lang) for lang in LANGUAGES},
                residents=counts.get(d, {}).get("resident", 0),
                businesses=counts.get(d, {}).get("business", 0),
            )
            for d in self._s.alerts.scope(official)
        ]
        queued = sum((await self._s.outbox.queue_depth()).values())
        return _json(models.Stats(districts=rows, queued_deliveries=queued).model_dump(mode="json"))

    async def _cap_import(self, call: Call) -> web.Response:
        if call.key.cap_import is None:
            raise ApiProblem(403, f"the key {call.key.name!r} may not import CAP (api-keys create --cap-import)")
        result = await self._s.cap_import.import_alert(
            call.body, official_id=call.key.official_id, mode=call.key.cap_import,  # type: ignore[arg-type]
            key_name=call.key.name,
        )  # fmt: skip
        alert = await self._alert_out(result.broadcast) if result.broadcast else None
        out = models.CapImported(
            outcome=result.outcome, reason=result.reason, alert=alert,
            preview=preview_out(result.preview) if result.preview else None,
        )  # fmt: skip
        status = {"queued": 201, "pending_approval": 202, "draft": 202}.get(result.outcome, 200)
        return _json(out.model_dump(mode="json"), status=status)

    # -- shared ---------------------------------------------------------------------------------------

    async def _in_scope(self, call: Call, broadcast_id: int, attempted: str) -> Broadcast:
        """The broadcast, if it exists and is the key's official's to see (else 404 / 403, audited)."""
        broadcast = await self._s.alerts.visible(call.key.official_id, broadcast_id, attempted)
        if broadcast.kind is BroadcastKind.REMINDER:
            raise ApiProblem(404, f"no alert {broadcast_id}", field="id")
        return broadcast

    async def _broadcast(self, broadcast_id: int) -> Broadcast:
        """A broadcast this request has just made or changed (it exists)."""
        broadcast = await self._s.alerts.get(broadcast_id)
        assert broadcast is not None
        return broadcast

    async def _alert_out(self, b: Broadcast) -> models.AlertOut:
        c = await self._s.broadcasts.counts(b.id)
        links = {"self": f"{PREFIX}/alerts/{b.id}", "cap": f"{PREFIX}/alerts/{b.id}/cap"}
        return models.AlertOut(
            id=b.id, kind=b.kind.value, status=b.status.value, template=b.template_id,
            severity=b.severity.value if b.severity else None, exercise=b.exercise, districts=list(b.districts),
            audience=str(b.audience), recipients=b.recipients, created_at=b.created_at, created_by=b.created_by,
            approved_by=b.approved_by, scheduled_for=b.scheduled_for, follows_id=b.follows_id,
            withdrawn_at=b.withdrawn_at,
            counts=models.Counts(pending=c.pending, sending=c.sending, sent=c.sent, blocked=c.blocked,
                                 failed=c.failed, cancelled=c.cancelled),
            links=links,
        )  # fmt: skip


@web.middleware
async def _problems_for_api_paths(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    """Under /api/, the router's own refusals (no such path, method not allowed) are problem documents too."""
    try:
        return await handler(request)
    except web.HTTPException as error:
        if not request.path.startswith("/api/") or error.status < 400:
            raise
        allow = {"Allow": error.headers["Allow"]} if "Allow" in error.headers else None
        return ApiProblem(error.status, error.reason, headers=allow).response()


async def _openapi(_request: web.Request) -> web.Response:
    return web.json_response(document())


async def _docs(_request: web.Request) -> web.Response:
    return web.Response(text=docs_page(), content_type="text/html")


def _draft(request: models.AlertRequest) -> AlertDraft:
    return AlertDraft(
        template_id=request.template, variables=dict(request.variables), districts=tuple(request.districts),
        audience=request.audience_value(), severity=Severity(request.severity.value) if request.severity else None,
        exercise=request.exercise,
    )  # fmt: skip


def preview_out(preview: Preview) -> models.PreviewOut:
    d, eta = preview.draft, preview.estimate
    return models.PreviewOut(
        template=d.template_id, districts=list(d.districts), audience=str(d.audience),
        severity=d.severity.value if d.severity else None, exercise=d.exercise, texts=dict(preview.texts),
        recipients=dict(preview.recipients), total=preview.total, needs_approval=preview.needs_approval,
        channels=[models.Channel(channel=c.channel, language=c.language, members=c.members, usable=c.usable)
                  for c in preview.channels],
        eta=models.Eta(seconds=round(eta.seconds, 1), rate=eta.rate, paid=eta.paid, ahead=eta.ahead,
                       charged_messages=eta.charged, stars=eta.stars) if eta else None,
    )  # fmt: skip


def _json(body: Any, *, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    return web.Response(text=json.dumps(body, ensure_ascii=False), status=status, content_type=JSON, headers=headers)
