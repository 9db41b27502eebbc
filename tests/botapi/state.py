"""Error objects and rate limiting for the fake Bot API server."""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass
from typing import Any

__all__ = ["BUTTON_ACTIONS", "ApiError", "RateLimiter", "UploadedFile", "check_reply_markup", "inline_buttons"]


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


class RateLimiter:
    """Telegram-like flood limits.

    * global: at most ``global_per_sec`` messages in any sliding 1-second window
      (1000/s for messages sent with ``allow_paid_broadcast``);
    * private chats (positive ids): a token bucket refilled at ``per_chat_per_sec``
      per second holding ``max(per_chat_burst, per_chat_per_sec)`` tokens, i.e.
      ~1 message/s sustained with short bursts allowed;
    * groups/channels (negative ids): at most ``group_per_min`` messages in any
      sliding 60-second window.

    Any limit set to ``None`` is not enforced. Only accepted messages count.
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
    def _window_wait(times: deque[float], limit: float, window: float, now: float) -> float:
        while times and times[0] <= now - window:
            times.popleft()
        if len(times) < limit:
            return 0.0
        # The newest message that must leave the window before another one fits.
        index = math.floor(len(times) - limit)
        return times[index] + window - now

    def _bucket_capacity(self) -> float:
        assert self.per_chat_per_sec is not None
        return max(float(self.per_chat_burst), self.per_chat_per_sec)

    def _bucket_tokens(self, chat_id: int, now: float) -> float:
        assert self.per_chat_per_sec is not None
        capacity = self._bucket_capacity()
        tokens, last = self._buckets.get(chat_id, (capacity, now))
        return min(capacity, tokens + (now - last) * self.per_chat_per_sec)

    def check(self, chat_id: int | None, now: float, *, paid: bool = False) -> int | None:
        """Return ``retry_after`` seconds if a message to *chat_id* now exceeds a limit, else record it."""
        waits: list[float] = []
        if paid:
            waits.append(self._window_wait(self._paid, self.PAID_BROADCAST_PER_SEC, 1.0, now))
        elif self.global_per_sec is not None:
            waits.append(self._window_wait(self._global, self.global_per_sec, 1.0, now))
        if chat_id is not None and chat_id < 0 and self.group_per_min is not None:
            times = self._groups.setdefault(chat_id, deque())
            waits.append(self._window_wait(times, self.group_per_min, 60.0, now))
        if chat_id is not None and chat_id > 0 and self.per_chat_per_sec is not None:
            tokens = self._bucket_tokens(chat_id, now)
            if tokens < 1.0:
                waits.append((1.0 - tokens) / self.per_chat_per_sec)
        wait = max(waits, default=0.0)
        if wait > 0:
            return max(1, math.ceil(wait))
        # Accepted: record it everywhere.
        (self._paid if paid else self._global).append(now)
        if chat_id is not None and chat_id < 0:
            self._groups.setdefault(chat_id, deque()).append(now)
        if chat_id is not None and chat_id > 0 and self.per_chat_per_sec is not None:
            self._buckets[chat_id] = (self._bucket_tokens(chat_id, now) - 1.0, now)
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
