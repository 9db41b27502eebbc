"""Update, All clear or Sent in error under a final report: a follow-up for the chats the original reached.

AlertService builds the follow-up's draft (and refuses, audited, anyone who may not); the /alert flow then
asks its variables and previews it like any warning.
"""

from __future__ import annotations

from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery
from aiogram.utils.callback_answer import CallbackAnswer

from alertbot.content.i18n import Texts
from alertbot.services.alerts import AlertService
from alertbot.telegram.answers import tapped_message, user_id
from alertbot.telegram.callbacks import FollowUpStart
from alertbot.telegram.handlers.alert.steps import Flow, ask_variable


async def start_follow_up(
    query: CallbackQuery,
    callback_data: FollowUpStart,
    state: FSMContext,
    callback_answer: CallbackAnswer,
    l10n: Texts,
    alerts: AlertService,
) -> None:
    """Update, All clear or Sent in error under a final report: for the chats the original reached."""
    draft = await alerts.follow_up_draft(user_id(query), callback_data.broadcast_id, callback_data.template)
    await state.clear()
    await ask_variable(Flow(tapped_message(query), state, l10n, alerts, user_id(query)), draft, 0, edit=False)
