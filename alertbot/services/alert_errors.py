"""Why an alert action was refused: one AlertError subclass per reason, each naming its UI string.

Callers catch the class they can handle (a chat asks again after a VariableError, for one) and show any
other with `l10n(error.key, **error.args_for_text)`; str() of an error is its English message.
"""

from __future__ import annotations

from typing import Any

from alertbot.core.errors import AppError

# ApprovalError's `reason`: a code the UI catalogs translate (alert-approval-refused selects on it),
# with the English reason the audit log records
APPROVAL_REFUSALS = {
    "missing": "no such request",
    "not-supervisor": "only a supervisor may decide",
    "own-request": "the requester cannot approve their own request",
    "out-of-scope": "outside your districts",
    "decided": "it was already decided or has expired",
}


class AlertError(AppError):
    """A refused alert action. `key` and `args` name a UI string; str() is the English message."""

    key = "alert-error"

    def __init__(self, message: str, **args: Any) -> None:
        super().__init__(message)
        self.args_for_text = args


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
