"""/alert for officials: compose from a template, preview exactly, confirm; approvals and follow-ups.

The parts: `steps` (the flow's FSM data and the message of each step), `compose` (the /alert flow's
handlers), `scheduled` ("⏰ Send at…" and cancelling a scheduled warning), `approvals` and `follow_ups`.
`build_router` registers them all on one router, in the order that decides which handler takes an update.
"""

from __future__ import annotations

from typing import Any

from aiogram import Router
from aiogram.filters import Command, StateFilter

from alertbot.telegram import callbacks
from alertbot.telegram.filters import TEXT, private_chats_only
from alertbot.telegram.handlers.alert import approvals, compose, follow_ups, scheduled
from alertbot.telegram.handlers.alert.steps import OnLiveMessage
from alertbot.telegram.states import AlertCompose


def build_router() -> Router:
    """A fresh router with the handlers of /alert (one per Dispatcher)."""
    router = private_chats_only(Router(name=__name__))
    router.message.register(compose.start_alert, Command("alert"))
    router.message.register(compose.variable_answer, StateFilter(AlertCompose.variable), TEXT)
    router.message.register(compose.variable_not_text, StateFilter(AlertCompose.variable))
    router.message.register(scheduled.send_at_answer, StateFilter(AlertCompose.send_at))
    router.message.register(compose.use_buttons, StateFilter(AlertCompose))
    # A step's tap counts only on the flow's live message; any other tap of those buttons is stale. (States are
    # filters as StateFilter: aiogram would run a bare State, a plain callable, in a worker thread.)
    steps: list[tuple[Any, Any, Any]] = [
        (compose.choose_template, callbacks.AlertTemplateChoice, StateFilter(AlertCompose.template)),
        (compose.skip_variable, callbacks.AlertSkip, StateFilter(AlertCompose.variable)),
        (compose.toggle_district, callbacks.AlertDistrictToggle, StateFilter(AlertCompose.districts)),
        (compose.districts_done, callbacks.AlertDistrictsDone, StateFilter(AlertCompose.districts)),
        (compose.choose_audience, callbacks.AlertAudienceChoice, StateFilter(AlertCompose.audience)),
        (compose.choose_severity, callbacks.AlertSeverityChoice, StateFilter(AlertCompose.severity)),
        (compose.choose_mode, callbacks.AlertModeChoice, StateFilter(AlertCompose.mode)),
        (compose.confirm, callbacks.AlertConfirm, StateFilter(AlertCompose.confirm)),
        (scheduled.ask_send_at, callbacks.AlertSendAt, StateFilter(AlertCompose.confirm)),
        (compose.cancel, callbacks.AlertCancel, StateFilter(AlertCompose)),
    ]
    for handler, factory, step in steps:
        router.callback_query.register(handler, factory.filter(), step, OnLiveMessage())
    for factory in dict.fromkeys(factory for _, factory, _ in steps):
        router.callback_query.register(compose.stale_button, factory.filter())
    router.callback_query.register(approvals.decide, callbacks.ApprovalDecision.filter())
    router.callback_query.register(follow_ups.start_follow_up, callbacks.FollowUpStart.filter())
    router.callback_query.register(scheduled.cancel_scheduled, callbacks.ScheduledCancel.filter())
    return router
