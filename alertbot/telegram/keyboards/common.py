"""The keyboard builders every keyboard uses, and the residents' keyboards: onboarding, the district
pickers, language, /forgetme and the acknowledgement button under a campaign reminder."""

from __future__ import annotations

import functools
from collections.abc import Collection, Iterable

from aiogram.filters.callback_data import CallbackData
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

Button = tuple[str, CallbackData]  # a button's label and what a tap sends


def ticked(label: str, chosen: bool) -> str:
    return CHECKED + label if chosen else label


def _add(builder: InlineKeyboardBuilder, buttons: Iterable[Button]) -> None:
    for text, data in buttons:
        builder.button(text=text, callback_data=data)


def keyboard(buttons: Iterable[Button], *sizes: int) -> InlineKeyboardMarkup:
    """The buttons in order; in rows of `sizes` (as `InlineKeyboardBuilder.adjust` reads them) if given."""
    builder = InlineKeyboardBuilder()
    _add(builder, buttons)
    if sizes:
        builder.adjust(*sizes)
    return builder.as_markup()


def district_grid(districts: Iterable[Button], *after: Button) -> InlineKeyboardMarkup:
    """District buttons two a row, then the `after` buttons (Done, All districts, ...). The same builder calls
    as ever: an empty `row()` adds nothing in aiogram, so they join the last row while it has room (8)."""
    builder = InlineKeyboardBuilder()
    _add(builder, districts)
    builder.adjust(2)
    for button in after:
        builder.row()
        _add(builder, [button])
    return builder.as_markup()


def kind_keyboard(l10n: Texts) -> InlineKeyboardMarkup:
    return _kind_keyboard(l10n.translator, l10n.language)


@functools.cache
def _kind_keyboard(translator: Translator, language: Language) -> InlineKeyboardMarkup:
    # The same for everyone of a language, and every newcomer's /start shows it: built once.
    l10n = Texts(translator, language)
    return keyboard((l10n.plain(f"kind-{kind.value}"), KindChoice(kind=kind)) for kind in SubscriberKind)


def category_keyboard(l10n: Texts) -> InlineKeyboardMarkup:
    buttons = ((l10n.plain(f"category-{c.value}"), CategoryChoice(category=c)) for c in BusinessCategory)
    return keyboard(buttons, 2)


def district_picker(
    l10n: Texts, districts: DistrictDirectory, selected: Collection[str], mode: PickerMode
) -> InlineKeyboardMarkup:
    """Every district, ticked when subscribed; tapping toggles it. Ends with a Done button."""
    buttons = (
        (ticked(district.name(l10n.language), district.id in selected), DistrictToggle(mode=mode, district=district.id))
        for district in districts
    )
    return district_grid(buttons, (l10n.plain("picker-done"), PickerDone(mode=mode)))


def unsubscribe_picker(l10n: Texts, districts: DistrictDirectory, current: Collection[str]) -> InlineKeyboardMarkup:
    """The person's current districts; tapping one unsubscribes from it."""
    buttons = (
        (
            "❌ " + districts.name(district_id, l10n.language),
            DistrictToggle(mode=PickerMode.UNSUBSCRIBE, district=district_id),
        )
        for district_id in current
        if district_id in districts
    )
    return district_grid(buttons, (l10n.plain("unsubscribe-all-button"), UnsubscribeAll()))


def language_keyboard(l10n: Texts) -> InlineKeyboardMarkup:
    return keyboard((l10n.plain(f"language-name-{code}"), LanguageChoice(language=code)) for code in LANGUAGES)


def forget_keyboard(l10n: Texts) -> InlineKeyboardMarkup:
    return keyboard(
        [
            (l10n.plain("forgetme-yes"), ForgetChoice(confirmed=True)),
            (l10n.plain("forgetme-no"), ForgetChoice(confirmed=False)),
        ]
    )


def campaign_ack_keyboard(translator: Translator, language: Language, occurrence_id: int) -> InlineKeyboardMarkup:
    """The "I have completed the check" button under a campaign reminder."""
    return keyboard([(translator(language, "campaign-ack-button"), CampaignAck(occurrence_id=occurrence_id))])
