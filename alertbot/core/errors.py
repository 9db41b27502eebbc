"""The one error shape of alertbot: every expected failure is an `AppError`.

Services raise them; the chat's error router (`telegram/errors.py`) answers with the UI string `key`
(filled with `args_for_text`) — a pop-up for a button tap, a message otherwise; the CLI prints str() of
it (the English message) and exits with `exit_code`. Subclasses exist where a caller handles one reason
differently (a flow that asks again after a VariableError, for one).
"""

from __future__ import annotations

from typing import Any

# ApprovalError's `reason`: a code the UI catalogs translate (alert-approval-refused selects on it),
# with the English reason the audit log records
APPROVAL_REFUSALS = {
    "missing": "no such request",
    "not-supervisor": "only a supervisor may decide",
    "own-request": "the requester cannot approve their own request",
    "out-of-scope": "outside your districts",
    "decided": "it was already decided or has expired",
}


class AppError(Exception):
    """An expected failure. `key` and `args_for_text` name its UI string; str() is the English message."""

    key = "error-refused"
    exit_code = 1

    def __init__(self, message: str, key: str | None = None, **args: Any) -> None:
        super().__init__(message)
        if key is not None:
            self.key = key
        self.args_for_text = args


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


class InvalidBusinessNameError(AppError):
    """The business name is empty or too long."""


class TemplateProblem(AppError):
    """A template cannot be rendered or its result is not a valid Telegram message."""


class CampaignError(AppError):
    """A refused campaign action; `key` names the UI string."""

    key = "campaign-error"


# -- alerts -----------------------------------------------------------------------------------------


class AlertError(AppError):
    """A refused alert action."""

    key = "alert-error"


# -- who may act ------------------------------------------------------------------------------------


class NotAnOfficialError(AlertError):
    key = "alert-not-official"


class OutOfScopeError(AlertError):
    key = "alert-out-of-scope"


class ApprovalError(AlertError):
    key = "alert-approval-refused"


# -- what the draft says ----------------------------------------------------------------------------


class UnknownTemplateError(AlertError):
    key = "alert-unknown-template"


class VariableError(AlertError):
    key = "alert-bad-variable"


class RenderError(AlertError):
    key = "alert-render-problem"


# -- whom and when ----------------------------------------------------------------------------------


class DistrictError(AlertError):
    key = "alert-bad-district"


class NoRecipientsError(AlertError):
    key = "alert-no-recipients"


class ScheduleError(AlertError):
    key = "alert-bad-send-at"


class BroadcastNotFoundError(AlertError):
    key = "alert-not-found"
