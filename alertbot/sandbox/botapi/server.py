"""A Telegram Bot API test double served over real HTTP on 127.0.0.1.

Point a real ``aiogram.Bot`` at it::

    async with FakeBotAPI() as api:
        session = AiohttpSession(api=TelegramAPIServer.from_base(api.base_url))
        bot = Bot(api.token, session=session)
        ...
        api.send_text(42, "/start")                    # inject an update
        msg = await api.wait_for_message(42, contains="Welcome")
        api.tap(42, msg, "English")                     # press an inline button

Everything runs on the caller's asyncio loop; no threads.

Besides Telegram's own error replies (``fail_next``, ``block``, ...) and flood limits
(``set_rate_limit``, ``burst_429``), the double can misbehave like the network and the proxies in
front of Telegram do: ``set_faults`` answers a random share of requests with 500/502 JSON errors,
nginx's HTML 502 page, a reset connection, or an answer that comes too late.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import random
import re
import socket
import struct
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Self

from aiohttp import web

from .html import EntityParseError, ParsedText, parse_text, utf16_len
from .lag import LoopLag
from .spec import SpecChecker
from .state import (
    DEFAULT_FAULT_METHODS,
    FAULT_KINDS,
    NGINX_502_HTML,
    ApiError,
    FaultPlan,
    RateLimiter,
    UploadedFile,
    check_reply_markup,
    inline_buttons,
    max_in_window,
)
from .webhook import WebhookPusher

__all__ = ["FakeBotAPI"]

JSON = dict[str, Any]

MAX_TEXT = 4096
MAX_CAPTION = 1024
MAX_CALLBACK_ANSWER = 200

#: Update types delivered when ``allowed_updates`` was never set (or set to ``[]``).
DEFAULT_UPDATE_TYPES = frozenset(
    {
        "message",
        "edited_message",
        "channel_post",
        "edited_channel_post",
        "business_connection",
        "business_message",
        "edited_business_message",
        "deleted_business_messages",
        "inline_query",
        "chosen_inline_result",
        "callback_query",
        "shipping_query",
        "pre_checkout_query",
        "purchased_paid_media",
        "poll",
        "poll_answer",
        "my_chat_member",
        "chat_join_request",
        "chat_boost",
        "removed_chat_boost",
    }
)

_ATTACH_RE = re.compile(r"attach://([A-Za-z0-9_\-]+)")

CHAT_ACTIONS = frozenset(
    {
        "typing",
        "upload_photo",
        "record_video",
        "upload_video",
        "record_voice",
        "upload_voice",
        "upload_document",
        "choose_sticker",
        "find_location",
        "record_video_note",
        "upload_video_note",
    }
)

NOT_MODIFIED = (
    "message is not modified: specified new message content and reply markup are exactly the same "
    "as a current content and reply markup of the message"
)
QUERY_INVALID = "query is too old and response timeout expired or query ID is invalid"
CONFLICT_OTHER_POLL = (
    "Conflict: terminated by other getUpdates request; make sure that only one bot instance is running"
)
CONFLICT_WEBHOOK = (
    "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete the webhook first"
)

#: What the bot can be in a channel (``ChatMember.status``; a bot never owns one).
CHANNEL_BOT_STATUSES = frozenset({"administrator", "member", "left", "kicked"})

#: Channel ids are ``-100`` followed by the channel's own id: every one is below this.
MAX_CHANNEL_ID = -1_000_000_000_000


def _is_send(method: str) -> bool:
    """Methods that post a new message (subject to blocking and flood limits)."""
    return (method.startswith("send") and method != "sendChatAction") or method in {
        "copyMessage",
        "copyMessages",
        "forwardMessage",
        "forwardMessages",
    }


def _is_edit(method: str) -> bool:
    """Methods that change an existing message (``count_edits`` counts them in the global window)."""
    return method.startswith("editMessage")


def _is_outgoing(method: str) -> bool:
    """Methods a blocked / deactivated user makes fail."""
    return _is_send(method) or method.startswith(("edit", "sendChatAction"))


@dataclass
class _Failure:
    method: str  # lower-case
    error: ApiError
    chat_id: int | None
    remaining: int


@dataclass
class _Channel:
    """What the double knows of a channel beyond its Chat object (see :meth:`FakeBotAPI.add_channel`)."""

    members: int
    bot_status: str
    can_post_messages: bool
    can_edit_messages: bool


class FakeBotAPI:
    """In-process fake of ``api.telegram.org`` for end-to-end tests.

    State useful to tests (all plain attributes):

    * ``requests`` - every call as ``(method, params)`` with JSON fields decoded;
    * ``spec_violations`` - problems found by :class:`SpecChecker` in those calls;
    * ``errors`` - ``(method, params, ApiError)`` for every call answered with an error;
    * ``uploads`` - ``(method, UploadedFile)`` for every file uploaded;
    * ``dropped_updates`` - injected updates discarded because the bot's ``allowed_updates``
      excludes their type (a handler for them is probably not registered);
    * ``rate_limited`` - number of 429s produced by :meth:`set_rate_limit` limits (not those of
      :meth:`burst_429` or :meth:`fail_next`); ``floods`` says for each what the second before it held;
    * ``send_times`` - ``time.monotonic()`` of every accepted request counted in the global
      per-second window: message sends (paid broadcasts included), edits if ``count_edits``, but
      not replies to a private chat that wrote within ``reply_window`` seconds (see
      :meth:`set_rate_limit`; :meth:`max_in_window` reads it);
    * ``faults_injected`` - number of injected faults by kind (:data:`FAULT_KINDS`: ``server_error``,
      ``slow``, ``html_502``, ``reset``, ``burst_429``); ``fault_log`` - ``(method, params, kind)``
      for each of them (see :meth:`set_faults`, :meth:`burst_429`).

    Chats need no registration: a positive id is a private chat, a negative one a group (a supergroup
    from ``-10**12`` down). Channels do: :meth:`add_channel` registers one with the bot's rights in it,
    which then decide whether posts and edits are accepted.
    """

    def __init__(
        self,
        token: str = "123456:TEST-TOKEN",
        *,
        bot_id: int = 123456,
        username: str = "alertbot_test_bot",
        first_name: str = "AlertBot Test",
        spec: SpecChecker | None = None,
    ) -> None:
        self.token = token
        self.bot_id = bot_id
        self.username = username
        self.first_name = first_name
        self.spec = spec if spec is not None else SpecChecker()

        self.requests: list[tuple[str, JSON]] = []
        self.spec_violations: list[str] = []
        self.errors: list[tuple[str, JSON, ApiError]] = []
        self.uploads: list[tuple[str, UploadedFile]] = []
        self.dropped_updates: list[JSON] = []
        self.rate_limited = 0
        self.floods: list[str] = []  # for each of rate_limited: what the window held, how late the loop was
        self.send_times: list[float] = []
        self._send_allowances: list[float] = []  # the loop's lateness allowed for each of send_times
        self.faults_injected: dict[str, int] = dict.fromkeys(FAULT_KINDS, 0)
        self.fault_log: list[tuple[str, JSON, str]] = []
        self.fault_seed: int | None = None  # the seed of the latest set_faults()
        #: Whether edits count in the global window and ``send_times`` (see :meth:`set_rate_limit`).
        self.count_edits = False
        #: Seconds after delivering an update from a private chat during which messages to it are replies.
        self.reply_window: float | None = 5.0
        #: Webhook mode: URLs to post updates to in turn (a reverse proxy's upstreams) instead of webhook_url.
        self.webhook_targets: list[str] | None = None
        #: Webhook mode: seconds before an update the bot did not take (non-2xx, no answer) is posted again.
        self.webhook_retry_delay = 0.2
        #: Webhook mode: seconds a post may take before it counts as not taken.
        self.webhook_timeout = 10.0
        self.webhook = WebhookPusher(self)
        #: How late this event loop has run lately: the flood windows allow for it (see :mod:`.lag`).
        self.loop_lag = LoopLag()
        #: Called with each bot message as it is stored, edited or deleted (the sandbox's page follows chats so).
        self.message_listeners: list[Callable[[JSON], None]] = []

        self._updates: list[JSON] = []
        self._update_ids = itertools.count(1000)
        self._allowed_updates: frozenset[str] = DEFAULT_UPDATE_TYPES
        self._poll_generation = 0
        self._webhook: JSON = {"url": ""}

        self._message_ids: dict[int, int] = {}
        self._messages: dict[int, list[JSON]] = {}
        self._incoming: dict[tuple[int, int], JSON] = {}
        self._chats: dict[int, JSON] = {}  # Chat objects of chats that wrote or were registered
        self._channels: dict[int, _Channel] = {}
        self._callbacks: dict[str, JSON] = {}
        self._answers: dict[str, JSON] = {}
        self._callback_ids = itertools.count(4_000_000_000_000_000_000)
        self._file_ids = itertools.count(1)
        self._commands: dict[tuple[str, str], list[JSON]] = {}
        self._menu_buttons: dict[int | None, JSON] = {}

        self._failures: list[_Failure] = []
        self._redirects: dict[tuple[str, int | None], int] = {}
        self._chat_errors: dict[int, ApiError] = {}
        self._delays: dict[str, float] = {}
        self._limiter: RateLimiter | None = None
        self._faults: FaultPlan | None = None
        self._burst: tuple[float, int, frozenset[str] | None] | None = None  # (until, retry_after, methods)
        self._last_delivery: dict[int, float] = {}  # private chat -> when getUpdates last delivered from it

        self._seq = 0
        self._changed = asyncio.Event()
        self._closing = asyncio.Event()
        self._runner: web.AppRunner | None = None
        self._port: int | None = None

        self._handlers = {
            "getMe": self._get_me,
            "getUpdates": self._get_updates,
            "setWebhook": self._set_webhook,
            "deleteWebhook": self._delete_webhook,
            "getWebhookInfo": self._get_webhook_info,
            "setMyCommands": self._set_my_commands,
            "getMyCommands": self._get_my_commands,
            "deleteMyCommands": self._delete_my_commands,
            "sendMessage": self._send_message,
            "editMessageText": self._edit_message_text,
            "editMessageReplyMarkup": self._edit_message_reply_markup,
            "deleteMessage": self._delete_message,
            "answerCallbackQuery": self._answer_callback_query,
            "sendChatAction": self._send_chat_action,
            "setChatMenuButton": self._set_chat_menu_button,
            "getChatMenuButton": self._get_chat_menu_button,
            "sendPhoto": self._send_photo,
            "sendDocument": self._send_document,
            "getChat": self._get_chat,
            "getChatMember": self._get_chat_member,
            "getChatMemberCount": self._get_chat_member_count,
        }
        self._handler_names = {name.lower(): name for name in self._handlers}

    # ------------------------------------------------------------------ lifecycle
    async def start(self) -> None:
        """Serve on 127.0.0.1 on a free port."""
        if self._runner is not None:
            raise RuntimeError("FakeBotAPI is already started")
        self._closing = asyncio.Event()
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/bot{token}/{method}", self._handle)
        self._runner = web.AppRunner(app, handler_cancellation=True, access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self._port = int(self._runner.addresses[0][1])
        self.loop_lag.start()

    async def stop(self) -> None:
        """Stop serving; pending long polls and delayed calls return immediately."""
        if self._runner is None:
            return
        self._closing.set()
        self._notify()
        await self.webhook.stop()
        await self.loop_lag.stop()
        await self._runner.cleanup()
        self._runner = None

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:PORT`` (use with ``TelegramAPIServer.from_base``)."""
        if self._port is None:
            raise RuntimeError("FakeBotAPI is not started")
        return f"http://127.0.0.1:{self._port}"

    def url(self, method: str, token: str | None = None) -> str:
        """Full URL of *method* (for raw HTTP calls in tests)."""
        return f"{self.base_url}/bot{token or self.token}/{method}"

    # ------------------------------------------------------------------ HTTP layer
    async def _handle(self, request: web.Request) -> web.StreamResponse:
        if request.match_info["token"] != self.token:
            return self._error_response(ApiError.unauthorized())
        raw_method = request.match_info["method"]
        method = self._handler_names.get(raw_method.lower()) or self.spec.canonical(raw_method) or raw_method
        if "hop" in request.query:  # the loop of redirect_next() goes on until the client gives up
            raise web.HTTPFound(location=f"{request.path}?hop={int(request.query['hop']) + 1}")
        try:
            params = await self._read_params(request, method)
        except ApiError as error:
            return self._error_response(error)
        self.requests.append((method, params))
        self.spec_violations.extend(self.spec.check(method, params))
        if self._take_redirect(method, params):
            # a misconfigured proxy that sends the client round in circles: aiohttp gives up with
            # TooManyRedirects, whose text names the request URL (the bot token with it)
            raise web.HTTPFound(location=f"{request.path}?hop=1")
        fault = self._draw_fault(method, params)
        if fault == "reset":
            return await self._reset_connection(request)
        if fault == "html_502":
            return web.Response(
                status=502,
                body=NGINX_502_HTML.encode(),
                headers={"Content-Type": "text/html", "Server": "nginx/1.18.0"},
            )
        slow_delivers = self._faults is not None and self._faults.slow_delivers
        if fault == "slow" and not slow_delivers:
            # The request is stuck before Telegram got it: nothing happens unless the client waits it out.
            await self._hold(self._faults.slow_seconds if self._faults else 0.0)
            if self._closing.is_set():
                return await self._reset_connection(request)
        try:
            if fault == "server_error":
                code = self._faults.server_error_code() if self._faults else 500
                raise ApiError.server_error() if code == 500 else ApiError.bad_gateway()
            if fault == "burst_429":
                assert self._burst is not None
                raise ApiError.too_many_requests(self._burst[1])
            result = await self._dispatch(method, params)
        except ApiError as error:
            self.errors.append((method, params, error))
            response = self._error_response(error)
        else:
            response = web.json_response({"ok": True, "result": result})
        if fault == "slow" and slow_delivers:
            # Telegram did it, but the answer is lost / comes too late (a client that timed out hung up).
            await self._hold(self._faults.slow_seconds if self._faults else 0.0)
        return response

    def _draw_fault(self, method: str, params: JSON) -> str | None:
        """Which injected fault (if any) this request gets; counted in ``faults_injected``."""
        fault: str | None = None
        if self._burst is not None:
            until, _, methods = self._burst
            if time.monotonic() >= until:
                self._burst = None
            elif self._burst_applies(method, methods):
                fault = "burst_429"
        if fault is None and self._faults is not None:
            fault = self._faults.draw(method)
        if fault is not None:
            self.faults_injected[fault] += 1
            self.fault_log.append((method, params, fault))
            self._notify()  # so wait_until() can wait for faults
        return fault

    def _burst_applies(self, method: str, methods: frozenset[str] | None) -> bool:
        if methods is not None:
            return method.lower() in methods
        return _is_send(method) and self.spec.has_method(method)

    async def _hold(self, seconds: float) -> None:
        """Sleep *seconds*, or until :meth:`stop`; the client hanging up cancels the handler (and this)."""
        if seconds > 0 and not self._closing.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._closing.wait(), seconds)

    async def _reset_connection(self, request: web.Request) -> web.StreamResponse:
        """Drop the connection without an answer: a TCP reset (RST), as a crashing proxy or a NAT does."""
        transport = request.transport
        if transport is not None:
            sock = transport.get_extra_info("socket")
            if sock is not None:
                with contextlib.suppress(OSError):  # SO_LINGER 0: close() sends RST instead of FIN
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            transport.abort()
        # aiohttp cancels this handler as soon as it notices the lost connection (handler_cancellation=True),
        # also while stop() is under way; the answer below is only a fallback that no client will read.
        await asyncio.sleep(5.0)
        return web.Response(status=502)

    @staticmethod
    def _error_response(error: ApiError) -> web.Response:
        return web.json_response(error.to_payload(), status=error.error_code)

    async def _read_params(self, request: web.Request, method: str) -> JSON:
        raw: dict[str, Any] = dict(request.query)
        if request.can_read_body:
            if request.content_type == "application/json":
                try:
                    body = await request.json()
                except ValueError as exc:
                    raise ApiError.bad_request("can't parse JSON request body") from exc
                if not isinstance(body, dict):
                    raise ApiError.bad_request("JSON request body must be an object")
                raw.update(body)
            else:
                form = await request.post()
                for key, part in form.items():
                    if isinstance(part, web.FileField):
                        raw[key] = UploadedFile(part.filename, part.content_type, part.file.read())
                    else:
                        raw[key] = part
        for value in {id(v): v for v in raw.values() if isinstance(v, UploadedFile)}.values():
            self.uploads.append((method, value))
        # aiogram sends files as ``photo=attach://<key>`` plus a multipart part named <key>:
        # resolve the reference and drop the helper part so it is not reported as unknown.
        referenced: set[str] = set()
        for key, value in list(raw.items()):
            if isinstance(value, str) and "attach://" in value:
                referenced.update(_ATTACH_RE.findall(value))
                upload = raw.get(value.removeprefix("attach://"))
                if isinstance(upload, UploadedFile):
                    raw[key] = upload
        fields = self.spec.fields(method)
        for name in referenced:
            if name not in fields and isinstance(raw.get(name), UploadedFile):
                del raw[name]
        return {key: self.spec.decode(method, key, value) for key, value in raw.items()}

    async def _dispatch(self, method: str, params: JSON) -> Any:
        handler = self._handlers.get(method)
        if handler is None and not self.spec.has_method(method):
            raise ApiError.method_not_found()
        await self._apply_delay(method)
        self._apply_injected_failure(method, params)
        self._check_required(method, params)
        self._apply_chat_errors(method, params)
        self._apply_channel_rights(method, params)
        if handler is not None:
            return await handler(params)
        return self._generic(method, params)

    async def _apply_delay(self, method: str) -> None:
        seconds = self._delays.get(method.lower())
        if seconds:
            await self._hold(seconds)  # interruptible by stop(), so a delayed call never holds up shutdown

    def _apply_injected_failure(self, method: str, params: JSON) -> None:
        chat_id = self._lookup_chat_id(params)
        for failure in self._failures:
            if failure.method == method.lower() and failure.chat_id in (None, chat_id):
                failure.remaining -= 1
                if failure.remaining <= 0:
                    self._failures.remove(failure)
                raise failure.error

    def _check_required(self, method: str, params: JSON) -> None:
        for name, field in self.spec.fields(method).items():
            if field["required"] and params.get(name) in (None, ""):
                if name == "text":
                    raise ApiError.bad_request("message text is empty")
                raise ApiError.bad_request(f"{name} is empty")

    def _apply_chat_errors(self, method: str, params: JSON) -> None:
        chat_id = self._lookup_chat_id(params)
        error = self._chat_errors.get(chat_id) if chat_id is not None else None
        if error is None:
            return
        if error.error_code == 400 or _is_outgoing(method):
            raise error

    def _apply_channel_rights(self, method: str, params: JSON) -> None:
        """Refuse what the bot may not do in a registered channel, with Telegram's errors.

        Not in the channel: 403 ``bot is not a member of the channel chat`` (``bot was kicked from the
        channel chat`` if banned). In it, but not an administrator allowed to post: 400 ``need
        administrator rights in the channel chat`` for posts and chat actions; edits also pass with
        ``can_edit_messages``; deleting needs administrator rights (400 ``message can't be deleted``).
        """
        chat_id = self._lookup_chat_id(params)
        channel = self._channels.get(chat_id) if chat_id is not None else None
        deleting = method == "deleteMessage"
        if channel is None or not (_is_outgoing(method) or deleting):
            return
        if channel.bot_status == "left":
            raise ApiError.not_channel_member()
        if channel.bot_status == "kicked":
            raise ApiError.kicked_from_channel()
        admin = channel.bot_status == "administrator"
        if deleting:
            if not admin:
                raise ApiError.bad_request("message can't be deleted")
            return
        allowed = channel.can_post_messages or (method.startswith("edit") and channel.can_edit_messages)
        if not (admin and allowed):
            raise ApiError.need_channel_admin()

    @staticmethod
    def _param_chat_id(params: JSON) -> int | None:
        value = params.get("chat_id")
        if isinstance(value, bool):
            return None
        if isinstance(value, int):
            return value
        if isinstance(value, str) and value.lstrip("-").isdigit():
            return int(value)
        return None

    def _username_chat_id(self, value: Any) -> int | None:
        """The id of the known chat whose ``@username`` *value* is (case-insensitive), or ``None``."""
        if not isinstance(value, str) or not value.startswith("@") or len(value) < 2:
            return None
        wanted = value[1:].lower()
        for known in self._chats.values():
            if str(known.get("username", "")).lower() == wanted:
                return int(known["id"])
        return None

    def _lookup_chat_id(self, params: JSON) -> int | None:
        """The chat *params* name by ``chat_id``: a numeric id, or the ``@username`` of a known chat."""
        chat_id = self._param_chat_id(params)
        return chat_id if chat_id is not None else self._username_chat_id(params.get("chat_id"))

    # ------------------------------------------------------------------ helpers
    def _notify(self) -> None:
        """Wake every waiter (long polls, wait_for_* helpers)."""
        self._seq += 1
        self._changed.set()
        self._changed = asyncio.Event()

    async def _wait_until(self, predicate: Callable[[], Any], seconds: float) -> Any:
        """Return the first truthy ``predicate()`` result, or ``None`` after *seconds*."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + seconds
        while True:
            event = self._changed
            result = predicate()
            if result:
                return result
            remaining = deadline - loop.time()
            if remaining <= 0 or self._closing.is_set():
                return None
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(event.wait(), remaining)

    def _bot_user(self) -> JSON:
        return {"id": self.bot_id, "is_bot": True, "first_name": self.first_name, "username": self.username}

    def _chat(self, chat_id: int) -> JSON:
        known = self._chats.get(chat_id)
        if known is not None:
            return dict(known)
        if chat_id > 0:
            return {"id": chat_id, "type": "private", "first_name": f"User{chat_id}"}
        if chat_id <= -1_000_000_000_000:
            return {"id": chat_id, "type": "supergroup", "title": f"Supergroup {chat_id}"}
        return {"id": chat_id, "type": "group", "title": f"Group {chat_id}"}

    def _resolve_chat(self, params: JSON) -> int:
        """The numeric id of the chat *params* name (see :meth:`_lookup_chat_id`); 400 ``chat not found``."""
        chat_id = self._lookup_chat_id(params)
        if chat_id is None:
            raise ApiError.chat_not_found()
        return chat_id

    def _next_message_id(self, chat_id: int) -> int:
        self._message_ids[chat_id] = self._message_ids.get(chat_id, 0) + 1
        return self._message_ids[chat_id]

    def _find(self, chat_id: int, message_id: Any) -> JSON | None:
        for message in self._messages.get(chat_id, []):
            if message["message_id"] == message_id and not message["deleted"]:
                return message
        return None

    @staticmethod
    def _parse(text: str, parse_mode: Any, entities: Any) -> ParsedText:
        if parse_mode not in (None, "") and str(parse_mode).lower() not in {"html", "markdown", "markdownv2"}:
            raise ApiError.bad_request("unsupported parse_mode")
        try:
            return parse_text(text, parse_mode, entities if isinstance(entities, list) else None)
        except EntityParseError as exc:
            raise ApiError.bad_request(f"can't parse entities: {exc}") from exc

    def _parse_message_text(self, params: JSON) -> ParsedText:
        text = params.get("text")
        if not isinstance(text, str) or not text:
            raise ApiError.bad_request("message text is empty")
        parsed = self._parse(text, params.get("parse_mode"), params.get("entities"))
        if not parsed.text:
            raise ApiError.bad_request("message text is empty")
        if parsed.length > MAX_TEXT:
            raise ApiError.bad_request("message is too long")
        return parsed

    def _parse_caption(self, params: JSON) -> ParsedText | None:
        caption = params.get("caption")
        if not isinstance(caption, str) or not caption:
            return None
        parsed = self._parse(caption, params.get("parse_mode"), params.get("caption_entities"))
        if parsed.length > MAX_CAPTION:
            raise ApiError.bad_request("message caption is too long")
        return parsed

    def _is_reply(self, chat_id: int, now: float) -> bool:
        """Whether a message to *chat_id* now answers someone who just wrote (see ``reply_window``)."""
        last = self._last_delivery.get(chat_id)
        return self.reply_window is not None and last is not None and now - last <= self.reply_window

    def _admit_send(self, chat_id: int, params: JSON) -> None:
        """Apply flood limits to a new message and record its timestamp (unless it is a reply)."""
        now = time.monotonic()
        reply = self._is_reply(chat_id, now)
        allowance = self.loop_lag.recent(now)
        if self._limiter is not None:
            paid = bool(params.get("allow_paid_broadcast"))
            retry_after = self._limiter.check(chat_id, now, paid=paid, count_global=not reply, allowance=allowance)
            if retry_after is not None:
                self._refused(now, allowance)
                raise ApiError.too_many_requests(retry_after)
        if not reply:
            self._count_send(now, allowance)

    def _admit_edit(self, chat_id: int) -> None:
        """With ``count_edits``: apply the global window to an edit and record its timestamp (unless a reply)."""
        now = time.monotonic()
        if not self.count_edits or self._is_reply(chat_id, now):
            return
        allowance = self.loop_lag.recent(now)
        if self._limiter is not None:
            retry_after = self._limiter.check(chat_id, now, count_chat=False, allowance=allowance)
            if retry_after is not None:
                self._refused(now, allowance)
                raise ApiError.too_many_requests(retry_after)
        self._count_send(now, allowance)

    def _refused(self, now: float, allowance: float) -> None:
        self.rate_limited += 1
        counted = sum(1 for t in self.send_times[-1000:] if t > now - 1.0)
        self.floods.append(f"{counted} counted in the second before, the loop {allowance * 1000:.0f} ms late")

    def _count_send(self, now: float, allowance: float) -> None:
        self.send_times.append(now)
        self._send_allowances.append(allowance)

    def _reply_fields(self, chat_id: int, params: JSON) -> JSON:
        """``reply_to_message`` or ``external_reply`` of a new message to *chat_id* (empty: not a reply).

        Reads ``reply_parameters`` (or the legacy ``reply_to_message_id`` / ``allow_sending_without_reply``).
        The replied message is a bot message or an injected incoming one (not deleted) in
        ``reply_parameters.chat_id`` (default: *chat_id*); a message of another chat gives an
        ``external_reply``. If there is no such message (or chat): 400 ``message to be replied not found``,
        unless ``allow_sending_without_reply`` is true - then the message is sent as no reply at all.
        """
        reply = params.get("reply_parameters")
        if reply is None and params.get("reply_to_message_id") is not None:
            reply = {
                "message_id": params["reply_to_message_id"],
                "allow_sending_without_reply": params.get("allow_sending_without_reply") is True,
            }
        if reply is None:
            return {}
        if not isinstance(reply, dict):
            raise ApiError.bad_request("can't parse reply parameters JSON object")
        target: int | None = chat_id
        if reply.get("chat_id") not in (None, ""):
            target = self._lookup_chat_id(reply)
        replied = self._replied_message(target, reply.get("message_id")) if target is not None else None
        if replied is None:
            if reply.get("allow_sending_without_reply") is True:
                return {}
            raise ApiError.reply_not_found()
        if target == chat_id:
            return {"reply_to_message": replied}
        return {"external_reply": self._external_reply(replied)}

    def _replied_message(self, chat_id: int, message_id: Any) -> JSON | None:
        """The Message object of a bot message or injected incoming message, as ``reply_to_message`` holds it."""
        if not isinstance(message_id, int) or isinstance(message_id, bool):
            return None
        stored = self._find(chat_id, message_id)
        if stored is not None:
            replied = self._telegram_message(stored)
        elif (chat_id, message_id) in self._incoming:
            replied = dict(self._incoming[(chat_id, message_id)])
        else:
            return None
        # Telegram: "will not contain further reply_to_message fields even if it itself is a reply"
        replied.pop("reply_to_message", None)
        return replied

    @staticmethod
    def _external_reply(replied: JSON) -> JSON:
        """The ExternalReplyInfo of *replied* (a Message object of another chat)."""
        chat = replied["chat"]
        origin: JSON
        if chat["type"] == "channel":
            origin = {"type": "channel", "date": replied["date"], "chat": chat, "message_id": replied["message_id"]}
        elif "sender_chat" in replied:
            origin = {"type": "chat", "date": replied["date"], "sender_chat": replied["sender_chat"]}
        else:
            origin = {"type": "user", "date": replied["date"], "sender_user": replied["from"]}
        info: JSON = {"origin": origin}
        if chat["type"] in {"channel", "supergroup"}:  # only these can be linked to
            info["chat"] = chat
            info["message_id"] = replied["message_id"]
        for media in ("photo", "document"):
            if media in replied:
                info[media] = replied[media]
        return info

    def _store(self, chat_id: int, method: str, params: JSON, **content: Any) -> JSON:
        markup = params.get("reply_markup")
        message: JSON = {
            "message_id": self._next_message_id(chat_id),
            "chat_id": chat_id,
            "method": method,
            "text": None,
            "plain_text": None,
            "entities": [],
            "caption": None,
            "parse_mode": params.get("parse_mode"),
            "reply_markup": markup if isinstance(markup, dict) else None,
            "disable_notification": bool(params.get("disable_notification", False)),
            "allow_paid_broadcast": bool(params.get("allow_paid_broadcast", False)),
            "protect_content": bool(params.get("protect_content", False)),
            "date": int(time.time()),
            "sent_at": time.monotonic(),
            "edit_date": None,
            "reply_to_message": None,  # the replied message (in this chat), as Telegram returns it
            "external_reply": None,  # ExternalReplyInfo of a replied message in another chat
            "edits": [],
            "deleted": False,
            "file": None,
            "params": params,
            "seq": 0,
        }
        message.update(content)
        self._messages.setdefault(chat_id, []).append(message)
        self._touch(message)
        return message

    def _touch(self, message: JSON) -> None:
        self._notify()
        message["seq"] = self._seq
        for listener in self.message_listeners:
            listener(message)

    def _telegram_message(self, message: JSON) -> JSON:
        """The Message object Telegram would return for a stored message.

        A channel post is sent on behalf of the channel: it has ``sender_chat`` (the channel), no ``from``.
        """
        chat = self._chat(message["chat_id"])
        result: JSON = {"message_id": message["message_id"]}
        if chat["type"] == "channel":
            result["sender_chat"] = chat
        else:
            result["from"] = self._bot_user()
        result["chat"] = chat
        result["date"] = message["date"]
        for reply in ("reply_to_message", "external_reply"):
            if message.get(reply) is not None:
                result[reply] = message[reply]
        if message["edit_date"] is not None:
            result["edit_date"] = message["edit_date"]
        if message["plain_text"] is not None:
            result["text"] = message["plain_text"]
            if message["entities"]:
                result["entities"] = message["entities"]
        if message["caption"] is not None:
            result["caption"] = message["caption"]
            if message.get("caption_entities"):
                result["caption_entities"] = message["caption_entities"]
        for media in ("photo", "document"):
            if message.get(media) is not None:
                result[media] = message[media]
        markup = message["reply_markup"]
        if markup and "inline_keyboard" in markup:
            result["reply_markup"] = markup
        if message["protect_content"]:
            result["has_protected_content"] = True
        return result

    def _file_object(self, value: Any) -> tuple[JSON, Any]:
        """(Telegram file fields, what to store) for an uploaded file / file_id / URL."""
        number = next(self._file_ids)
        base: JSON = {"file_id": f"FAKEFILE{number:06d}", "file_unique_id": f"U{number:06d}"}
        if isinstance(value, UploadedFile):
            base["file_size"] = value.size
            return base, value
        return base, str(value)

    def _enqueue(self, update: JSON) -> JSON:
        update = {"update_id": next(self._update_ids), **update}
        # Like Telegram, allowed_updates (from the latest getUpdates/setWebhook) filters updates as they
        # are created; updates already queued when it changes are still delivered.
        if (update.keys() - {"update_id"}) & self._allowed_updates:
            self._updates.append(update)
            self._notify()
        else:
            self.dropped_updates.append(update)
        return update

    # ------------------------------------------------------------------ Bot API methods
    async def _get_me(self, params: JSON) -> JSON:
        return {
            **self._bot_user(),
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }

    def _deliverable(self, limit: int) -> list[JSON]:
        return self._updates[:limit]

    async def _get_updates(self, params: JSON) -> list[JSON]:
        if self._webhook["url"]:
            raise ApiError(409, CONFLICT_WEBHOOK)
        offset = params.get("offset")
        if isinstance(offset, int) and offset > 0:
            self._updates = [u for u in self._updates if u["update_id"] >= offset]
        elif isinstance(offset, int) and offset < 0:
            self._updates = self._updates[offset:]
        allowed = params.get("allowed_updates")
        if isinstance(allowed, list):
            self._allowed_updates = frozenset(allowed) if allowed else DEFAULT_UPDATE_TYPES
        limit = params.get("limit")
        limit = min(max(limit, 1), 100) if isinstance(limit, int) else 100
        timeout = params.get("timeout")
        timeout = max(float(timeout), 0.0) if isinstance(timeout, int | float) else 0.0

        self._poll_generation += 1
        generation = self._poll_generation
        self._notify()  # terminates an older long poll (409 Conflict)

        def ready() -> list[JSON] | bool:
            if generation != self._poll_generation:
                return True
            return self._deliverable(limit)

        await self._wait_until(ready, timeout)
        if generation != self._poll_generation:
            raise ApiError(409, CONFLICT_OTHER_POLL)
        delivered = self._deliverable(limit)
        self._record_deliveries(delivered)
        return delivered

    def _record_deliveries(self, updates: list[JSON]) -> None:
        """Remember when private chats last had an update delivered (messages to them are then replies)."""
        now = time.monotonic()
        for update in updates:
            message = update.get("message") or update.get("edited_message")
            if message is None and isinstance(update.get("callback_query"), dict):
                message = update["callback_query"].get("message")
            chat = message.get("chat") if isinstance(message, dict) else None
            if isinstance(chat, dict) and chat.get("type") == "private" and isinstance(chat.get("id"), int):
                self._last_delivery[chat["id"]] = now

    async def _set_webhook(self, params: JSON) -> bool:
        url = str(params.get("url", ""))
        if not url:
            return await self._delete_webhook(params)
        if not url.startswith(("https://", "http://127.0.0.1")):
            raise ApiError.bad_request("bad webhook: An HTTPS URL must be provided for webhook")
        secret = params.get("secret_token")
        if secret is not None and not re.fullmatch(r"[A-Za-z0-9_-]{1,256}", str(secret)):
            raise ApiError.bad_request("secret token contains unallowed characters")
        connections = params.get("max_connections", 40)
        if not isinstance(connections, int) or not 1 <= connections <= 100:
            raise ApiError.bad_request("bad webhook: max_connections must be between 1 and 100")
        self._webhook = {"url": url, "max_connections": connections}
        if secret is not None:
            self._webhook["secret_token"] = str(secret)
        allowed = params.get("allowed_updates")
        if isinstance(allowed, list):
            self._webhook["allowed_updates"] = allowed
            self._allowed_updates = frozenset(allowed) if allowed else DEFAULT_UPDATE_TYPES
        if params.get("drop_pending_updates"):
            self._updates.clear()
        self.webhook.start()
        self._notify()
        return True

    async def _delete_webhook(self, params: JSON) -> bool:
        self._webhook = {"url": ""}
        if params.get("drop_pending_updates"):
            self._updates.clear()
        return True

    async def _get_webhook_info(self, params: JSON) -> JSON:
        info = {k: v for k, v in self._webhook.items() if k != "secret_token"}  # Telegram never echoes it
        return {**info, "has_custom_certificate": False, "pending_update_count": len(self._updates)}

    @staticmethod
    def _commands_key(params: JSON) -> tuple[str, str]:
        scope = params.get("scope") or {"type": "default"}
        return json.dumps(scope, sort_keys=True), str(params.get("language_code") or "")

    async def _set_my_commands(self, params: JSON) -> bool:
        commands = params.get("commands")
        if not isinstance(commands, list) or len(commands) > 100:
            raise ApiError.bad_request("BOT_COMMANDS_TOO_MUCH" if isinstance(commands, list) else "commands is empty")
        for command in commands:
            name = command.get("command", "") if isinstance(command, dict) else ""
            description = command.get("description", "") if isinstance(command, dict) else ""
            if not (
                isinstance(name, str)
                and 1 <= len(name) <= 32
                and all(c.isascii() and (c.islower() or c.isdigit() or c == "_") for c in name)
            ):
                raise ApiError.bad_request("BOT_COMMAND_INVALID")
            if not isinstance(description, str) or not 1 <= len(description) <= 256:
                raise ApiError.bad_request("command description must be non-empty")
        self._commands[self._commands_key(params)] = [
            {"command": c["command"], "description": c["description"]} for c in commands
        ]
        return True

    async def _get_my_commands(self, params: JSON) -> list[JSON]:
        return list(self._commands.get(self._commands_key(params), []))

    async def _delete_my_commands(self, params: JSON) -> bool:
        self._commands.pop(self._commands_key(params), None)
        return True

    async def _send_message(self, params: JSON) -> JSON:
        chat_id = self._resolve_chat(params)
        parsed = self._parse_message_text(params)
        check_reply_markup(params.get("reply_markup"))
        reply = self._reply_fields(chat_id, params)
        self._admit_send(chat_id, params)
        message = self._store(
            chat_id,
            "sendMessage",
            params,
            text=params["text"],
            plain_text=parsed.text,
            entities=parsed.entities,
            **reply,
        )
        return self._telegram_message(message)

    def _message_to_edit(self, params: JSON) -> JSON:
        chat_id = self._resolve_chat(params)
        if params.get("message_id") is None:
            raise ApiError.bad_request("message identifier is not specified")
        message = self._find(chat_id, params["message_id"])
        if message is None:
            raise ApiError.bad_request("message to edit not found")
        return message

    def _apply_edit(self, message: JSON, method: str, **changes: Any) -> JSON:
        message["edits"].append(
            {
                "method": method,
                "text": message["text"],
                "parse_mode": message["parse_mode"],
                "reply_markup": message["reply_markup"],
                "caption": message["caption"],
                "replaced_at": int(time.time()),
            }
        )
        message.update(changes)
        message["edit_date"] = int(time.time())
        self._touch(message)
        return self._telegram_message(message)

    async def _edit_message_text(self, params: JSON) -> JSON | bool:
        if params.get("inline_message_id"):
            return True
        message = self._message_to_edit(params)
        if message["plain_text"] is None:
            raise ApiError.bad_request("there is no text in the message to edit")
        parsed = self._parse_message_text(params)
        markup = params.get("reply_markup")
        check_reply_markup(markup)
        markup = markup if isinstance(markup, dict) else None
        if (
            parsed.text == message["plain_text"]
            and parsed.entities == message["entities"]
            and markup == message["reply_markup"]
        ):
            raise ApiError.bad_request(NOT_MODIFIED)
        self._admit_edit(message["chat_id"])
        return self._apply_edit(
            message,
            "editMessageText",
            text=params["text"],
            plain_text=parsed.text,
            entities=parsed.entities,
            parse_mode=params.get("parse_mode"),
            reply_markup=markup,
        )

    async def _edit_message_reply_markup(self, params: JSON) -> JSON | bool:
        if params.get("inline_message_id"):
            return True
        message = self._message_to_edit(params)
        markup = params.get("reply_markup")
        check_reply_markup(markup)
        markup = markup if isinstance(markup, dict) else None
        if markup == message["reply_markup"]:
            raise ApiError.bad_request(NOT_MODIFIED)
        self._admit_edit(message["chat_id"])
        return self._apply_edit(message, "editMessageReplyMarkup", reply_markup=markup)

    async def _delete_message(self, params: JSON) -> bool:
        chat_id = self._resolve_chat(params)
        message = self._find(chat_id, params.get("message_id"))
        if message is not None:
            message["deleted"] = True
            self._touch(message)
            return True
        message_id = params.get("message_id")
        if isinstance(message_id, int) and self._incoming.pop((chat_id, message_id), None) is not None:
            return True
        raise ApiError.bad_request("message to delete not found")

    async def _answer_callback_query(self, params: JSON) -> bool:
        query_id = str(params.get("callback_query_id"))
        if query_id not in self._callbacks or query_id in self._answers:
            raise ApiError.bad_request(QUERY_INVALID)
        text = params.get("text")
        if isinstance(text, str) and utf16_len(text) > MAX_CALLBACK_ANSWER:
            raise ApiError.bad_request("MESSAGE_TOO_LONG")
        self._answers[query_id] = params
        self._notify()
        return True

    async def _send_chat_action(self, params: JSON) -> bool:
        self._resolve_chat(params)
        if params.get("action") not in CHAT_ACTIONS:
            raise ApiError.bad_request("wrong parameter action in request")
        return True

    async def _set_chat_menu_button(self, params: JSON) -> bool:
        chat_id = self._param_chat_id(params) if params.get("chat_id") is not None else None
        button = params.get("menu_button") or {"type": "default"}
        if not isinstance(button, dict) or button.get("type") not in {"default", "commands", "web_app"}:
            raise ApiError.bad_request("can't parse menu button JSON object")
        self._menu_buttons[chat_id] = button
        return True

    async def _get_chat_menu_button(self, params: JSON) -> JSON:
        chat_id = self._param_chat_id(params) if params.get("chat_id") is not None else None
        return self._menu_buttons.get(chat_id) or self._menu_buttons.get(None) or {"type": "default"}

    async def _send_media(self, params: JSON, method: str, field: str) -> JSON:
        chat_id = self._resolve_chat(params)
        value = params.get(field)
        if value is None or value == "":
            raise ApiError.bad_request(f"there is no {field} in the request")
        caption = self._parse_caption(params)
        check_reply_markup(params.get("reply_markup"))
        reply = self._reply_fields(chat_id, params)
        self._admit_send(chat_id, params)
        file_fields, stored_file = self._file_object(value)
        if field == "photo":
            media: Any = [
                {**file_fields, "width": 90, "height": 90},
                {**file_fields, "file_id": file_fields["file_id"] + "_m", "width": 800, "height": 800},
            ]
        else:
            media = dict(file_fields)
            if isinstance(stored_file, UploadedFile):
                media["file_name"] = stored_file.filename
                if stored_file.content_type:
                    media["mime_type"] = stored_file.content_type
        message = self._store(
            chat_id,
            method,
            params,
            caption=caption.text if caption else None,
            caption_entities=caption.entities if caption else [],
            file=stored_file,
            **reply,
            **{field: media},
        )
        return self._telegram_message(message)

    async def _send_photo(self, params: JSON) -> JSON:
        return await self._send_media(params, "sendPhoto", "photo")

    async def _send_document(self, params: JSON) -> JSON:
        return await self._send_media(params, "sendDocument", "document")

    async def _get_chat(self, params: JSON) -> JSON:
        chat = self._chat(self._resolve_chat(params))
        if chat.get("username") and chat["type"] != "private":
            chat["active_usernames"] = [chat["username"]]
        return {
            **chat,
            "accent_color_id": 0,
            "max_reaction_count": 11,
            "accepted_gift_types": {
                "unlimited_gifts": True,
                "limited_gifts": True,
                "unique_gifts": True,
                "premium_subscription": True,
                "gifts_from_channels": True,
            },
        }

    def _chat_member(self, status: str, user: JSON, channel: _Channel | None = None) -> JSON:
        """A ChatMember object of *user* with *status* (an administrator's rights as in *channel*)."""
        if status == "kicked":
            return {"status": "kicked", "user": user, "until_date": 0}  # 0: banned forever
        if status != "administrator":
            return {"status": status, "user": user}
        member: JSON = {
            "status": "administrator",
            "user": user,
            "can_be_edited": False,  # the bot cannot change its own rights
            "is_anonymous": False,
            "can_manage_chat": True,
            "can_delete_messages": True,
            "can_manage_video_chats": True,
            "can_restrict_members": True,
            "can_promote_members": False,
            "can_change_info": True,
            "can_invite_users": True,
            "can_post_stories": True,
            "can_edit_stories": True,
            "can_delete_stories": True,
            # Newer than the in-repo spec (Bot API 10.1), which SpecChecker therefore reports as unknown;
            # Telegram sends it and aiogram >= 3.31 (Bot API 10.3) cannot parse the object without it.
            "can_send_welcome_messages": True,
        }
        if channel is not None:  # the rights that exist in channels only
            member["can_post_messages"] = channel.can_post_messages
            member["can_edit_messages"] = channel.can_edit_messages
            member["can_manage_direct_messages"] = False
        return member

    async def _get_chat_member(self, params: JSON) -> JSON:
        chat_id = self._resolve_chat(params)
        user_id = params.get("user_id")
        if not isinstance(user_id, int) or isinstance(user_id, bool) or user_id <= 0:
            raise ApiError.bad_request("invalid user_id specified")
        channel = self._channels.get(chat_id)
        if user_id == self.bot_id:
            return self._chat_member(channel.bot_status if channel else "member", self._bot_user(), channel)
        chat = self._chat(chat_id)
        if chat["type"] == "private" and user_id == chat_id:
            return self._chat_member("member", self._user(user_id, str(chat.get("first_name", "Test")), None))
        # Nobody else is known to be in any chat.
        return self._chat_member("left", self._user(user_id, f"User{user_id}", None))

    async def _get_chat_member_count(self, params: JSON) -> int:
        chat_id = self._resolve_chat(params)
        channel = self._channels.get(chat_id)
        return channel.members if channel is not None else 2  # other chats: the bot and one user

    def _generic(self, method: str, params: JSON) -> Any:
        """Any other spec method: accepted; a generic Message if the method returns one, else ``True``."""
        returns = self.spec.methods[method].get("returns", [])
        if _is_send(method) and returns == ["Message"] and params.get("chat_id") is not None:
            chat_id = self._resolve_chat(params)
            caption = self._parse_caption(params)
            self._admit_send(chat_id, params)
            message = self._store(chat_id, method, params, caption=caption.text if caption else None)
            return self._telegram_message(message)
        edited_chat = self._lookup_chat_id(params)
        if self.count_edits and _is_edit(method) and edited_chat is not None:
            self._admit_edit(edited_chat)
        return True

    # ------------------------------------------------------------------ channels
    def add_channel(
        self,
        chat_id: int,
        *,
        username: str | None = None,
        title: str | None = None,
        members: int = 0,
        bot_status: str = "administrator",
        can_post_messages: bool = True,
        can_edit_messages: bool = True,
    ) -> None:
        """Register the channel *chat_id* (``-100...``), the bot being *bot_status* in it.

        The channel is then found by its id or by ``"@username"`` (case-insensitive; *username* with or
        without the ``@``): ``getChat`` answers a ChatFullInfo of type ``channel``, ``getChatMemberCount``
        *members*, and ``getChatMember`` for the bot's own id a ChatMember with *bot_status*
        (``administrator``, ``member``, ``left`` or ``kicked``) and, for an administrator,
        *can_post_messages* / *can_edit_messages*; anybody else is ``left``.

        Posts (by id or ``@username``) are stored under the numeric id (:meth:`messages`) and returned
        with ``sender_chat`` = the channel and no ``from``, as Telegram does. They need the bot to be an
        administrator with *can_post_messages*, edits one with *can_post_messages* or *can_edit_messages*;
        otherwise they are refused as by Telegram (see :meth:`_apply_channel_rights`). Flood limits treat a
        channel like a group: ``group_per_min`` (Telegram: 20 posts a minute) per channel, plus the global
        window (:meth:`set_rate_limit`).

        Calling it again replaces the registration (posts already stored stay); :meth:`set_channel_rights`
        changes the bot's rights only, e.g. to demote or remove the bot in the middle of a test.
        """
        if chat_id > MAX_CHANNEL_ID:
            raise ValueError(f"{chat_id} is not a channel id: those are -100 followed by the channel's id")
        self._check_channel_status(bot_status)
        if members < 0:
            raise ValueError("members must not be negative")
        name = username.removeprefix("@") if username else None
        if name:
            owner = self._username_chat_id("@" + name)
            if owner is not None and owner != chat_id:
                raise ValueError(f"@{name} is already the username of chat {owner}")
        chat: JSON = {"id": chat_id, "type": "channel", "title": title or f"Channel {chat_id}"}
        if name:
            chat["username"] = name
        self._chats[chat_id] = chat
        self._channels[chat_id] = _Channel(members, bot_status, can_post_messages, can_edit_messages)

    def set_channel_rights(
        self,
        chat_id: int,
        *,
        bot_status: str | None = None,
        can_post_messages: bool | None = None,
        can_edit_messages: bool | None = None,
    ) -> None:
        """Change what the bot is in the registered channel *chat_id* (arguments left ``None`` stay as they are).

        E.g. ``set_channel_rights(ch, can_post_messages=False)`` (posts: 400 ``need administrator rights in
        the channel chat``) or ``set_channel_rights(ch, bot_status="left")`` (403 ``bot is not a member of
        the channel chat``). No ``my_chat_member`` update is sent.
        """
        channel = self._channels.get(chat_id)
        if channel is None:
            raise KeyError(f"{chat_id} is not a registered channel (see add_channel)")
        if bot_status is not None:
            self._check_channel_status(bot_status)
            channel.bot_status = bot_status
        if can_post_messages is not None:
            channel.can_post_messages = can_post_messages
        if can_edit_messages is not None:
            channel.can_edit_messages = can_edit_messages

    @staticmethod
    def _check_channel_status(bot_status: str) -> None:
        if bot_status not in CHANNEL_BOT_STATUSES:
            raise ValueError(f"bot_status {bot_status!r} is not one of {sorted(CHANNEL_BOT_STATUSES)}")

    # ------------------------------------------------------------------ injecting updates
    def inject_update(self, payload: JSON) -> JSON:
        """Enqueue a raw update (``update_id`` is assigned); returns the update."""
        return self._enqueue(payload)

    def send_text(
        self,
        user_id: int,
        text: str,
        *,
        language_code: str | None = "en",
        first_name: str = "Test",
        chat_id: int | None = None,
        chat_type: str = "private",
    ) -> JSON:
        """Enqueue a ``message`` update: *user_id* writes *text* (private chat with the bot by default).

        A leading ``/command`` (or ``/command@botname``) gets a ``bot_command`` entity.
        """
        user = self._user(user_id, first_name, language_code)
        chat_id = user_id if chat_id is None else chat_id
        if chat_type == "private":
            chat: JSON = {"id": chat_id, "type": "private", "first_name": first_name}
        else:
            chat = self._chats.get(chat_id) or {"id": chat_id, "type": chat_type, "title": f"Test {chat_type}"}
        self._chats[chat_id] = chat
        message: JSON = {
            "message_id": self._next_message_id(chat_id),
            "from": user,
            "chat": dict(chat),
            "date": int(time.time()),
            "text": text,
        }
        if text.startswith("/") and len(text) > 1:
            command = text.split(maxsplit=1)[0]
            message["entities"] = [{"type": "bot_command", "offset": 0, "length": utf16_len(command)}]
        self._incoming[(chat_id, message["message_id"])] = message
        return self._enqueue({"message": message})

    @staticmethod
    def _user(user_id: int, first_name: str, language_code: str | None) -> JSON:
        user: JSON = {"id": user_id, "is_bot": False, "first_name": first_name}
        if language_code is not None:
            user["language_code"] = language_code
        return user

    def tap(
        self,
        user_id: int,
        message: JSON | int,
        data_or_button_text: str,
        *,
        chat_id: int | None = None,
        language_code: str | None = "en",
        first_name: str = "Test",
    ) -> str:
        """Enqueue a ``callback_query``: *user_id* presses a button of a stored bot message.

        *message* is a stored message dict or a message id in *chat_id* (default: the
        user's private chat). If *data_or_button_text* is the visible text of a button of
        the message's current inline keyboard, that button's ``callback_data`` is sent;
        otherwise the string itself is sent as raw callback data. Returns the query id.
        """
        if isinstance(message, dict):
            chat_id, message_id = message["chat_id"], message["message_id"]
        else:
            chat_id, message_id = (user_id if chat_id is None else chat_id), message
        stored = self._find(chat_id, message_id)
        if stored is None:
            raise AssertionError(
                f"tap(): there is no bot message #{message_id} in chat {chat_id}.\n{self._describe_chat(chat_id)}"
            )
        data = data_or_button_text
        for button in inline_buttons(stored["reply_markup"]):
            if button.get("text") == data_or_button_text:
                if "callback_data" not in button:
                    raise AssertionError(f"tap(): button {data_or_button_text!r} has no callback_data: {button}")
                data = button["callback_data"]
                break
        query_id = str(next(self._callback_ids))
        query: JSON = {
            "id": query_id,
            "from": self._user(user_id, first_name, language_code),
            "message": self._telegram_message(stored),
            "chat_instance": str(abs(chat_id) * 7919 + 13),
            "data": data,
        }
        self._callbacks[query_id] = query
        self._enqueue({"callback_query": query})
        return query_id

    def buttons(self, message: JSON | int, *, chat_id: int | None = None) -> list[tuple[str, str]]:
        """(text, callback_data) of the current inline keyboard ('' for non-callback buttons).

        *message* is a stored message dict, or a message id together with *chat_id*.
        """
        if isinstance(message, dict):
            stored = self._find(message["chat_id"], message["message_id"]) or message
        else:
            if chat_id is None:
                raise TypeError("buttons(message_id) needs chat_id=")
            stored = self._find(chat_id, message) or {}
        return [(b.get("text", ""), b.get("callback_data", "")) for b in inline_buttons(stored.get("reply_markup"))]

    # ------------------------------------------------------------------ reading what the bot did
    def messages(self, chat_id: int, *, include_deleted: bool = False) -> list[JSON]:
        """Bot messages in *chat_id*, oldest first, in their current (edited) state.

        Posts to a channel addressed by ``@username`` are here under the channel's numeric id.
        """
        return [m for m in self._messages.get(chat_id, []) if include_deleted or not m["deleted"]]

    def message(self, chat_id: int, message_id: int) -> JSON | None:
        """A stored (not deleted) bot message, or ``None``."""
        return self._find(chat_id, message_id)

    def calls(self, method: str) -> list[JSON]:
        """Params of every call of *method* (case-insensitive), in order."""
        return [params for name, params in self.requests if name.lower() == method.lower()]

    def chat(self, chat_id: int) -> JSON:
        """The Chat object of *chat_id* (a registered channel's title and username, a private chat's name)."""
        return self._chat(chat_id)

    def incoming(self, chat_id: int) -> list[JSON]:
        """The messages people wrote in *chat_id* (:meth:`send_text`), oldest first."""
        return [message for (chat, _), message in self._incoming.items() if chat == chat_id]

    def menu_commands(self, chat_id: int, language_code: str | None) -> list[JSON]:
        """The command menu a user of *language_code* sees in their private chat *chat_id*, as Telegram picks it:
        the first scope with commands of chat, all private chats, then default; each in the user's language first.
        """
        language = (language_code or "").split("-")[0]
        scopes = ({"type": "chat", "chat_id": chat_id}, {"type": "all_private_chats"}, {"type": "default"})
        for scope in scopes:
            for code in (language, ""):
                found = self._commands.get(self._commands_key({"scope": scope, "language_code": code}))
                if found:
                    return list(found)
        return []

    def commands(self, scope: JSON | None = None, language_code: str = "") -> list[JSON]:
        """Commands currently set for *scope* (default scope) and *language_code*."""
        return list(self._commands.get(self._commands_key({"scope": scope, "language_code": language_code}), []))

    def menu_button(self, chat_id: int | None = None) -> JSON | None:
        """The menu button set for *chat_id* (``None``: the default one), if any."""
        return self._menu_buttons.get(chat_id)

    def pending_updates(self) -> int:
        """Updates injected but not yet confirmed through ``getUpdates(offset=...)``."""
        return len(self._updates)

    def unanswered_callbacks(self) -> list[str]:
        """Ids of injected callback queries the bot never answered."""
        return [query_id for query_id in self._callbacks if query_id not in self._answers]

    def assert_no_spec_violations(self) -> None:
        """Fail with the list of spec violations, if any."""
        if self.spec_violations:
            raise AssertionError("Bot API spec violations:\n  " + "\n  ".join(self.spec_violations))

    @staticmethod
    def _matches_text(message: JSON, contains: str) -> bool:
        return any(
            isinstance(value, str) and contains in value
            for value in (message["text"], message["plain_text"], message["caption"])
        )

    async def wait_for_message(
        self,
        chat_id: int,
        *,
        contains: str | None = None,
        timeout: float = 5.0,
        after: int | None = None,
    ) -> JSON:
        """Wait for a bot message in *chat_id* (sent or edited, possibly already there).

        Matches messages whose text/caption contains *contains* (raw or visible text)
        and whose ``message_id`` is greater than *after*; returns the most recently
        sent-or-edited match. Raises ``AssertionError`` describing the chat on timeout.
        """

        def find() -> JSON | None:
            matches = [
                m
                for m in self.messages(chat_id)
                if (after is None or m["message_id"] > after) and (contains is None or self._matches_text(m, contains))
            ]
            return max(matches, key=lambda m: m["seq"]) if matches else None

        found = await self._wait_until(find, timeout)
        if found is None:
            wanted = f"containing {contains!r}" if contains is not None else "at all"
            raise AssertionError(
                f"No bot message {wanted} in chat {chat_id}"
                + (f" with message_id > {after}" if after is not None else "")
                + f" within {timeout}s.\n{self._describe_chat(chat_id)}"
            )
        return found

    async def wait_until(self, predicate: Callable[[], Any], timeout: float = 5.0) -> Any:
        """Wait until ``predicate()`` (re-evaluated after every change) is truthy; return its value.

        One waiter for many chats: cheaper than many ``wait_for_message`` calls, which would all wake
        on every message. Raises ``AssertionError`` on timeout.
        """
        found = await self._wait_until(predicate, timeout)
        if not found:
            raise AssertionError(f"condition not met within {timeout}s")
        return found

    async def wait_for_answer(self, callback_query_id: str, timeout: float = 5.0) -> JSON:
        """Wait until the bot answers callback query *callback_query_id*; return the answer's params."""
        found = await self._wait_until(lambda: self._answers.get(callback_query_id), timeout)
        if found is None:
            known = "" if callback_query_id in self._callbacks else " (no such injected query!)"
            raise AssertionError(
                f"Callback query {callback_query_id}{known} was not answered within {timeout}s. "
                f"Unanswered: {self.unanswered_callbacks()}"
            )
        return dict(found)

    def _describe_chat(self, chat_id: int) -> str:
        lines = [f"Bot messages in chat {chat_id}:"]
        for m in self.messages(chat_id, include_deleted=True):
            body = m["text"] if m["text"] is not None else f"[{m['method']}] caption={m['caption']!r}"
            flags = " (deleted)" if m["deleted"] else ""
            flags += f" (edited {len(m['edits'])}x)" if m["edits"] else ""
            buttons = self.buttons(m) if not m["deleted"] else []
            lines.append(f"  #{m['message_id']}{flags}: {body!r:.300}" + (f" buttons={buttons}" if buttons else ""))
        if len(lines) == 1:
            lines.append("  (none)")
        failed = [(name, err) for name, params, err in self.errors if self._lookup_chat_id(params) == chat_id]
        if failed:
            lines.append("Failed calls for this chat:")
            lines.extend(f"  {name}: {err}" for name, err in failed[-10:])
        return "\n".join(lines)

    # ------------------------------------------------------------------ error injection
    def fail_next(self, method: str, error: ApiError, *, chat_id: int | None = None, times: int = 1) -> None:
        """Make the next *times* calls of *method* (optionally only for *chat_id*) fail with *error*."""
        self._failures.append(_Failure(method.lower(), error, chat_id, times))

    def block(self, chat_id: int) -> None:
        """The user blocked the bot: sends/edits to *chat_id* get 403 ``bot was blocked by the user``."""
        self._chat_errors[chat_id] = ApiError.blocked()

    def unblock(self, chat_id: int) -> None:
        """Undo :meth:`block`, :meth:`deactivate` or :meth:`forget_chat` for *chat_id*."""
        self._chat_errors.pop(chat_id, None)

    def deactivate(self, chat_id: int) -> None:
        """The user deleted their account: sends/edits get 403 ``user is deactivated``."""
        self._chat_errors[chat_id] = ApiError.deactivated()

    def forget_chat(self, chat_id: int) -> None:
        """Every call naming *chat_id* gets 400 ``chat not found``."""
        self._chat_errors[chat_id] = ApiError.chat_not_found()

    def delay(self, method: str, seconds: float) -> None:
        """Every call of *method* waits *seconds* before being handled (0 removes the delay)."""
        if seconds > 0:
            self._delays[method.lower()] = seconds
        else:
            self._delays.pop(method.lower(), None)

    def set_rate_limit(
        self,
        global_per_sec: float | None = 30,
        per_chat_per_sec: float | None = 1,
        group_per_min: float | None = 20,
        *,
        per_chat_burst: int = 3,
        count_edits: bool = False,
        reply_window: float | None = 5.0,
    ) -> None:
        """Enforce Telegram-like flood limits on message sends (see :class:`RateLimiter`).

        ``group_per_min`` applies to each group, supergroup and channel (negative ids; posts to a
        channel by ``@username`` count under its id), on top of the global window.

        * ``count_edits`` - edits (``editMessageText``, ``editMessageReplyMarkup``, other
          ``editMessage*``) also count in the global per-second window (not in the per-chat or group
          limits). Off by default, which keeps the limits of tests written before it existed; turn it on
          to check that a bot budgets its progress edits together with its sends.
        * ``reply_window`` - a message or edit to a private chat from which ``getUpdates`` delivered a
          message or callback query in the last ``reply_window`` seconds is a reply, not bulk: it is not
          counted in the global window (nor in ``send_times``); the per-chat limit still applies.
          ``None`` turns this off.

        Both settings also decide what ``send_times`` / :meth:`max_in_window` count, and stay in
        effect after :meth:`clear_rate_limit`.

        The one-second windows end at the moment this loop reads a request. When the loop was held just before
        (requests that reached the socket meanwhile are read together), they are narrowed by its lateness of the
        last second (``loop_lag``, at most a quarter of a second): the double judges arrivals no stricter than it
        can see them, as Telegram, on its own machines, would.
        """
        self._limiter = RateLimiter(global_per_sec, per_chat_per_sec, group_per_min, per_chat_burst)
        self.count_edits = count_edits
        self.reply_window = reply_window

    def clear_rate_limit(self) -> None:
        """Stop enforcing flood limits."""
        self._limiter = None

    def max_in_window(self, seconds: float = 1.0) -> int:
        """The largest number of counted requests (``send_times``) in any window of *seconds* seconds.

        E.g. ``assert api.max_in_window() <= 30`` checks that a bot kept to Telegram's 30 messages/s.
        A window is half-open: requests exactly *seconds* apart are not in the same window. Like the flood
        limits, it allows for this loop's lateness when each request was read (``loop_lag``).
        """
        allowances = self._send_allowances if len(self._send_allowances) == len(self.send_times) else None
        return max_in_window(self.send_times, seconds, allowances)  # (None: a test set send_times itself)

    def burst_429(self, seconds: float, retry_after: int, *, methods: Iterable[str] | None = None) -> None:
        """For the next *seconds* seconds, every message send answers 429 ``retry after <retry_after>``.

        Like a flood wait imposed on the whole bot token. *methods* (case-insensitive) replaces "every
        message send" (``send*`` but ``sendChatAction``, ``copyMessage(s)``, ``forwardMessage(s)``).
        Counted in ``faults_injected["burst_429"]`` and ``errors``, not in ``rate_limited``; it takes
        precedence over :meth:`set_faults`. ``burst_429(0, ...)`` ends a burst early.
        """
        if seconds <= 0:
            self._burst = None
            return
        self._burst = (time.monotonic() + seconds, retry_after, FaultPlan.method_set(methods))

    def set_faults(
        self,
        *,
        server_error: float = 0.0,
        slow: float = 0.0,
        slow_seconds: float = 30.0,
        slow_delivers: bool = False,
        html_502: float = 0.0,
        reset: float = 0.0,
        seed: int | None = None,
        methods: Iterable[str] | None = DEFAULT_FAULT_METHODS,
    ) -> int:
        """Make a random share of the requests to *methods* fail like the network in front of Telegram does.

        Every request to one of *methods* (case-insensitive; default :data:`DEFAULT_FAULT_METHODS`, the
        methods that post or edit a message; ``None``: every method, ``getUpdates`` included) draws once;
        the kinds are exclusive and their probabilities must add up to at most 1:

        * ``server_error`` - a JSON Bot API error ``500 Internal Server Error`` or ``502 Bad Gateway``
          (aiogram: ``TelegramServerError``); the call has no effect.
        * ``slow`` - the answer takes ``slow_seconds`` (default 30 s, beyond aiogram's and the bot's
          timeouts; :meth:`stop` cuts it short; a client that gives up closes the connection, which ends
          it). With ``slow_delivers=False`` the request is stuck before Telegram handled it: the message
          is not stored unless the client waits the full ``slow_seconds`` (then it is handled normally).
          With ``slow_delivers=True`` the call is handled at once (the message *is* stored and counted)
          and only the answer is late - as when Telegram delivered a message whose answer was lost, so a
          retrying client sends a duplicate. (aiogram: ``TelegramNetworkError`` "Request timeout error".)
        * ``html_502`` - status 502 with nginx's HTML "502 Bad Gateway" page (``Content-Type:
          text/html``), as the proxy in front of the Bot API answers while it restarts; the call has no
          effect. aiogram cannot parse it: ``ClientDecodeError`` - *not* a ``TelegramAPIError``.
        * ``reset`` - the connection is reset (TCP RST) without an answer; the call has no effect.
          (aiogram: ``TelegramNetworkError`` wrapping aiohttp's ``ClientOSError`` /
          ``ServerDisconnectedError``.)

        Faulted requests are still recorded in ``requests`` and spec-checked; they are counted in
        ``faults_injected`` and listed in ``fault_log``. *seed* makes the draws reproducible; without it a
        random seed is chosen. Returns the seed (also in ``fault_seed``), so a failing run can be replayed.
        Calling it again replaces the previous settings; :meth:`clear_faults` removes them.
        """
        if seed is None:
            seed = random.SystemRandom().randrange(2**32)
        self._faults = FaultPlan(
            server_error=server_error,
            slow=slow,
            html_502=html_502,
            reset=reset,
            slow_seconds=slow_seconds,
            slow_delivers=slow_delivers,
            methods=FaultPlan.method_set(methods),
            seed=seed,
        )
        self.fault_seed = seed
        return seed

    def redirect_next(self, method: str, times: int = 1, *, chat_id: int | None = None) -> None:
        """The next *times* calls of *method* (optionally only for *chat_id*) are redirected in a loop, as by
        a misconfigured proxy (aiohttp gives up with ``TooManyRedirects``)."""
        key = (method.lower(), chat_id)
        self._redirects[key] = self._redirects.get(key, 0) + times

    def _take_redirect(self, method: str, params: JSON) -> bool:
        for key in ((method.lower(), self._lookup_chat_id(params)), (method.lower(), None)):
            if self._redirects.get(key, 0) > 0:
                self._redirects[key] -= 1
                return True
        return False

    def clear_faults(self) -> None:
        """Stop injecting :meth:`set_faults` faults and end a :meth:`burst_429` (counters are kept)."""
        self._faults = None
        self._burst = None
