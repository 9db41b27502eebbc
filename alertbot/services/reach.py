"""How a preview's reach reads, in the official's language: each channel post with its members, per language group
and in total the direct recipients and the estimated time to the last direct message, and what paid speed costs.
Shared by the chat and the command line."""

from __future__ import annotations

import math

from alertbot.content.i18n import Texts
from alertbot.core.domain import LANGUAGES
from alertbot.services.alerts import Preview


def duration(l10n: Texts, seconds: float) -> str:
    """A wait as people read it: '34 s', '5 min 10 s' (rounded up to a whole second)."""
    whole = max(0, math.ceil(seconds))
    if whole < 60:
        return l10n.plain("duration-seconds", seconds=whole)
    return l10n.plain("duration-minutes", minutes=whole // 60, seconds=whole % 60)


def reach_notes(l10n: Texts, preview: Preview) -> list[str]:
    """Channel posts with their members, then per language group and in total: reach, direct recipients and
    the estimated time until the last direct message; and what paid speed costs."""
    notes = []
    for channel in preview.channels:
        problem = (
            l10n.plain("alert-preview-channel-problem", problem=channel.problem or "?")
            if channel.usable is False
            else ""
        )
        notes.append(
            l10n.plain(
                "alert-preview-channel", channel=channel.channel, members=members_text(channel.members),
                language=l10n.plain(f"alert-language-{channel.language}"), problem=problem,
            )
        )  # fmt: skip
    estimate = preview.estimate
    if estimate is None:
        return notes
    eta = duration(l10n, estimate.seconds)
    for language in LANGUAGES:
        notes.append(
            l10n.plain(
                "alert-preview-group", language=l10n.plain(f"alert-language-{language}"),
                members=members_text(preview.reach(language)), direct=preview.recipients.get(language, 0), eta=eta,
            )
        )  # fmt: skip
    ahead = l10n.plain("alert-preview-eta-ahead", ahead=estimate.ahead) if estimate.ahead else ""
    notes.append(l10n.plain("alert-preview-eta", direct=preview.total, eta=eta, rate=f"{estimate.rate:g}", ahead=ahead))
    if estimate.paid:
        notes.append(l10n.plain("alert-preview-paid", charged=estimate.charged, stars=f"{estimate.stars:g}"))
    return notes


def members_text(count: int | None) -> str:
    return "?" if count is None else f"{count:,}"
