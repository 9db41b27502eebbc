"""A Telegram Bot API test double served over real HTTP, for end-to-end tests.

``FakeBotAPI`` is the server, ``ApiError`` describes Telegram's error replies
(for error injection), ``FaultPlan`` the random network faults of
``FakeBotAPI.set_faults``, and ``SpecChecker`` validates calls against the
machine-readable Bot API spec, a compact copy of which is checked in as
``tests/botapi/telegram-bot-api.json`` (regenerate it with
``uv run python -m tests.botapi.make_spec``).
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
