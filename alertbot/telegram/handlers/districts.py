"""/subscribe and /unsubscribe, typed or with the inline district picker."""

from __future__ import annotations

from aiogram import Router
from aiogram.filters import CommandObject
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message
from aiogram.utils.callback_answer import CallbackAnswer

from alertbot.content.i18n import Texts
from alertbot.core.errors import UnknownDistrictError
from alertbot.services.districts import DistrictDirectory
from alertbot.services.subscriptions import SubscriptionService
from alertbot.telegram.answers import refuse
from alertbot.telegram.callbacks import DistrictToggle, PickerDone, PickerMode, UnsubscribeAll
from alertbot.telegram.filters import private_router
from alertbot.telegram.formatting import district_names, join_names, valid_districts
from alertbot.telegram.keyboards.common import district_picker, unsubscribe_picker

ALL_WORDS = {"all", "全部", "所有"}


def _unknown(l10n: Texts, subscriptions: SubscriptionService, error: UnknownDistrictError) -> str:
    return l10n(
        "unknown-district",
        unknown=join_names(error.unknown, l10n.language),
        valid=valid_districts(subscriptions.districts, l10n.language),
    )


def _outcome(
    l10n: Texts, directory: DistrictDirectory, wanted: list[str], changed: list[str], changed_key: str, same_key: str
) -> str:
    """The reply to a typed (un)subscribe: which districts changed, and which already were as asked."""
    unchanged = [d for d in wanted if d not in changed]
    lines = [
        l10n(key, districts=district_names(directory, ids, l10n.language))
        for key, ids in ((changed_key, changed), (same_key, unchanged))
        if ids
    ]
    return "\n".join(lines)


async def subscribe(message: Message, command: CommandObject, l10n: Texts, subscriptions: SubscriptionService) -> None:
    chat_id, directory = message.chat.id, subscriptions.districts
    if not command.args:
        subscriber = await subscriptions.ensure(chat_id, l10n.language)
        await message.answer(
            l10n("choose-districts"),
            reply_markup=district_picker(l10n, directory, subscriber.districts, PickerMode.SUBSCRIBE),
        )
        return
    try:
        wanted = directory.resolve(command.args.split())
    except UnknownDistrictError as error:
        await message.answer(_unknown(l10n, subscriptions, error))
        return
    added = await subscriptions.subscribe(chat_id, l10n.language, wanted)
    await message.answer(_outcome(l10n, directory, wanted, added, "subscribed", "already-subscribed"))


async def unsubscribe(
    message: Message, command: CommandObject, l10n: Texts, subscriptions: SubscriptionService
) -> None:
    chat_id, directory = message.chat.id, subscriptions.districts
    words = (command.args or "").split()
    if not words:
        subscriber = await subscriptions.get(chat_id)
        if subscriber is None or not subscriber.districts:
            await message.answer(l10n("no-subscriptions"))
            return
        await message.answer(
            l10n("choose-unsubscribe"), reply_markup=unsubscribe_picker(l10n, directory, subscriber.districts)
        )
        return
    if len(words) == 1 and words[0].casefold() in ALL_WORDS:
        await subscriptions.unsubscribe(chat_id, None)
        await message.answer(l10n("unsubscribed-all"))
        return
    try:
        wanted = directory.resolve(words)
    except UnknownDistrictError as error:
        await message.answer(_unknown(l10n, subscriptions, error))
        return
    removed = await subscriptions.unsubscribe(chat_id, wanted)
    await message.answer(_outcome(l10n, directory, wanted, removed, "unsubscribed", "not-subscribed-to"))


async def toggle_district(
    query: CallbackQuery,
    callback_data: DistrictToggle,
    callback_answer: CallbackAnswer,
    l10n: Texts,
    subscriptions: SubscriptionService,
) -> None:
    assert isinstance(query.message, Message)
    chat_id, directory, district = query.message.chat.id, subscriptions.districts, callback_data.district
    if district not in directory:
        refuse(callback_answer, l10n, "picker-district-unknown")
        return
    if callback_data.mode is PickerMode.UNSUBSCRIBE:
        await subscriptions.unsubscribe(chat_id, [district])
        subscriber = await subscriptions.get(chat_id)
        remaining = subscriber.districts if subscriber else ()
        if not remaining:
            await query.message.edit_text(l10n("unsubscribed-all"))
            return
        callback_answer.text = l10n.plain("unsubscribed", districts=directory.name(district, l10n.language))
        await query.message.edit_reply_markup(reply_markup=unsubscribe_picker(l10n, directory, remaining))
        return
    now_subscribed = await subscriptions.toggle(chat_id, l10n.language, district)
    subscriber = await subscriptions.get(chat_id)
    key = "subscribed" if now_subscribed else "unsubscribed"
    callback_answer.text = l10n.plain(key, districts=directory.name(district, l10n.language))
    await query.message.edit_reply_markup(
        reply_markup=district_picker(l10n, directory, subscriber.districts if subscriber else (), callback_data.mode)
    )


async def picker_done(
    query: CallbackQuery,
    state: FSMContext,
    callback_answer: CallbackAnswer,
    l10n: Texts,
    subscriptions: SubscriptionService,
) -> None:
    assert isinstance(query.message, Message)
    subscriber = await subscriptions.get(query.message.chat.id)
    if subscriber is None or not subscriber.districts:
        refuse(callback_answer, l10n, "onboarding-no-district")
        return
    await state.clear()
    names = district_names(subscriptions.districts, subscriber.districts, l10n.language)
    await query.message.edit_text(l10n("onboarding-done", districts=names))


async def unsubscribe_all(query: CallbackQuery, l10n: Texts, subscriptions: SubscriptionService) -> None:
    assert isinstance(query.message, Message)
    await subscriptions.unsubscribe(query.message.chat.id, None)
    await query.message.edit_text(l10n("unsubscribed-all"))


def build_router() -> Router:
    """A fresh router with this module's handlers (one per Dispatcher)."""
    return private_router(
        __name__,
        commands={"subscribe": subscribe, "unsubscribe": unsubscribe},
        taps={DistrictToggle: toggle_district, PickerDone: picker_done, UnsubscribeAll: unsubscribe_all},
    )
