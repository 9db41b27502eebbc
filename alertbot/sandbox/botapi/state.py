"""Error objects, fault injection and rate limiting for the fake Bot API server."""

from __future__ import annotations

import bisect
import math
import random
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "BUTTON_ACTIONS",
    "DEFAULT_FAULT_METHODS",
    "FAULT_KINDS",
    "NGINX_502_HTML",
    "ApiError",
    "FaultPlan",
    "RateLimiter",
    "UploadedFile",
    "check_reply_markup",
    "inline_buttons",
]


@dataclass(eq=False)
class ApiError(Exception):
    """A Telegram error reply (``{"ok": false, ...}``).

    Use the constructors for Telegram's real errors, e.g. ``ApiError.blocked()``.
    Handlers inside the fake server raise it; tests pass it to ``fail_next``.
    """

    error_code: int
    description: str
    retry_after: int | None = None
    migrate_to_chat_id: int | None = None

    def __str__(self) -> str:
        return f"{self.error_code} {self.description}"

    def to_payload(self) -> dict[str, Any]:
        """The JSON body Telegram would send for this error."""
        payload: dict[str, Any] = {"ok": False, "error_code": self.error_code, "description": self.description}
        parameters: dict[str, int] = {}
        if self.retry_after is not None:
            parameters["retry_after"] = self.retry_after
        if self.migrate_to_chat_id is not None:
            parameters["migrate_to_chat_id"] = self.migrate_to_chat_id
        if parameters:
            payload["parameters"] = parameters
        return payload

    # -- Telegram's real errors ----------------------------------------------------
    @classmethod
    def bad_request(cls, detail: str) -> ApiError:
        """400 ``Bad Request: <detail>``."""
        return cls(400, f"Bad Request: {detail}")

    @classmethod
    def too_many_requests(cls, retry_after: int) -> ApiError:
        """429 flood-wait error with ``parameters.retry_after``."""
        return cls(429, f"Too Many Requests: retry after {retry_after}", retry_after=retry_after)

    @classmethod
    def blocked(cls) -> ApiError:
        """403: the user blocked the bot."""
        return cls(403, "Forbidden: bot was blocked by the user")

    @classmethod
    def deactivated(cls) -> ApiError:
        """403: the user deleted their account."""
        return cls(403, "Forbidden: user is deactivated")

    @classmethod
    def chat_not_found(cls) -> ApiError:
        """400: unknown chat."""
        return cls.bad_request("chat not found")

    @classmethod
    def need_channel_admin(cls) -> ApiError:
        """400: the bot is in the channel, but not an administrator allowed to post (or edit) there."""
        return cls.bad_request("need administrator rights in the channel chat")

    @classmethod
    def not_channel_member(cls) -> ApiError:
        """403: the bot is not (or no longer) in the channel."""
        return cls(403, "Forbidden: bot is not a member of the channel chat")

    @classmethod
    def kicked_from_channel(cls) -> ApiError:
        """403: the bot was banned from the channel."""
        return cls(403, "Forbidden: bot was kicked from the channel chat")

    @classmethod
    def reply_not_found(cls) -> ApiError:
        """400: ``reply_parameters`` names a message that does not exist (and sending without reply is not allowed)."""
        return cls.bad_request("message to be replied not found")

    @classmethod
    def migrated(cls, new_id: int) -> ApiError:
        """400: the group became a supergroup; ``parameters.migrate_to_chat_id`` holds the new id."""
        return cls(400, "Bad Request: group chat was upgraded to a supergroup chat", migrate_to_chat_id=new_id)

    @classmethod
    def server_error(cls) -> ApiError:
        """500 Internal Server Error."""
        return cls(500, "Internal Server Error")

    @classmethod
    def bad_gateway(cls) -> ApiError:
        """502 Bad Gateway (what Telegram's front-ends answer while the backend restarts)."""
        return cls(502, "Bad Gateway")

    @classmethod
    def unauthorized(cls) -> ApiError:
        """401: wrong bot token."""
        return cls(401, "Unauthorized")

    @classmethod
    def method_not_found(cls) -> ApiError:
        """404: unknown method."""
        return cls(404, "Not Found: method not found")


#: Kinds of injected faults, the keys of ``FakeBotAPI.faults_injected``.
FAULT_KINDS = ("server_error", "slow", "html_502", "reset", "burst_429")

#: Methods :meth:`FakeBotAPI.set_faults` affects by default: those that post or change a message.
DEFAULT_FAULT_METHODS = (
    "sendMessage",
    "sendPhoto",
    "sendDocument",
    "copyMessage",
    "forwardMessage",
    "editMessageText",
    "editMessageReplyMarkup",
    "editMessageCaption",
)

#: What a reverse proxy (nginx in front of api.telegram.org) answers while its upstream is down.
NGINX_502_HTML = (
    "<html>\r\n"
    "<head><title>502 Bad Gateway</title></head>\r\n"
    "<body>\r\n"
    "<center><h1>502 Bad Gateway</h1></center>\r\n"
    "<hr><center>nginx/1.18.0</center>\r\n"
    "</body>\r\n"
    "</html>\r\n"
)


