"""Inline keyboards, built from the person's language and the configured districts."""

from __future__ import annotations

from collections.abc import Collection

from aiogram.types import InlineKeyboardMarkup
from aiogram.utils.keyboard import InlineKeyboardBuilder

from alertbot.content.i18n import Texts, Translator
from alertbot.core.domain import LANGUAGES, BusinessCategory, Language, SubscriberKind
from alertbot.services.districts import DistrictDirectory
from alertbot.telegram.callbacks import (
    CampaignAck,
    CategoryChoice,
    DistrictToggle,
    ForgetChoice,
    KindChoice,
    LanguageChoice,
    PickerDone,
    PickerMode,
    UnsubscribeAll,
)

CHECKED = "✅ "


def kind_keyboard(l10n: Texts) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    for kind in SubscriberKind:
        builder.button(text=l10n.plain(f"kind-{kind.value}"), callback_data=KindChoice(kind=kind))
    return builder.as_markup()


def category_keyboard(l10n: Texts) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    for category in BusinessCategory:
        builder.button(text=l10n.plain(f"category-{category.value}"), callback_data=CategoryChoice(category=category))
    builder.adjust(2)
    return builder.as_markup()


def district_picker(
    l10n: Texts, districts: DistrictDirectory, selected: Collection[str], mode: PickerMode
) -> InlineKeyboardMarkup:
    """Every district, ticked when subscribed; tapping toggles it. Ends with a Done button."""
    builder = InlineKeyboardBuilder()
    for district in districts:
        mark = CHECKED if district.id in selected else ""
        builder.button(
            text=mark + district.name(l10n.language),
            callback_data=DistrictToggle(mode=mode, district=district.id),
        )
    builder.adjust(2)
    builder.row()
    builder.button(text=l10n.plain("picker-done"), callback_data=PickerDone(mode=mode))
    return builder.as_markup()


def unsubscribe_picker(l10n: Texts, districts: DistrictDirectory, current: Collection[str]) -> InlineKeyboardMarkup:
    """The person's current districts; tapping one unsubscribes from it."""
    builder = InlineKeyboardBuilder()
    for district_id in current:
        if district_id in districts:
            builder.button(
                text="❌ " + districts.name(district_id, l10n.language),
                callback_data=DistrictToggle(mode=PickerMode.UNSUBSCRIBE, district=district_id),
            )
    builder.adjust(2)
    builder.row()
    builder.button(text=l10n.plain("unsubscribe-all-button"), callback_data=UnsubscribeAll())
    return builder.as_markup()


def language_keyboard(l10n: Texts) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    for language in LANGUAGES:
        builder.button(text=l10n.plain(f"language-name-{language}"), callback_data=LanguageChoice(language=language))
    return builder.as_markup()


def forget_keyboard(l10n: Texts) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    builder.button(text=l10n.plain("forgetme-yes"), callback_data=ForgetChoice(confirmed=True))
    builder.button(text=l10n.plain("forgetme-no"), callback_data=ForgetChoice(confirmed=False))
    return builder.as_markup()


def campaign_ack_keyboard(translator: Translator, language: Language, occurrence_id: int) -> InlineKeyboardMarkup:
    """The "I have completed the check" button under a campaign reminder."""
    builder = InlineKeyboardBuilder()
    builder.button(
        text=translator(language, "campaign-ack-button"), callback_data=CampaignAck(occurrence_id=occurrence_id)
    )
    return builder.as_markup()
