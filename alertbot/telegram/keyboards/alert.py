"""Inline keyboards and labels of the /alert flow, in the official's language.

What a keyboard offers is a convenience, never a permission: the handlers re-check every tap and
AlertService re-checks the whole draft at preview and confirm.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime
from zoneinfo import ZoneInfo

from aiogram.types import InlineKeyboardMarkup

from alertbot.content.i18n import Texts
from alertbot.content.templates import TemplateSpec
from alertbot.core.domain import Audience, BusinessCategory, Severity, SubscriberKind
from alertbot.services.alerts import Preview
from alertbot.services.districts import DistrictDirectory
from alertbot.services.officials import ALL_DISTRICTS
from alertbot.telegram import callbacks
from alertbot.telegram.formatting import TIME_FORMAT
from alertbot.telegram.keyboards.common import Button, district_grid, keyboard, ticked

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
    buttons = ((spec.title[l10n.language], callbacks.AlertTemplateChoice(template=spec.id)) for spec in templates)
    return keyboard(buttons, 2)


def skip_keyboard(l10n: Texts, variable: str) -> InlineKeyboardMarkup:
    return keyboard([(l10n.plain("alert-skip"), callbacks.AlertSkip(variable=variable))])


def district_keyboard(
    l10n: Texts, districts: DistrictDirectory, scope: Sequence[str], selected: Collection[str], *, everywhere: bool
) -> InlineKeyboardMarkup:
    """The districts of the official's scope, ticked when chosen; "All districts" only for scope "*"."""
    buttons = (
        (ticked(districts.name(d, l10n.language), d in selected), callbacks.AlertDistrictToggle(district=d))
        for d in scope
    )
    below: list[Button] = []
    if everywhere:
        all_chosen = bool(scope) and set(scope) <= set(selected)
        below.append(
            (
                ticked(l10n.plain("alert-all-districts"), all_chosen),
                callbacks.AlertDistrictToggle(district=ALL_DISTRICTS),
            )
        )
    below.append((l10n.plain("alert-districts-done"), callbacks.AlertDistrictsDone()))
    return district_grid(buttons, *below)


def audience_keyboard(l10n: Texts) -> InlineKeyboardMarkup:
    buttons = (
        (audience_label(l10n, audience), callbacks.AlertAudienceChoice(kind=audience.kind, category=audience.category))
        for audience in AUDIENCES
    )
    return keyboard(buttons, 1, 2, 2)


def severity_keyboard(l10n: Texts, suggested: Severity | None) -> InlineKeyboardMarkup:
    def label(severity: Severity) -> str:
        text = severity_label(l10n, severity)
        return l10n.plain("alert-suggested", label=text) if severity is suggested else text

    return keyboard(((label(s), callbacks.AlertSeverityChoice(severity=s)) for s in Severity), 1)


def mode_keyboard(l10n: Texts) -> InlineKeyboardMarkup:
    return keyboard(
        [
            (l10n.plain("alert-mode-live-button"), callbacks.AlertModeChoice(exercise=False)),
            (l10n.plain("alert-mode-exercise-button"), callbacks.AlertModeChoice(exercise=True)),
        ]
    )


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
    return local.strftime("%m-%d %H:%M" if local.year == now.year else TIME_FORMAT)


def _cancel(l10n: Texts) -> Button:
    return l10n.plain("alert-cancel"), callbacks.AlertCancel()


def confirm_keyboard(l10n: Texts, preview: Preview) -> InlineKeyboardMarkup:
    """Confirm, "⏰ Send at…" (not for follow-ups: they go out at once), then Cancel."""
    draft = preview.draft
    label = confirm_label(l10n, exercise=draft.exercise, total=preview.total, needs_approval=preview.needs_approval)
    buttons: list[Button] = [(label, callbacks.AlertConfirm(force_duplicate=False))]
    if draft.follows_id is None:
        buttons.append((l10n.plain("alert-send-at"), callbacks.AlertSendAt()))
    return keyboard([*buttons, _cancel(l10n)], 1)


def scheduled_confirm_keyboard(l10n: Texts, label: str) -> InlineKeyboardMarkup:
    """Confirm a scheduled send (the label names mode, count and time), then Cancel."""
    return keyboard([(label, callbacks.AlertConfirm(force_duplicate=False)), _cancel(l10n)], 1)


def cancel_keyboard(l10n: Texts) -> InlineKeyboardMarkup:
    return keyboard([_cancel(l10n)])


def duplicate_keyboard(l10n: Texts) -> InlineKeyboardMarkup:
    return keyboard([(l10n.plain("alert-send-again"), callbacks.AlertConfirm(force_duplicate=True)), _cancel(l10n)], 1)