@dataclass
class FaultPlan:
    """Random transport and server faults for :meth:`FakeBotAPI.set_faults`.

    Each request to one of ``methods`` (case-insensitive; ``None``: every method) draws once from a
    seeded RNG: with probability ``server_error`` it gets a JSON 500/502 error, ``slow`` it is held for
    ``slow_seconds``, ``html_502`` it gets nginx's HTML 502 page, ``reset`` its connection is reset.
    The kinds are exclusive, so the probabilities must add up to at most 1.
    """

    server_error: float = 0.0
    slow: float = 0.0
    html_502: float = 0.0
    reset: float = 0.0
    slow_seconds: float = 30.0
    slow_delivers: bool = False
    methods: frozenset[str] | None = field(default_factory=lambda: frozenset(m.lower() for m in DEFAULT_FAULT_METHODS))
    seed: int = 0

    def __post_init__(self) -> None:
        chances = {
            "server_error": self.server_error,
            "slow": self.slow,
            "html_502": self.html_502,
            "reset": self.reset,
        }
        for name, chance in chances.items():
            if not 0.0 <= chance <= 1.0:
                raise ValueError(f"{name}={chance}: a probability must be between 0 and 1")
        if sum(chances.values()) > 1.0 + 1e-9:
            raise ValueError(f"fault probabilities add up to more than 1: {chances}")
        if self.slow_seconds < 0:
            raise ValueError("slow_seconds must not be negative")
        self._chances = [(name, chance) for name, chance in chances.items() if chance > 0]
        self._rng = random.Random(self.seed)

    @staticmethod
    def method_set(methods: Iterable[str] | None) -> frozenset[str] | None:
        """Lower-cased method names (``None`` stays ``None``: every method)."""
        if isinstance(methods, str):
            methods = [methods]
        return None if methods is None else frozenset(m.lower() for m in methods)

    def applies_to(self, method: str) -> bool:
        """Whether requests to *method* are subject to faults."""
        return self.methods is None or method.lower() in self.methods

    def draw(self, method: str) -> str | None:
        """The fault for one request to *method* (a :data:`FAULT_KINDS` name), or ``None``."""
        if not self._chances or not self.applies_to(method):
            return None
        roll = self._rng.random()
        for name, chance in self._chances:
            if roll < chance:
                return name
            roll -= chance
        return None

    def server_error_code(self) -> int:
        """500 or 502, at random (both are what Telegram answers while it is in trouble)."""
        return self._rng.choice((500, 502))


def max_in_window(times: Iterable[float], seconds: float = 1.0, allowances: Iterable[float] | None = None) -> int:
    """The largest number of `times` in any half-open window of `seconds` seconds.

    `allowances` (one per time): the window ending at a time is narrowed by its allowance, as the rate limiter
    judged it (the double's loop was late then, see :class:`~.lag.LoopLag`).
    """
    pairs = sorted(zip(times, allowances, strict=True) if allowances is not None else ((t, 0.0) for t in times))
    ordered = [moment for moment, _ in pairs]
    best = 0
    for end, (moment, allowance) in enumerate(pairs):
        start = bisect.bisect_right(ordered, moment - seconds + allowance, hi=end)
        best = max(best, end - start + 1)
    return best


