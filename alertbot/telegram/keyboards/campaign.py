"""Inline keyboards and labels of /campaigns and /stats, in the official's language.

A button offered here is a convenience, never a permission: CampaignService re-checks every tap (official,
scope) and audits refusals. Schedules are put in words for the common shapes (daily, weekly, monthly,
yearly at one time of day); anything else is shown as its cron text.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from zoneinfo import ZoneInfo

from aiogram.types import InlineKeyboardMarkup

from alertbot.config import CampaignConfig, SeasonWindow
from alertbot.content.i18n import Texts
from alertbot.services.campaigns import CampaignView
from alertbot.telegram.callbacks import (
    CampaignPause,
    CampaignPreview,
    CampaignRunAsk,
    CampaignRunCancel,
    CampaignRunConfirm,
)
from alertbot.telegram.formatting import join_names, local_time
from alertbot.telegram.keyboards.common import Button, keyboard

# -- labels ------------------------------------------------------------------------------------------


def _numbers(field: str, highest: int) -> list[int] | None:
    """The values of a cron field that lists plain numbers ("1", "1,15"); None for ranges, steps or '*'."""
    parts = field.split(",")
    if not all(part.isdigit() for part in parts):
        return None
    values = [int(part) for part in parts]
    return values if all(0 <= value <= highest for value in values) else None


def schedule_label(l10n: Texts, schedule: str) -> str:
    """The cron schedule in words where it has a common shape, else the cron text itself."""
    fields = schedule.split()
    if len(fields) == 5:
        minute, hour, day, month, weekday = fields
        if minute.isdigit() and hour.isdigit():
            time = f"{int(hour):02d}:{int(minute):02d}"
            days, months, weekdays = _numbers(day, 31), _numbers(month, 12), _numbers(weekday, 7)
            if (day, month, weekday) == ("*", "*", "*"):
                return l10n("campaign-schedule-daily", time=time)
            if (day, month) == ("*", "*") and weekdays:
                names = [l10n.plain(f"campaign-weekday-{d % 7}") for d in dict.fromkeys(weekdays)]
                return l10n("campaign-schedule-weekly", days=join_names(names, l10n.language), time=time)
            if (month, weekday) == ("*", "*") and days:
                listed = join_names((str(d) for d in days), l10n.language)
                return l10n("campaign-schedule-monthly", days=listed, time=time)
            if weekday == "*" and months and len(months) == 1 and days and len(days) == 1:
                return l10n("campaign-schedule-yearly", date=date_label(l10n, months[0], days[0]), time=time)
    return l10n("campaign-schedule-cron", cron=schedule)


def date_label(l10n: Texts, month: int, day: int) -> str:
    return l10n.plain("campaign-date", month=l10n.plain(f"campaign-month-{month}"), day=day)


def season_label(l10n: Texts, season: SeasonWindow | None) -> str:
    if season is None:
        return l10n.plain("campaign-season-all-year")

    def day(text: str) -> str:
        month, day_of_month = (int(part) for part in text.split("-"))
        return date_label(l10n, month, day_of_month)

    return l10n.plain("campaign-season", start=day(season.start), end=day(season.end))


def state_label(l10n: Texts, view: CampaignView) -> str:
    if not view.campaign.enabled:
        return l10n.plain("campaign-state-disabled")
    return l10n.plain("campaign-state-paused" if view.paused else "campaign-state-active")


def last_run_label(l10n: Texts, view: CampaignView, zone: ZoneInfo) -> str:
    counts = view.counts
    if counts.last_at is None:
        return l10n.plain("campaign-last-none")
    status = l10n.plain(f"campaign-status-{counts.last_status or 'sent'}")
    return l10n.plain("campaign-last", time=local_time(counts.last_at, zone), status=status)


# -- tables for /stats ---------------------------------------------------------------------------------


def _width(text: str) -> int:
    """Columns a monospace font gives `text`: Chinese characters take two."""
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def text_table(header: Sequence[str], rows: Sequence[Sequence[str | int]]) -> str:
    """Plain-text columns: the first left-aligned, the others right-aligned (for a <pre> block)."""
    cells = [[str(c) for c in header], *([str(c) for c in row] for row in rows)]
    widths = [max(_width(row[i]) for row in cells) for i in range(len(header))]
    lines = []
    for row in cells:
        first = row[0] + " " * (widths[0] - _width(row[0]))
        rest = [" " * (widths[i] - _width(cell)) + cell for i, cell in enumerate(row[1:], start=1)]
        lines.append("  ".join([first, *rest]).rstrip())
    return "\n".join(lines)


# -- keyboards ----------------------------------------------------------------------------------------


def campaigns_keyboard(l10n: Texts, numbered: Sequence[tuple[int, CampaignView]]) -> InlineKeyboardMarkup | None:
    """One row per campaign the official may act on: Pause/Resume, Preview, Run now (numbered as listed)."""
    if not numbered:
        return None
    buttons: list[Button] = []
    for n, view in numbered:
        campaign_id = view.campaign.id
        toggle = "campaign-button-resume" if view.paused else "campaign-button-pause"
        buttons += [
            (l10n.plain(toggle, n=n), CampaignPause(campaign=campaign_id, paused=not view.paused)),
            (l10n.plain("campaign-button-preview", n=n), CampaignPreview(campaign=campaign_id)),
            (l10n.plain("campaign-button-run", n=n), CampaignRunAsk(campaign=campaign_id)),
        ]
    return keyboard(buttons, 3)


def run_confirm_keyboard(l10n: Texts, campaign: CampaignConfig, title: str) -> InlineKeyboardMarkup:
    """The confirm button names the campaign, so a tap cannot send the wrong one."""
    return keyboard(
        [
            (l10n.plain("campaign-run-confirm", title=title), CampaignRunConfirm(campaign=campaign.id)),
            (l10n.plain("campaign-run-cancel"), CampaignRunCancel(campaign=campaign.id)),
        ],
        1,
    )
