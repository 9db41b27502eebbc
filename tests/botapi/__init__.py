"""The Bot API double as the tests use it: :mod:`alertbot.sandbox.botapi`, re-exported.

The double is a product module (the sandbox serves it); its own tests are ``tests/botapi/test_double.py``.
"""

from alertbot.sandbox.botapi import (
    DEFAULT_FAULT_METHODS,
    FAULT_KINDS,
    ApiError,
    FakeBotAPI,
    FaultPlan,
    RateLimiter,
    SpecChecker,
    SpecNotFoundError,
    UploadedFile,
)

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
