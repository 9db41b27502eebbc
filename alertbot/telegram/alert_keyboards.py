"""Inline keyboards and labels of the /alert flow, in the official's language.

What a keyboard offers is a convenience, never a permission: the handlers re-check every tap and
AlertService re-checks the whole draft at preview and confirm.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime
from zoneinfo import ZoneInfo

from aiogram.types import InlineKeyboardMarkup
from aiogram.utils.keyboard import InlineKeyboardBuilder

from alertbot.content.i18n import Texts
from alertbot.content.templates import TemplateSpec
from alertbot.core.domain import Audience, BusinessCategory, Severity, SubscriberKind
from alertbot.services.alerts import Preview
from alertbot.services.districts import DistrictDirectory
from alertbot.services.officials import ALL_DISTRICTS
from alertbot.telegram.callbacks import (
    AlertAudienceChoice,
    AlertCancel,
    AlertConfirm,
    AlertDistrictsDone,
    AlertDistrictToggle,
    AlertModeChoice,
    AlertSendAt,
    AlertSeverityChoice,
    AlertSkip,
    AlertTemplateChoice,
)

CHECKED = "✅ "


# Every audience an official may choose, in the order offered: everyone, residents, businesses, categories.
AUDIENCES: tuple[Audience, ...] = (
    Audience(),
    Audience(SubscriberKind.RESIDENT),
    Audience(SubscriberKind.BUSINESS),
    *(Audience(SubscriberKind.BUSINESS, category) for category in BusinessCategory),
)


def audience_label(l10n: Texts, audience: Audience) -> str:
    if audience.category is not None:
        return l10n.plain("audience-business", category=l10n.plain(f"category-{audience.category.value}"))
    if audience.kind is SubscriberKind.RESIDENT:
        return l10n.plain("audience-residents")
    if audience.kind is SubscriberKind.BUSINESS:
        return l10n.plain("audience-businesses")
    return l10n.plain("audience-all")


def severity_label(l10n: Texts, severity: Severity | None) -> str:
    return l10n.plain(f"severity-{severity.value}") if severity else l10n.plain("alert-no-severity")


def mode_label(l10n: Texts, exercise: bool) -> str:
    return l10n.plain("alert-mode-exercise" if exercise else "alert-mode-live")


def template_keyboard(l10n: Texts, templates: Sequence[TemplateSpec]) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    for spec in templates:
        builder.button(text=spec.title[l10n.language], callback_data=AlertTemplateChoice(template=spec.id))
    builder.adjust(2)
    return builder.as_markup()


def skip_keyboard(l10n: Texts, variable: str) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    builder.button(text=l10n.plain("alert-skip"), callback_data=AlertSkip(variable=variable))
    return builder.as_markup()


def district_keyboard(
    l10n: Texts, districts: DistrictDirectory, scope: Sequence[str], selected: Collection[str], *, everywhere: bool
) -> InlineKeyboardMarkup:
    """The districts of the official's scope, ticked when chosen; "All districts" only for scope "*"."""
    builder = InlineKeyboardBuilder()
    for district_id in scope:
        mark = CHECKED if district_id in selected else ""
        builder.button(
            text=mark + districts.name(district_id, l10n.language),
            callback_data=AlertDistrictToggle(district=district_id),
        )
    builder.adjust(2)
    if everywhere:
        mark = CHECKED if scope and set(scope) <= set(selected) else ""
        builder.row()
        builder.button(
            text=mark + l10n.plain("alert-all-districts"), callback_data=AlertDistrictToggle(district=ALL_DISTRICTS)
        )
    builder.row()
    builder.button(text=l10n.plain("alert-districts-done"), callback_data=AlertDistrictsDone())
    return builder.as_markup()


def audience_keyboard(l10n: Texts) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    for audience in AUDIENCES:
        builder.button(
            text=audience_label(l10n, audience),
            callback_data=AlertAudienceChoice(kind=audience.kind, category=audience.category),
        )
    builder.adjust(1, 2, 2)
    return builder.as_markup()


def severity_keyboard(l10n: Texts, suggested: Severity | None) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    for severity in Severity:
        label = severity_label(l10n, severity)
        if severity is suggested:
            label = l10n.plain("alert-suggested", label=label)
        builder.button(text=label, callback_data=AlertSeverityChoice(severity=severity))
    builder.adjust(1)
    return builder.as_markup()


def mode_keyboard(l10n: Texts) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    builder.button(text=l10n.plain("alert-mode-live-button"), callback_data=AlertModeChoice(exercise=False))
    builder.button(text=l10n.plain("alert-mode-exercise-button"), callback_data=AlertModeChoice(exercise=True))
    return builder.as_markup()


def confirm_label(l10n: Texts, *, exercise: bool, total: int, needs_approval: bool, at: str | None = None) -> str:
    """The confirm button: the mode and the recipient count (or a request for approval), and the sending
    time when it is scheduled."""
    key = "alert-confirm-request" if needs_approval else "alert-confirm-exercise" if exercise else "alert-confirm-live"
    args: dict[str, str | int] = {"total": total, "mode": mode_label(l10n, exercise)}
    if at is not None:
        key, args["time"] = key + "-at", at
    return l10n.plain(key, **args)


def send_at_label(when: datetime, zone: ZoneInfo) -> str:
    """A sending time as the bot's zone shows it, short: "12-01 08:00" (the year only if it is not this one)."""
    local, now = when.astimezone(zone), datetime.now(zone)
    return local.strftime("%m-%d %H:%M" if local.year == now.year else "%Y-%m-%d %H:%M")


def confirm_keyboard(l10n: Texts, preview: Preview) -> InlineKeyboardMarkup:
    """Confirm, "⏰ Send at…" (not for follow-ups: they go out at once), then Cancel."""
    draft = preview.draft
    label = confirm_label(l10n, exercise=draft.exercise, total=preview.total, needs_approval=preview.needs_approval)
    builder = InlineKeyboardBuilder()
    builder.button(text=label, callback_data=AlertConfirm(force_duplicate=False))
    if draft.follows_id is None:
        builder.button(text=l10n.plain("alert-send-at"), callback_data=AlertSendAt())
    builder.button(text=l10n.plain("alert-cancel"), callback_data=AlertCancel())
    builder.adjust(1)
    return builder.as_markup()


def scheduled_confirm_keyboard(l10n: Texts, label: str) -> InlineKeyboardMarkup:
    """Confirm a scheduled send (the label names mode, count and time), then Cancel."""
    builder = InlineKeyboardBuilder()
    builder.button(text=label, callback_data=AlertConfirm(force_duplicate=False))
    builder.button(text=l10n.plain("alert-cancel"), callback_data=AlertCancel())
    builder.adjust(1)
    return builder.as_markup()


def cancel_keyboard(l10n: Texts) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    builder.button(text=l10n.plain("alert-cancel"), callback_data=AlertCancel())
    return builder.as_markup()


def duplicate_keyboard(l10n: Texts) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    builder.button(text=l10n.plain("alert-send-again"), callback_data=AlertConfirm(force_duplicate=True))
    builder.button(text=l10n.plain("alert-cancel"), callback_data=AlertCancel())
    builder.adjust(1)
    return builder.as_markup()
