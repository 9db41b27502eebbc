"""A local Telegram Bot API server: Telegram's methods, limits, errors and message rules, served on 127.0.0.1.

The sandbox (``alertbot sandbox``) runs the real bot against it, and the tests drive the bot through it.
``FakeBotAPI`` is the server, ``ApiError`` describes Telegram's error replies (for error injection),
``FaultPlan`` the random network faults of ``FakeBotAPI.set_faults``, and ``SpecChecker`` validates calls
against the machine-readable Bot API spec, a compact copy of which is kept beside it as
``alertbot/sandbox/botapi/telegram-bot-api.json`` (regenerate it with
``uv run python -m alertbot.sandbox.botapi.make_spec``).
"""

from .server import FakeBotAPI
from .spec import SpecChecker, SpecNotFoundError
from .state import DEFAULT_FAULT_METHODS, FAULT_KINDS, ApiError, FaultPlan, RateLimiter, UploadedFile

__all__ = [
    "DEFAULT_FAULT_METHODS",
    "FAULT_KINDS",
    "ApiError",
    "FakeBotAPI",
    "FaultPlan",
    "RateLimiter",
    "SpecChecker",
    "SpecNotFoundError",
    "UploadedFile",
]
