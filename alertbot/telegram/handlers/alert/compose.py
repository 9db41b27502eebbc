"""/alert for officials: choose a template, answer its variables, pick districts, audience, severity and
mode, preview exactly, then confirm or cancel.

Callback data is never trusted: taps are checked here against the official's scope, and AlertService
re-checks (and audits refusals of) the whole draft. The flow's state and the messages of its steps are in
`steps`; "⏰ Send at…" is in `scheduled`.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
from datetime import datetime
from typing import Any

from aiogram import Bot
from aiogram.exceptions import TelegramAPIError, TelegramBadRequest
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message
from aiogram.utils.callback_answer import CallbackAnswer

from alertbot.config import AppConfig
from alertbot.content.i18n import Texts
from alertbot.core.clock import utcnow
from alertbot.core.domain import Audience, Severity, SubscriberKind
from alertbot.core.errors import AlertError, ScheduleError
from alertbot.services.alert_texts import MAX_VARIABLE_LENGTH
from alertbot.services.alerts import AlertService
from alertbot.services.drafts import AlertDraft
from alertbot.services.officials import ALL_DISTRICTS
from alertbot.services.subscriptions import SubscriptionService
from alertbot.telegram.answers import error_text, refuse, reply_with, tapped_message, user_id
from alertbot.telegram.callbacks import (
    AlertAudienceChoice,
    AlertConfirm,
    AlertDistrictToggle,
    AlertModeChoice,
    AlertSeverityChoice,
    AlertSkip,
    AlertTemplateChoice,
)
from alertbot.telegram.formatting import local_time
from alertbot.telegram.handlers.alert.scheduled import ask_for_time
from alertbot.telegram.handlers.alert.steps import DRAFT, LIVE, SEND_AT, STEP, Flow, ask_variable, preview
from alertbot.telegram.keyboards.alert import (
    audience_keyboard,
    district_keyboard,
    duplicate_keyboard,
    mode_keyboard,
    mode_label,
    severity_keyboard,
    severity_label,
    template_keyboard,
)
from alertbot.telegram.states import AlertCompose

log = logging.getLogger("alertbot.telegram.handlers.alert")  # the /alert router's: its records keep their name


def _minutes_since(moment: datetime) -> int:
    return max(0, int((utcnow() - moment).total_seconds() // 60))


async def start_alert(
    message: Message, state: FSMContext, l10n: Texts, alerts: AlertService, subscriptions: SubscriptionService
) -> None:
    await alerts.official(user_id(message), "compose")
    # Progress, reports and approval requests reach this official later, outside any update: keep the
    # language they use now so those arrive in it too.
    await subscriptions.ensure(message.chat.id, l10n.language)
    shown = await message.answer(
        l10n("alert-choose-template"), reply_markup=template_keyboard(l10n, alerts.warning_templates())
    )
    await state.set_state(AlertCompose.template)
    await state.set_data({LIVE: shown.message_id})


async def choose_template(
    query: CallbackQuery,
    callback_data: AlertTemplateChoice,
    state: FSMContext,
    callback_answer: CallbackAnswer,
    l10n: Texts,
    alerts: AlertService,
) -> None:
    if callback_data.template not in {spec.id for spec in alerts.warning_templates()}:
        refuse(callback_answer, l10n, "alert-unknown-template", template=callback_data.template)
        return
    flow = Flow(tapped_message(query), state, l10n, alerts, user_id(query))
    await ask_variable(flow, AlertDraft(template_id=callback_data.template), 0, edit=True)


async def variable_answer(message: Message, state: FSMContext, bot: Bot, l10n: Texts, alerts: AlertService) -> None:
    data = await state.get_data()
    draft, step = AlertDraft.from_json(data[DRAFT]), int(data[STEP])
    text = (message.text or "").strip()
    if not text:
        await message.answer(l10n("alert-variable-not-text"))
        return
    if len(text) > MAX_VARIABLE_LENGTH:
        await message.answer(l10n("alert-variable-too-long", max=MAX_VARIABLE_LENGTH, length=len(text)))
        return
    variable = alerts.templates.catalog.get(draft.template_id).variables[step]
    if not variable.required:  # its Skip button is no longer needed
        with contextlib.suppress(TelegramBadRequest):
            await bot.edit_message_reply_markup(chat_id=message.chat.id, message_id=data[LIVE], reply_markup=None)
    draft = dataclasses.replace(draft, variables={**draft.variables, variable.name: text})
    await ask_variable(Flow(message, state, l10n, alerts, user_id(message)), draft, step + 1, edit=False)


variable_not_text = reply_with("alert-variable-not-text")


async def skip_variable(
    query: CallbackQuery,
    callback_data: AlertSkip,
    state: FSMContext,
    callback_answer: CallbackAnswer,
    l10n: Texts,
    alerts: AlertService,
    draft: AlertDraft,
    flow_data: dict[str, Any],
) -> None:
    step = int(flow_data[STEP])
    variable = alerts.templates.catalog.get(draft.template_id).variables[step]
    if variable.required or variable.name != callback_data.variable:
        refuse(callback_answer, l10n, "alert-flow-expired")
        return
    await tapped_message(query).edit_reply_markup(reply_markup=None)
    flow = Flow(tapped_message(query), state, l10n, alerts, user_id(query))
    await ask_variable(flow, draft, step + 1, edit=False)


async def toggle_district(
    query: CallbackQuery,
    callback_data: AlertDistrictToggle,
    state: FSMContext,
    callback_answer: CallbackAnswer,
    l10n: Texts,
    alerts: AlertService,
    draft: AlertDraft,
) -> None:
    """Only districts offered to this official can be stored; anything else (forged) is refused."""
    official = await alerts.official(user_id(query), "compose")
    draft = await alerts.toggle_district(official, draft, callback_data.district, l10n.language)
    scope, everywhere = alerts.scope(official), ALL_DISTRICTS in official.districts
    await state.update_data({DRAFT: draft.to_json()})
    markup = district_keyboard(l10n, alerts.districts, scope, draft.districts, everywhere=everywhere)
    await tapped_message(query).edit_reply_markup(reply_markup=markup)


async def districts_done(
    query: CallbackQuery, state: FSMContext, callback_answer: CallbackAnswer, l10n: Texts, draft: AlertDraft
) -> None:
    if not draft.districts:
        refuse(callback_answer, l10n, "alert-choose-one-district")
        return
    await state.set_state(AlertCompose.audience)
    await tapped_message(query).edit_text(l10n("alert-choose-audience"), reply_markup=audience_keyboard(l10n))


async def choose_audience(
    query: CallbackQuery,
    callback_data: AlertAudienceChoice,
    state: FSMContext,
    l10n: Texts,
    alerts: AlertService,
    draft: AlertDraft,
) -> None:
    kind = SubscriberKind.BUSINESS if callback_data.category else callback_data.kind
    draft = dataclasses.replace(draft, audience=Audience(kind, callback_data.category))
    spec = alerts.templates.catalog.get(draft.template_id)
    suggested = Severity(spec.severity) if spec.severity else None
    await state.set_state(AlertCompose.severity)
    await state.update_data({DRAFT: draft.to_json()})
    await tapped_message(query).edit_text(
        l10n("alert-choose-severity", default=severity_label(l10n, suggested)),
        reply_markup=severity_keyboard(l10n, suggested),
    )


async def choose_severity(
    query: CallbackQuery, callback_data: AlertSeverityChoice, state: FSMContext, l10n: Texts, draft: AlertDraft
) -> None:
    draft = dataclasses.replace(draft, severity=callback_data.severity)
    await state.set_state(AlertCompose.mode)
    await state.update_data({DRAFT: draft.to_json()})
    await tapped_message(query).edit_text(l10n("alert-choose-mode"), reply_markup=mode_keyboard(l10n))


async def choose_mode(
    query: CallbackQuery,
    callback_data: AlertModeChoice,
    state: FSMContext,
    l10n: Texts,
    alerts: AlertService,
    draft: AlertDraft,
) -> None:
    draft = dataclasses.replace(draft, exercise=callback_data.exercise)
    await state.update_data({DRAFT: draft.to_json()})
    await preview(Flow(tapped_message(query), state, l10n, alerts, user_id(query)), draft, edit=True)


async def confirm(
    query: CallbackQuery,
    callback_data: AlertConfirm,
    state: FSMContext,
    callback_answer: CallbackAnswer,
    l10n: Texts,
    alerts: AlertService,
    config: AppConfig,
) -> None:
    message = tapped_message(query)
    # Claim the draft (no await in between that yields on the in-memory FSM storage): a second tap of a
    # double tap finds nothing left to send.
    data = await state.get_data()
    if data.get(DRAFT) is None:
        refuse(callback_answer, l10n, "alert-flow-expired")
        return
    await state.update_data({DRAFT: None})
    draft = AlertDraft.from_json(data[DRAFT])
    send_at = datetime.fromisoformat(data[SEND_AT]) if data.get(SEND_AT) else None
    buttons = message.reply_markup
    try:
        await message.edit_reply_markup(reply_markup=None)
        confirmation = await alerts.confirm(
            user_id(query),
            draft,
            force_duplicate=callback_data.force_duplicate,
            report_chat_id=message.chat.id,
            send_at=send_at,
        )
    except ScheduleError as error:  # the time came too close while the official looked: ask for another
        await state.update_data({DRAFT: data[DRAFT]})
        await message.answer(error_text(l10n, error))
        await ask_for_time(message, state, l10n, config, edit=False)
        return
    except AlertError as error:
        await state.update_data({DRAFT: data[DRAFT]})
        await message.edit_reply_markup(reply_markup=buttons)
        await message.answer(error_text(l10n, error))
        return
    except Exception:
        # Not the official's doing (the database, the network): the draft they checked stays, with its
        # buttons, so the same tap tries again. Had it been queued after all, the retry finds it as a
        # duplicate and asks before sending a second copy.
        log.exception("confirming a warning for %s failed", user_id(query))
        await state.update_data({DRAFT: data[DRAFT]})
        with contextlib.suppress(TelegramAPIError):
            await message.edit_reply_markup(reply_markup=buttons)
        await message.answer(l10n("alert-confirm-failed"))
        return
    broadcast = confirmation.broadcast
    if confirmation.outcome == "duplicate":
        await state.update_data({DRAFT: data[DRAFT]})
        text = l10n("alert-duplicate", id=broadcast.id, minutes=_minutes_since(broadcast.created_at))
        await message.edit_text(text, reply_markup=duplicate_keyboard(l10n))
        return
    await state.clear()
    mode = mode_label(l10n, broadcast.exercise)
    if confirmation.outcome == "queued" and send_at is not None:
        time = local_time(send_at, config.bot.zone)
        text = l10n("alert-scheduled-confirmed", id=broadcast.id, time=time, total=broadcast.recipients, mode=mode)
    elif confirmation.outcome == "queued":
        text = l10n("alert-queued", id=broadcast.id, total=broadcast.recipients, mode=mode)
    else:
        minutes = int(config.alerts.approval_timeout.total_seconds() // 60)
        text = l10n("alert-waiting-approval", id=broadcast.id, minutes=minutes)
    await message.edit_text(text)


async def cancel(query: CallbackQuery, state: FSMContext, l10n: Texts) -> None:
    await state.clear()
    await tapped_message(query).edit_text(l10n("alert-cancelled"))


async def stale_button(query: CallbackQuery, callback_answer: CallbackAnswer, l10n: Texts) -> None:
    """A button of the flow tapped outside its step (an old message, or after the flow ended)."""
    refuse(callback_answer, l10n, "alert-flow-expired")


use_buttons = reply_with("alert-use-buttons")
