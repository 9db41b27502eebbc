"""/start and onboarding: resident or business (category, name), then districts."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiogram import Bot, Router
from aiogram.filters import CommandStart, StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message

from alertbot.content.i18n import Texts
from alertbot.core.domain import BUSINESS_NAME_MAX, BusinessCategory, Subscriber, SubscriberKind
from alertbot.core.errors import InvalidBusinessNameError
from alertbot.services.districts import DistrictDirectory
from alertbot.services.officials import OfficialDirectory
from alertbot.services.subscriptions import SubscriptionService
from alertbot.telegram.answers import reply_with, tapped_message
from alertbot.telegram.callbacks import CategoryChoice, KindChoice, PickerMode
from alertbot.telegram.commands import CommandMenus
from alertbot.telegram.filters import TEXT, private_chats_only
from alertbot.telegram.handlers.profile import profile_text
from alertbot.telegram.keyboards.common import category_keyboard, district_picker, kind_keyboard
from alertbot.telegram.states import Onboarding


async def start(
    message: Message,
    state: FSMContext,
    bot: Bot,
    l10n: Texts,
    subscriptions: SubscriptionService,
    officials: OfficialDirectory,
    menus: CommandMenus,
) -> None:
    await _welcome(message, state, l10n, subscriptions)
    if officials.is_official(message.chat.id):
        # An official's menu is refused until they open the bot; now Telegram knows the chat (best effort).
        await menus.set_chat(bot, message.chat.id, l10n.language, official=True)


async def _welcome(message: Message, state: FSMContext, l10n: Texts, subscriptions: SubscriptionService) -> None:
    subscriber = await subscriptions.get(message.chat.id)
    if subscriber is not None and not subscriber.active:
        await subscriptions.reactivate(message.chat.id)  # they had blocked the bot and are back
    if subscriber is not None and subscriber.districts:
        text = l10n("welcome-back") + "\n\n" + profile_text(l10n, subscriptions.districts, subscriber)
        await message.answer(text)
        return
    # The kind buttons work in any state: no flow starts until a business is asked to type its name.
    await message.answer(l10n("welcome"), reply_markup=kind_keyboard(l10n))


async def _ask_districts(
    show: Callable[..., Awaitable[object]],
    state: FSMContext,
    l10n: Texts,
    subscriber: Subscriber,
    districts: DistrictDirectory,
) -> None:
    """The last step: the district picker, shown by `show` (the tapped message's edit_text, or answer).

    The flow (a business's name step) ends here: the picker's buttons carry their mode, text is text again."""
    await state.clear()
    await show(
        l10n("choose-districts"),
        reply_markup=district_picker(l10n, districts, subscriber.districts, PickerMode.ONBOARDING),
    )


async def choose_kind(
    query: CallbackQuery,
    callback_data: KindChoice,
    state: FSMContext,
    l10n: Texts,
    subscriptions: SubscriptionService,
) -> None:
    message = tapped_message(query)
    if callback_data.kind is SubscriberKind.BUSINESS:
        await message.edit_text(l10n("choose-category"), reply_markup=category_keyboard(l10n))
        return
    subscriber = await subscriptions.register_resident(message.chat.id, l10n.language)
    await _ask_districts(message.edit_text, state, l10n, subscriber, subscriptions.districts)


async def choose_category(query: CallbackQuery, callback_data: CategoryChoice, state: FSMContext, l10n: Texts) -> None:
    message = tapped_message(query)
    await state.set_state(Onboarding.business_name)
    await state.update_data(category=callback_data.category.value)
    await message.edit_text(l10n("ask-business-name", max=BUSINESS_NAME_MAX))


async def business_name(message: Message, state: FSMContext, l10n: Texts, subscriptions: SubscriptionService) -> None:
    data = await state.get_data()
    category = BusinessCategory(data.get("category", BusinessCategory.OTHER.value))
    try:
        subscriber = await subscriptions.register_business(message.chat.id, l10n.language, category, message.text or "")
    except InvalidBusinessNameError:
        await message.answer(l10n("business-name-invalid", max=BUSINESS_NAME_MAX))
        return
    await _ask_districts(message.answer, state, l10n, subscriber, subscriptions.districts)


business_name_not_text = reply_with("business-name-not-text")


def build_router() -> Router:
    """A fresh router with this module's handlers (one per Dispatcher)."""
    router = private_chats_only(Router(name=__name__))
    router.message.register(start, CommandStart())
    router.callback_query.register(choose_kind, KindChoice.filter())
    router.callback_query.register(choose_category, CategoryChoice.filter())
    router.message.register(business_name, StateFilter(Onboarding.business_name), TEXT)
    router.message.register(business_name_not_text, StateFilter(Onboarding.business_name))
    return router
