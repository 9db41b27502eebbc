"""Looking a district channel up in Telegram: is it a channel, may the bot post there, how many members.

`getChat` (an "@username" or an id), `getChatMember` for the bot itself (an administrator allowed to post, or
the creator) and `getChatMemberCount`. None of these is a message: they take no slot of the pace. Used at start
(problems are logged as warnings: the bot still runs), by `alertbot check --online`, and for the preview's reach.
"""

from __future__ import annotations

import logging

from aiogram import Bot
from aiogram.exceptions import TelegramBadRequest, TelegramForbiddenError
from aiogram.types import ChatMemberAdministrator, ChatMemberOwner

from alertbot.core.redact import scrub
from alertbot.services.channels import ChannelDirectory, ChannelStatus, channel_chat_id

log = logging.getLogger(__name__)


async def look_up(bot: Bot, channel: str) -> ChannelStatus:
    try:
        chat = await bot.get_chat(channel_chat_id(channel))
    except (TelegramBadRequest, TelegramForbiddenError) as error:
        return ChannelStatus(channel, usable=False, problem=f"Telegram does not show it to the bot: {error.message}")
    if chat.type != "channel":
        return ChannelStatus(channel, usable=False, title=chat.title, problem=f"it is a {chat.type}, not a channel")
    me = await bot.me()
    try:
        member = await bot.get_chat_member(chat.id, me.id)
        members = await bot.get_chat_member_count(chat.id)
    except (TelegramBadRequest, TelegramForbiddenError) as error:
        return ChannelStatus(channel, usable=False, title=chat.title, problem=f"not readable: {error.message}")
    if isinstance(member, ChatMemberOwner):
        problem = None
    elif isinstance(member, ChatMemberAdministrator):
        problem = None if member.can_post_messages else "the bot is an administrator but may not post messages"
    else:
        problem = f"the bot is not an administrator of the channel (it is {member.status})"
    return ChannelStatus(channel, usable=problem is None, members=members, title=chat.title, problem=problem)


async def check_channels(directory: ChannelDirectory) -> list[ChannelStatus]:
    """Every configured channel looked up; each one the bot cannot use is logged as a warning."""
    statuses = await directory.check_all()
    for status in statuses:
        if status.usable:
            log.info("channel %s (%s): %s members, the bot may post", status.channel, status.title, status.members)
        else:
            log.warning("channel %s cannot be used: %s", status.channel, scrub(status.problem or "unknown"))
    return statuses
