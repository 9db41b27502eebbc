"""The command menu (setMyCommands) in both languages, and per chat for officials and language switches."""

from __future__ import annotations

from aiogram import Bot
from aiogram.types import BotCommand, BotCommandScopeChat, BotCommandScopeDefault

from alertbot.config import LANGUAGES, Language
from alertbot.i18n import Translator
from alertbot.services.officials import OfficialDirectory

RESIDENT_COMMANDS = ("start", "subscribe", "unsubscribe", "mysubs", "language", "quiet", "forgetme", "help")
OFFICIAL_COMMANDS: tuple[str, ...] = ("alert", "campaigns", "stats")


def commands_for(translator: Translator, language: Language, *, official: bool) -> list[BotCommand]:
    names = RESIDENT_COMMANDS + (OFFICIAL_COMMANDS if official else ())
    return [BotCommand(command=name, description=translator(language, f"cmd-{name}")) for name in names]


async def register_default_commands(
    bot: Bot, translator: Translator, default_language: Language, officials: OfficialDirectory
) -> None:
    """The menu for everyone, per Telegram app language, plus each official's own menu."""
    for language in LANGUAGES:
        await bot.set_my_commands(
            commands_for(translator, language, official=False),
            scope=BotCommandScopeDefault(),
            language_code=language,
        )
    await bot.set_my_commands(commands_for(translator, default_language, official=False))
    for official_id in officials.ids:
        await set_chat_commands(bot, translator, official_id, default_language, official=True)


async def set_chat_commands(
    bot: Bot, translator: Translator, chat_id: int, language: Language, *, official: bool
) -> None:
    """The menu of one chat, in the language that person chose."""
    await bot.set_my_commands(
        commands_for(translator, language, official=official), scope=BotCommandScopeChat(chat_id=chat_id)
    )


async def clear_chat_commands(bot: Bot, chat_id: int) -> None:
    await bot.delete_my_commands(scope=BotCommandScopeChat(chat_id=chat_id))
