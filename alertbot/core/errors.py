"""The application's error hierarchy: every expected failure is an AppError with a message for people."""

from __future__ import annotations


class AppError(Exception):
    """An expected failure whose message can be shown to the person who caused it."""

    exit_code = 1


class ConfigError(AppError):
    """The configuration is missing, unreadable or invalid."""

    exit_code = 2


class DuplicateInstanceError(AppError):
    """Another live process runs under this instance name on the same database."""

    exit_code = 2

    def __init__(self, name: str, other: str) -> None:
        super().__init__(
            f"another alertbot process ({other}) is running as instance {name!r} on this database; "
            "give each instance its own [dispatch] instance name"
        )
        self.name, self.other = name, other


class UnknownDistrictError(AppError):
    """One or more district names or ids do not match any configured district."""

    def __init__(self, unknown: list[str]) -> None:
        super().__init__(", ".join(unknown))
        self.unknown = unknown
