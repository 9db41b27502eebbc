"""The person's own data: /mysubs, /language, /forgetme."""

from __future__ import annotations

import logging
from typing import cast

from aiogram import Bot, Router
from aiogram.exceptions import TelegramAPIError
from aiogram.filters import CommandObject
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message

from alertbot.config import AppConfig
from alertbot.content.i18n import Texts
from alertbot.core.domain import LANGUAGES, Language, Subscriber, SubscriberKind
from alertbot.services.districts import DistrictDirectory
from alertbot.services.officials import OfficialDirectory
from alertbot.services.subscriptions import SubscriptionService
from alertbot.telegram.answers import tapped_message
from alertbot.telegram.callbacks import ForgetChoice, LanguageChoice
from alertbot.telegram.commands import CommandMenus, clear_chat_commands
from alertbot.telegram.filters import private_router
from alertbot.telegram.formatting import district_names
from alertbot.telegram.keyboards.common import forget_keyboard, language_keyboard

log = logging.getLogger(__name__)

LANGUAGE_WORDS: dict[str, Language] = {
    "zh": "zh", "cn": "zh", "中文": "zh", "汉语": "zh", "chinese": "zh",
    "en": "en", "english": "en", "英文": "en", "英语": "en",
}  # fmt: skip


def profile_text(l10n: Texts, districts: DistrictDirectory, subscriber: Subscriber) -> str:
    if subscriber.kind is SubscriberKind.BUSINESS and subscriber.business_category is not None:
        kind = l10n(
            "mysubs-business",
            category=l10n.plain(f"category-{subscriber.business_category.value}"),
            name=subscriber.business_name or "",
        )
    else:
        kind = l10n("mysubs-resident")
    names = district_names(districts, subscriber.districts, l10n.language) or l10n("mysubs-none")
    language = l10n.plain(f"language-name-{subscriber.language}")
    # kind is already HTML (escaped inside l10n), so pass it through unescaped.
    return l10n.translator(l10n.language, "mysubs", districts=names, kind=kind, language=language)


async def my_subscriptions(message: Message, l10n: Texts, subscriptions: SubscriptionService) -> None:
    subscriber = await subscriptions.get(message.chat.id)
    if subscriber is None:
        await message.answer(l10n("no-subscriptions"))
        return
    await message.answer(profile_text(l10n, subscriptions.districts, subscriber))


async def _switch_language(
    bot: Bot, chat_id: int, language: Language, l10n: Texts, subscriptions: SubscriptionService, menus: CommandMenus
) -> str:
    """Store the choice, show the command menu of this chat in that language too (best effort); the reply."""
    await subscriptions.set_language(chat_id, language)
    await menus.set_person(bot, chat_id, language)
    return Texts(l10n.translator, language)("language-set")


async def language(
    message: Message,
    command: CommandObject,
    bot: Bot,
    l10n: Texts,
    subscriptions: SubscriptionService,
    menus: CommandMenus,
) -> None:
    if not command.args:
        await message.answer(l10n("language-choose"), reply_markup=language_keyboard(l10n))
        return
    chosen = LANGUAGE_WORDS.get(command.args.strip().casefold())
    if chosen is None:
        await message.answer(l10n("language-unknown", code=command.args.strip()))
        return
    await message.answer(await _switch_language(bot, message.chat.id, chosen, l10n, subscriptions, menus))


async def language_chosen(
    query: CallbackQuery,
    callback_data: LanguageChoice,
    bot: Bot,
    l10n: Texts,
    subscriptions: SubscriptionService,
    menus: CommandMenus,
) -> None:
    message = tapped_message(query)
    if callback_data.language not in LANGUAGES:
        await message.edit_text(l10n("language-unknown", code=callback_data.language))
        return
    chosen = cast(Language, callback_data.language)
    await message.edit_text(await _switch_language(bot, message.chat.id, chosen, l10n, subscriptions, menus))


async def _forget_chat_state(state: FSMContext) -> None:
    """Clear the person's flow state and data (Redis or the database; `forget` also drops every database row
    keyed by them)."""
    await state.clear()


async def forget_me(message: Message, l10n: Texts) -> None:
    await message.answer(l10n("forgetme-confirm"), reply_markup=forget_keyboard(l10n))


async def forget_chosen(
    query: CallbackQuery,
    callback_data: ForgetChoice,
    bot: Bot,
    state: FSMContext,
    l10n: Texts,
    subscriptions: SubscriptionService,
    officials: OfficialDirectory,
    config: AppConfig,
    menus: CommandMenus,
) -> None:
    assert isinstance(query.message, Message)
    if not callback_data.confirmed:
        await query.message.edit_text(l10n("forgetme-cancelled"))
        return
    chat_id = query.message.chat.id
    await subscriptions.forget(chat_id, official=officials.is_official(chat_id))
    await _forget_chat_state(state)
    # The data is gone: the menu is best effort and may not turn that into an error for the person.
    if officials.is_official(chat_id):
        # Officials keep their duties (they come from config); only their menu returns to the default.
        await menus.set_chat(bot, chat_id, config.bot.default_language, official=True)
    else:
        try:
            await clear_chat_commands(bot, chat_id)
        except TelegramAPIError as error:
            log.warning("the menu of a forgotten chat was not reset: %s", error)
    await query.message.edit_text(l10n("forgetme-done"))


def build_router() -> Router:
    """A fresh router with this module's handlers (one per Dispatcher)."""
    return private_router(
        __name__,
        commands={"mysubs": my_subscriptions, "language": language, "forgetme": forget_me},
        taps={LanguageChoice: language_chosen, ForgetChoice: forget_chosen},
    )
