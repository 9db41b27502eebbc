"""Warnings sent later: "⏰ Send at…" under a warning's preview, and cancelling a scheduled warning.

"⏰ Send at…" asks for a time (typed, in the bot's zone); the confirm step that follows sends the same
draft with `send_at` kept in the FSM data, never in callback data. The reporter then posts a notice whose
`ScheduledCancel` button stops the broadcast until it goes out.
"""

from __future__ import annotations

import contextlib
import unicodedata
from datetime import datetime

from aiogram import Bot
from aiogram.exceptions import TelegramBadRequest
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message
from aiogram.utils.callback_answer import CallbackAnswer

from alertbot.config import AppConfig
from alertbot.content.i18n import Texts
from alertbot.core.errors import ScheduleError
from alertbot.services.alerts import AlertService
from alertbot.services.drafts import AlertDraft
from alertbot.telegram.answers import error_text, refuse, tapped_message, user_id
from alertbot.telegram.callbacks import ScheduledCancel
from alertbot.telegram.formatting import TIME_FORMAT, local_time
from alertbot.telegram.handlers.alert.steps import APPROVAL, DRAFT, LIVE, SEND_AT, TOTAL, show
from alertbot.telegram.keyboards.alert import cancel_keyboard, confirm_label, scheduled_confirm_keyboard, send_at_label
from alertbot.telegram.states import AlertCompose


async def ask_for_time(message: Message, state: FSMContext, l10n: Texts, config: AppConfig, *, edit: bool) -> None:
    """Ask for the sending time: its accepted forms, in the bot's zone; Cancel stays possible."""
    now = datetime.now(config.bot.zone).strftime(TIME_FORMAT)
    text = l10n("alert-ask-send-at", zone=config.bot.timezone, now=now)
    shown = await show(message, text, cancel_keyboard(l10n), edit=edit)
    await state.set_state(AlertCompose.send_at)
    await state.update_data({LIVE: shown, SEND_AT: None})


async def ask_send_at(
    query: CallbackQuery,
    state: FSMContext,
    callback_answer: CallbackAnswer,
    l10n: Texts,
    config: AppConfig,
    draft: AlertDraft | None,
) -> None:
    """ "⏰ Send at…" under the preview. Not for a draft being confirmed right now, nor for a follow-up."""
    if draft is None:
        refuse(callback_answer, l10n, "alert-flow-expired")
        return
    if draft.follows_id is not None:  # no such button under a follow-up: forged
        refuse(callback_answer, l10n, ScheduleError.key, problem="follow-up")
        return
    await ask_for_time(tapped_message(query), state, l10n, config, edit=True)


async def send_at_answer(
    message: Message, state: FSMContext, bot: Bot, l10n: Texts, alerts: AlertService, config: AppConfig
) -> None:
    """The typed time: checked by the service; a valid one leads to a confirm button naming it."""
    text = unicodedata.normalize("NFKC", message.text or "")  # "１８：３０" from a Chinese keyboard is 18:30
    try:
        when = alerts.parse_send_at(text)
        alerts.check_send_at(when)
    except ScheduleError as error:
        await message.answer(error_text(l10n, error) + "\n" + l10n("alert-send-at-again"))
        return
    data = await state.get_data()
    with contextlib.suppress(TelegramBadRequest):  # the prompt's Cancel is no longer the live one
        await bot.edit_message_reply_markup(chat_id=message.chat.id, message_id=data[LIVE], reply_markup=None)
    draft = AlertDraft.from_json(data[DRAFT])
    label = confirm_label(
        l10n,
        exercise=draft.exercise,
        total=int(data[TOTAL]),
        needs_approval=bool(data[APPROVAL]),
        at=send_at_label(when, config.bot.zone),
    )
    question = l10n("alert-confirm-send-at", time=local_time(when, config.bot.zone), zone=config.bot.timezone)
    shown = await message.answer(question, reply_markup=scheduled_confirm_keyboard(l10n, label))
    await state.set_state(AlertCompose.confirm)
    await state.update_data({SEND_AT: when.isoformat(), LIVE: shown.message_id})


async def cancel_scheduled(
    query: CallbackQuery,
    callback_data: ScheduledCancel,
    callback_answer: CallbackAnswer,
    bot: Bot,
    l10n: Texts,
    alerts: AlertService,
) -> None:
    """The notice's "Cancel this scheduled warning". The service decides who may (and audits everything)."""
    number = callback_data.broadcast_id
    stopped = await alerts.cancel(user_id(query), number)
    if stopped == 0:  # it went out already (or was cancelled before): the notice is out of date
        refuse(callback_answer, l10n, "alert-nothing-to-cancel", id=number)
        return
    assert query.message is not None  # possibly inaccessible (an old notice): edit it by its ids
    chat_id, text = query.message.chat.id, l10n("alert-scheduled-cancelled", id=number, stopped=stopped)
    try:
        await bot.edit_message_text(text, chat_id=chat_id, message_id=query.message.message_id, reply_markup=None)
    except TelegramBadRequest:
        await bot.send_message(chat_id, text)