class RateLimiter:
    """Telegram-like flood limits.

    * global: at most ``global_per_sec`` messages in any sliding 1-second window
      (1000/s for messages sent with ``allow_paid_broadcast``);
    * private chats (positive ids): a token bucket refilled at ``per_chat_per_sec``
      per second holding ``max(per_chat_burst, per_chat_per_sec)`` tokens, i.e.
      ~1 message/s sustained with short bursts allowed;
    * groups, supergroups and channels (negative ids): at most ``group_per_min``
      messages per chat in any sliding 60-second window (Telegram: 20/min).

    Any limit set to ``None`` is not enforced. Only accepted messages count. Which requests are
    checked against which limit is up to the caller (:class:`FakeBotAPI`): edits are counted in the
    global window only (``count_global=True, count_chat=False``) and replies to someone who just
    wrote only per chat (``count_global=False``).
    """

    PAID_BROADCAST_PER_SEC = 1000.0

    def __init__(
        self,
        global_per_sec: float | None = 30,
        per_chat_per_sec: float | None = 1,
        group_per_min: float | None = 20,
        per_chat_burst: int = 3,
    ) -> None:
        self.global_per_sec = global_per_sec
        self.per_chat_per_sec = per_chat_per_sec
        self.group_per_min = group_per_min
        self.per_chat_burst = per_chat_burst
        self._global: deque[float] = deque()
        self._paid: deque[float] = deque()
        self._groups: dict[int, deque[float]] = {}
        self._buckets: dict[int, tuple[float, float]] = {}  # chat -> (tokens, last refill time)

    @staticmethod
    def _window_wait(times: deque[float], limit: float, window: float, now: float, allowance: float = 0.0) -> float:
        """0.0 if one more fits the window ending at *now*, narrowed by *allowance* at its old end; else how long
        until it does (*times* keeps the whole window: the next call may allow less)."""
        while times and times[0] <= now - window:
            times.popleft()
        start = now - window + allowance
        inside = len(times) - bisect.bisect_right(times, start) if allowance > 0 else len(times)
        if inside < limit:
            return 0.0
        # The newest message that must leave the window before another one fits.
        index = len(times) - inside + math.floor(inside - limit)
        return times[index] + window - allowance - now

    def _bucket_capacity(self) -> float:
        assert self.per_chat_per_sec is not None
        return max(float(self.per_chat_burst), self.per_chat_per_sec)

    def _bucket_tokens(self, chat_id: int, now: float) -> float:
        assert self.per_chat_per_sec is not None
        capacity = self._bucket_capacity()
        tokens, last = self._buckets.get(chat_id, (capacity, now))
        return min(capacity, tokens + (now - last) * self.per_chat_per_sec)

    def check(
        self,
        chat_id: int | None,
        now: float,
        *,
        paid: bool = False,
        count_global: bool = True,
        count_chat: bool = True,
        allowance: float = 0.0,
    ) -> int | None:
        """Return ``retry_after`` seconds if a message to *chat_id* now exceeds a limit, else record it.

        ``count_global=False`` leaves the global (or paid) window out, ``count_chat=False`` the
        per-chat and per-group limits. ``allowance``: how late *now* may be against the request's real
        arrival (the caller's event loop was held, see :class:`~.lag.LoopLag`); the one-second windows are
        narrowed by it.
        """
        waits: list[float] = []
        if count_global and paid:
            waits.append(self._window_wait(self._paid, self.PAID_BROADCAST_PER_SEC, 1.0, now, allowance))
        elif count_global and self.global_per_sec is not None:
            waits.append(self._window_wait(self._global, self.global_per_sec, 1.0, now, allowance))
        group = chat_id if count_chat and chat_id is not None and chat_id < 0 else None
        private = chat_id if count_chat and chat_id is not None and chat_id > 0 else None
        if group is not None and self.group_per_min is not None:
            times = self._groups.setdefault(group, deque())
            waits.append(self._window_wait(times, self.group_per_min, 60.0, now))
        if private is not None and self.per_chat_per_sec is not None:
            tokens = self._bucket_tokens(private, now)
            if tokens < 1.0:
                waits.append((1.0 - tokens) / self.per_chat_per_sec)
        wait = max(waits, default=0.0)
        if wait > 0:
            return max(1, math.ceil(wait))
        # Accepted: record it everywhere it counts.
        if count_global:
            (self._paid if paid else self._global).append(now)
        if group is not None:
            self._groups.setdefault(group, deque()).append(now)
        if private is not None and self.per_chat_per_sec is not None:
            self._buckets[private] = (self._bucket_tokens(private, now) - 1.0, now)
        return None


@dataclass(eq=False)
class UploadedFile:
    """A file received in a multipart request (``sendPhoto``/``sendDocument`` uploads)."""

    filename: str
    content_type: str | None
    data: bytes

    @property
    def size(self) -> int:
        """Size of the upload in bytes."""
        return len(self.data)

    def __repr__(self) -> str:
        return f"UploadedFile({self.filename!r}, {self.content_type!r}, {self.size} bytes)"


#: InlineKeyboardButton fields of which exactly one must be set (Bot API 10.1).
BUTTON_ACTIONS = frozenset(
    {
        "url",
        "callback_data",
        "web_app",
        "login_url",
        "switch_inline_query",
        "switch_inline_query_current_chat",
        "switch_inline_query_chosen_chat",
        "copy_text",
        "callback_game",
        "pay",
    }
)


def check_reply_markup(markup: Any) -> None:
    """Validate *markup* like Telegram does; raise :class:`ApiError` (400) if it is rejected."""
    if markup is None:
        return
    if not isinstance(markup, dict):
        raise ApiError.bad_request("can't parse reply keyboard markup JSON object")
    if "inline_keyboard" not in markup:
        return  # reply keyboards, ReplyKeyboardRemove, ForceReply: accepted as is
    rows = markup["inline_keyboard"]
    if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
        raise ApiError.bad_request('field "inline_keyboard" of the InlineKeyboardMarkup should be an Array of Arrays')
    for row in rows:
        for button in row:
            if not isinstance(button, dict) or not isinstance(button.get("text"), str):
                raise ApiError.bad_request('can\'t find field "text"')
            actions = BUTTON_ACTIONS & button.keys()
            if not actions:
                raise ApiError.bad_request(
                    "can't parse inline keyboard button: Text buttons are unallowed in the inline keyboard"
                )
            if "callback_data" in button:
                data = button["callback_data"]
                if not isinstance(data, str) or not 1 <= len(data.encode("utf-8")) <= 64:
                    raise ApiError.bad_request("BUTTON_DATA_INVALID")


def inline_buttons(markup: dict[str, Any] | None) -> list[dict[str, Any]]:
    """All buttons of an inline keyboard, row by row (empty for other markups)."""
    if not markup or not isinstance(markup.get("inline_keyboard"), list):
        return []
    return [button for row in markup["inline_keyboard"] for button in row if isinstance(button, dict)]
