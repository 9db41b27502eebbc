"""For everyone: the acknowledgement button under a campaign reminder, and /quiet (quiet hours).

CampaignService records an acknowledgement only from a chat that received the reminder; SubscriptionService
stores quiet hours.
"""

from __future__ import annotations

import contextlib
from datetime import datetime

from aiogram.exceptions import TelegramBadRequest
from aiogram.filters import CommandObject
from aiogram.types import CallbackQuery, Message
from aiogram.utils.callback_answer import CallbackAnswer

from alertbot.config import AppConfig
from alertbot.content.i18n import Texts
from alertbot.core.quiet import QuietHours, QuietHoursError
from alertbot.services.campaigns import Acknowledgement, CampaignService
from alertbot.services.subscriptions import SubscriptionService
from alertbot.telegram.answers import refuse
from alertbot.telegram.callbacks import CampaignAck

DEFAULT_WORDS = {"default", "reset", "默认", "恢复默认"}


# -- the acknowledgement button under a reminder ---------------------------------------------------


async def acknowledge(
    query: CallbackQuery,
    callback_data: CampaignAck,
    callback_answer: CallbackAnswer,
    l10n: Texts,
    campaigns: CampaignService,
    config: AppConfig,
) -> None:
    """Record "I have completed the check" for the chat the button is in; only a recipient may."""
    if query.message is None:
        refuse(callback_answer, l10n, "campaign-ack-refused")
        return
    ack = await campaigns.acknowledge(callback_data.occurrence_id, query.message.chat.id)
    callback_answer.text = l10n.plain("campaign-ack-thanks" if ack.new else "campaign-ack-already")
    if isinstance(query.message, Message):
        await _show_acknowledged(query.message, ack, Texts(l10n.translator, ack.language), config)


async def _show_acknowledged(message: Message, ack: Acknowledgement, texts: Texts, config: AppConfig) -> None:
    """The reminder as received, with the time of the confirmation below it and no button."""
    confirmed = texts("campaign-acked", time=datetime.now(config.bot.zone).strftime("%H:%M"))
    text = f"{ack.text}\n\n{confirmed}" if ack.text else confirmed
    try:
        await message.edit_text(text, reply_markup=None)
    except TelegramBadRequest:  # unchanged (a second tap), or too long with the line: drop the button only
        with contextlib.suppress(TelegramBadRequest):
            await message.edit_reply_markup(reply_markup=None)


# -- /quiet --------------------------------------------------------------------------------------


async def quiet(
    message: Message, command: CommandObject, l10n: Texts, subscriptions: SubscriptionService, config: AppConfig
) -> None:
    """Without an argument: the current window and how to change it. Else store a window, off or default."""
    argument = (command.args or "").strip()
    chat_id = message.chat.id
    default = config.bot.quiet_hours or l10n.plain("quiet-none")
    if not argument:
        current = await _quiet_status(l10n, await subscriptions.quiet_hours(chat_id), config)
        how = l10n("quiet-how", zone=config.bot.timezone, default=default)
        await message.answer(f"{current}\n\n{l10n('quiet-explain')}\n\n{how}")
        return
    if argument.casefold() in DEFAULT_WORDS:
        await subscriptions.reset_quiet_hours(chat_id)
        await message.answer(l10n("quiet-reset", window=default))
        return
    try:
        window = QuietHours.parse(argument)
    except QuietHoursError:
        await message.answer(l10n("quiet-bad", text=argument))
        return
    await subscriptions.set_quiet_hours(chat_id, l10n.language, window)
    if window is None:
        await message.answer(l10n("quiet-off"))
    else:
        await message.answer(l10n("quiet-set", window=str(window), end=f"{window.end:%H:%M}"))


async def _quiet_status(l10n: Texts, stored: str | None, config: AppConfig) -> str:
    if stored:
        return l10n("quiet-current-own", window=stored)
    if stored == "":
        return l10n("quiet-current-none")
    if config.bot.quiet_hours:
        return l10n("quiet-current-default", window=config.bot.quiet_hours)
    return l10n("quiet-current-default-none")
