"""The sandbox's web page: static files, the personas' chats over JSON, and live events over server-sent events.

Routes (the page, ``static/app.js``, is their only client):

* ``GET /`` and ``/static/…`` — the page, served as files (no build step);
* ``GET /sandbox/state`` — the personas, the population, the limits, links;
* ``GET /sandbox/chats/{persona}`` — that persona's conversation and command menu;
* ``POST /sandbox/chats/{persona}/messages`` ``{"text"}`` — the persona writes to the bot;
* ``POST /sandbox/chats/{persona}/taps`` ``{"message_id", "data"}`` — the persona presses a button of that message;
  answered with the bot's callback answer (its pop-up);
* ``GET /sandbox/events`` — ``message`` events (a new or changed message of any persona) and ``panel`` events;
* ``GET /sandbox/files/{chat}/{message}`` — a photo the bot sent.

It listens on 127.0.0.1 only, and answers only requests addressed to it by that name (or ``localhost``: no other
site can reach it through DNS rebinding) whose bodies are declared JSON (no other site's form can post to it).
Every input is checked here: a tap must name a button the message really has.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from aiohttp import web

from alertbot.sandbox.botapi import FakeBotAPI
from alertbot.sandbox.botapi.html import utf16_len
from alertbot.sandbox.botapi.state import UploadedFile
from alertbot.sandbox.chats import Chats
from alertbot.sandbox.people import PERSONAS_BY_ID, Persona

log = logging.getLogger(__name__)

JSON = dict[str, Any]
STATIC = Path(__file__).resolve().with_name("static")
MAX_TEXT = 4096  # what Telegram lets a person send in one message
MAX_CALLBACK_DATA = 64  # bytes, Telegram's limit
ANSWER_WAIT = 5.0
PANEL_EVERY = 0.5
CLIENT_BACKLOG = 2000  # events a slow page may fall behind by before it is disconnected (it reconnects)
KEEPALIVE = 15.0
SECURITY_HEADERS = {
    # the bot's messages are shown as HTML made by alertbot.sandbox.chats; nothing on the page may load or run
    # anything but the sandbox's own files
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; connect-src 'self'; "
        "frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-cache",
}


def refusal(error: type[web.HTTPException], message: str) -> web.HTTPException:
    """An HTTP error as the page reads one: ``{"error": message}``."""
    return error(text=json.dumps({"error": message}), content_type="application/json")


class SandboxPage:
    """The page's HTTP server. ``panel`` reads the side panel's state; ``state`` the sandbox's description."""

    def __init__(
        self,
        api: FakeBotAPI,
        chats: Chats,
        panel: Callable[[], Awaitable[JSON]],
        state: Callable[[], JSON],
    ) -> None:
        self._api = api
        self._chats = chats
        self._panel = panel
        self._state = state
        self._clients: set[asyncio.Queue[tuple[str, JSON] | None]] = set()
        self._runner: web.AppRunner | None = None
        self._panel_task: asyncio.Task[None] | None = None
        self.port: int | None = None
        chats.listeners.append(self._message_changed)

    def app(self) -> web.Application:
        app = web.Application(client_max_size=64 * 1024, middlewares=[self._headers])
        app.router.add_get("/", self._index)
        app.router.add_static("/static/", STATIC, follow_symlinks=False)
        app.router.add_get("/sandbox/state", self._get_state)
        app.router.add_get(r"/sandbox/chats/{persona:[a-z]{1,32}}", self._get_chat)
        app.router.add_post(r"/sandbox/chats/{persona:[a-z]{1,32}}/messages", self._post_message)
        app.router.add_post(r"/sandbox/chats/{persona:[a-z]{1,32}}/taps", self._post_tap)
        app.router.add_get("/sandbox/events", self._events)
        app.router.add_get(r"/sandbox/files/{chat:\d{1,15}}/{message:\d{1,9}}", self._file)
        return app

    async def start(self, host: str, port: int) -> None:
        self._runner = web.AppRunner(self.app(), access_log=None, shutdown_timeout=1.0, handler_cancellation=True)
        await self._runner.setup()
        try:
            await web.TCPSite(self._runner, host, port).start()
        except OSError as error:
            await self._runner.cleanup()
            raise OSError(f"cannot listen on {host}:{port} ({error.strerror}); choose another --port") from None
        self.port = int(self._runner.addresses[0][1])
        self._panel_task = asyncio.create_task(self._publish_panel(), name="sandbox-panel")

    async def stop(self) -> None:
        if self._panel_task is not None:
            self._panel_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._panel_task
        for client in list(self._clients):
            client.put_nowait(None)
        if self._runner is not None:
            await self._runner.cleanup()

    # -- plumbing ---------------------------------------------------------------------------------

    @web.middleware
    async def _headers(
        self, request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    ) -> web.StreamResponse:
        try:
            if request.host not in self._hosts():
                raise refusal(web.HTTPMisdirectedRequest, "address the sandbox as 127.0.0.1 or localhost")
            response = await handler(request)
        except web.HTTPException as error:
            error.headers.update(SECURITY_HEADERS)
            raise
        if not response.prepared:
            response.headers.update(SECURITY_HEADERS)
        return response

    def _hosts(self) -> set[str]:
        return {f"{name}:{self.port}" for name in ("127.0.0.1", "localhost")}

    @staticmethod
    def _persona(request: web.Request) -> Persona:
        persona = PERSONAS_BY_ID.get(request.match_info["persona"])
        if persona is None:
            raise refusal(
                web.HTTPNotFound, f"no persona {request.match_info['persona']!r}: {', '.join(PERSONAS_BY_ID)}"
            )
        return persona

    @staticmethod
    async def _body(request: web.Request) -> JSON:
        if request.content_type != "application/json":
            raise refusal(web.HTTPBadRequest, "the body must be JSON, sent as Content-Type: application/json")
        try:
            body = await request.json()
        except (json.JSONDecodeError, UnicodeDecodeError):
            raise refusal(web.HTTPBadRequest, "the body must be JSON") from None
        if not isinstance(body, dict):
            raise refusal(web.HTTPBadRequest, "the body must be a JSON object")
        return body

    def _broadcast(self, event: str, data: JSON) -> None:
        for client in list(self._clients):
            try:
                client.put_nowait((event, data))
            except asyncio.QueueFull:  # a page that stopped reading: dropped, it reconnects and re-reads
                self._clients.discard(client)
                with contextlib.suppress(asyncio.QueueFull):
                    client.put_nowait(None)

    def _message_changed(self, persona: str, message: JSON) -> None:
        self._broadcast("message", {"persona": persona, "message": message})

    async def _publish_panel(self) -> None:
        while True:
            if self._clients:
                try:
                    self._broadcast("panel", await self._panel())
                except Exception:  # the page goes on with the last figures; the next round tries again
                    log.exception("sandbox: the side panel could not be read")
            await asyncio.sleep(PANEL_EVERY)

    # -- routes -----------------------------------------------------------------------------------

    async def _index(self, _: web.Request) -> web.StreamResponse:
        return web.FileResponse(STATIC / "index.html")

    async def _get_state(self, _: web.Request) -> web.Response:
        return web.json_response(self._state())

    async def _get_chat(self, request: web.Request) -> web.Response:
        persona = self._persona(request)
        return web.json_response(
            {
                "messages": self._chats.conversation(persona.user_id),
                "commands": self._api.menu_commands(persona.user_id, persona.language_code),
            }
        )

    async def _post_message(self, request: web.Request) -> web.Response:
        persona = self._persona(request)
        text = (await self._body(request)).get("text")
        if not isinstance(text, str) or not text.strip():
            raise refusal(web.HTTPBadRequest, "text: write something")
        if utf16_len(text) > MAX_TEXT:
            raise refusal(web.HTTPBadRequest, f"text: at most {MAX_TEXT} characters, as in Telegram")
        update = self._api.send_text(
            persona.user_id, text, language_code=persona.language_code, first_name=persona.first_name
        )
        self._chats.said(persona.user_id, update)
        return web.json_response({"ok": True}, status=202)

    async def _post_tap(self, request: web.Request) -> web.Response:
        persona = self._persona(request)
        body = await self._body(request)
        message_id, data = body.get("message_id"), body.get("data")
        if not isinstance(message_id, int) or isinstance(message_id, bool):
            raise refusal(web.HTTPBadRequest, "message_id: a message's id (a number)")
        if not isinstance(data, str) or not 1 <= len(data.encode()) <= MAX_CALLBACK_DATA:
            raise refusal(web.HTTPBadRequest, f"data: a button's callback data (1-{MAX_CALLBACK_DATA} bytes)")
        stored = self._api.message(persona.user_id, message_id)
        if stored is None:
            raise refusal(web.HTTPNotFound, f"no message {message_id} in this chat (deleted?)")
        if data not in [callback for _, callback in self._api.buttons(stored)]:
            raise refusal(web.HTTPBadRequest, "that message has no such button (any more)")
        query = self._api.tap(
            persona.user_id, stored, data, language_code=persona.language_code, first_name=persona.first_name
        )
        try:
            answer = await self._api.wait_for_answer(query, timeout=ANSWER_WAIT)
        except AssertionError:  # the bot did not answer in time: Telegram's client stops its spinner so
            return web.json_response({"text": None, "show_alert": False})
        return web.json_response({"text": answer.get("text"), "show_alert": bool(answer.get("show_alert"))})

    async def _events(self, request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(
            headers={**SECURITY_HEADERS, "Content-Type": "text/event-stream", "X-Accel-Buffering": "no"}
        )
        await response.prepare(request)
        queue: asyncio.Queue[tuple[str, JSON] | None] = asyncio.Queue(CLIENT_BACKLOG)
        self._clients.add(queue)
        try:
            await response.write(b"retry: 1000\n\n")
            with contextlib.suppress(Exception):
                await response.write(_event("panel", await self._panel()))
            while True:
                try:
                    item = await asyncio.wait_for(queue.get(), KEEPALIVE)
                except TimeoutError:
                    await response.write(b": keep-alive\n\n")
                    continue
                if item is None:
                    break
                await response.write(_event(*item))
        except ConnectionResetError:  # the page closed or reloaded
            pass
        finally:
            self._clients.discard(queue)
        return response

    async def _file(self, request: web.Request) -> web.Response:
        stored = self._api.message(int(request.match_info["chat"]), int(request.match_info["message"]))
        if (
            stored is None
            or stored.get("photo") is None
            or int(request.match_info["chat"]) not in {persona.user_id for persona in PERSONAS_BY_ID.values()}
        ):
            raise refusal(web.HTTPNotFound, "no such photo")
        file = stored.get("file")
        if not isinstance(file, UploadedFile):
            raise refusal(web.HTTPNotFound, "that photo was sent by reference, not uploaded")
        return web.Response(body=file.data, content_type=file.content_type or "image/png")


def _event(name: str, data: JSON) -> bytes:
    return f"event: {name}\ndata: {json.dumps(data, ensure_ascii=False, separators=(',', ':'))}\n\n".encode()
