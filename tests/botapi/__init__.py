"""A Telegram Bot API test double served over real HTTP, for end-to-end tests.

``FakeBotAPI`` is the server, ``ApiError`` describes Telegram's error replies
(for error injection) and ``SpecChecker`` validates calls against the
machine-readable Bot API spec in ``shared/reference/telegram-bot-api.json``.
"""

from .server import FakeBotAPI
from .spec import SpecChecker, SpecNotFoundError
from .state import ApiError, RateLimiter, UploadedFile

__all__ = ["ApiError", "FakeBotAPI", "RateLimiter", "SpecChecker", "SpecNotFoundError", "UploadedFile"]
