"""A supervisor's Approve/Reject under an approval request; the requester hears the decision too.

AlertService decides who may decide (and audits who may not); this module only answers.
"""

from __future__ import annotations

import logging

from aiogram import Bot
from aiogram.exceptions import TelegramAPIError
from aiogram.types import CallbackQuery
from aiogram.utils.callback_answer import CallbackAnswer

from alertbot.config import AppConfig
from alertbot.content.i18n import Texts
from alertbot.services.alerts import AlertService
from alertbot.services.subscriptions import SubscriptionService
from alertbot.telegram.answers import tapped_message, user_id
from alertbot.telegram.callbacks import ApprovalDecision

log = logging.getLogger("alertbot.telegram.handlers.alert")  # the /alert router's: its records keep their name


async def _texts_for(chat_id: int, l10n: Texts, subscriptions: SubscriptionService, config: AppConfig) -> Texts:
    """Another chat's language, as the progress reporter chooses it: stored, else the default."""
    language = await subscriptions.stored_language(chat_id) or config.bot.default_language
    return Texts(l10n.translator, language)


async def decide(
    query: CallbackQuery,
    callback_data: ApprovalDecision,
    callback_answer: CallbackAnswer,
    bot: Bot,
    l10n: Texts,
    alerts: AlertService,
    subscriptions: SubscriptionService,
    config: AppConfig,
) -> None:
    """A supervisor's Approve/Reject. The service decides who may (and audits who may not)."""
    approver = user_id(query)
    broadcast = await alerts.decide(approver, callback_data.broadcast_id, approve=callback_data.approve)
    official = alerts.officials.get(approver)
    key = "alert-approved" if callback_data.approve else "alert-rejected"
    args = {"id": broadcast.id, "approver": official.name if official else str(approver), "total": broadcast.recipients}
    await tapped_message(query).edit_text(l10n(key, **args))
    requester = broadcast.report_chat_id or broadcast.created_by
    texts = await _texts_for(requester, l10n, subscriptions, config)
    try:
        await bot.send_message(requester, texts(key, **args))
    except TelegramAPIError as error:
        log.warning("could not tell %s about the decision on #%s: %s", requester, broadcast.id, error)
