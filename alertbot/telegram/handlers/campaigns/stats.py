"""/stats for officials: subscribers per district and kind, and how many confirmed each campaign's reminders.

Both tables cover the districts of the official's scope only.
"""

from __future__ import annotations

from collections.abc import Sequence

from aiogram.types import Message

from alertbot.config import CampaignConfig, OfficialConfig
from alertbot.content.i18n import Texts
from alertbot.services.alerts import AlertService
from alertbot.services.campaigns import CampaignService
from alertbot.telegram.answers import answer_in_parts, user_id
from alertbot.telegram.handlers.campaigns.common import district_ids, title
from alertbot.telegram.keyboards.campaign import text_table


def _scope(campaigns: CampaignService, official: OfficialConfig) -> list[str]:
    return [d for d in campaigns.districts.ids if campaigns.officials.covers(official, [d])]


async def stats(message: Message, l10n: Texts, alerts: AlertService, campaigns: CampaignService) -> None:
    """Subscribers per district and kind, and the confirmation rate by district of each campaign that asks
    for confirmations: both for the districts of the official's scope."""
    official = await alerts.official(user_id(message), "stats")
    language, scope = l10n.language, _scope(campaigns, official)
    counts = await campaigns.subscribers_by_district_and_kind()
    rows: list[list[str | int]] = []
    for district in scope:
        residents, businesses = (counts.get(district, {}).get(kind, 0) for kind in ("resident", "business"))
        rows.append([campaigns.districts.name(district, language), residents, businesses, residents + businesses])
    header = [l10n.plain(f"stats-col-{c}") for c in ("district", "residents", "businesses", "total")]
    sections = [l10n("stats-subscribers", table=text_table(header, rows))]
    ack_campaigns = [c for c in campaigns.campaigns.values() if c.ack and set(district_ids(campaigns, c)) & set(scope)]
    for campaign in ack_campaigns:
        sections.append(await _ack_section(l10n, alerts, campaigns, campaign, scope))
    if not ack_campaigns:
        sections.append(l10n("stats-no-ack-campaigns"))
    await answer_in_parts(message, sections)


async def _ack_section(
    l10n: Texts, alerts: AlertService, campaigns: CampaignService, campaign: CampaignConfig, scope: Sequence[str]
) -> str:
    rates = await campaigns.ack_rate_by_district(campaign.id)
    rows: list[list[str | int]] = []
    for district in scope:
        received, confirmed = rates.get(district, (0, 0))
        if received:
            name = campaigns.districts.name(district, l10n.language)
            rows.append([name, received, confirmed, f"{round(100 * confirmed / received)}%"])
    heading = title(alerts, campaign, l10n)
    if not rows:
        return l10n("stats-acks-empty", title=heading)
    header = [l10n.plain(f"stats-col-{c}") for c in ("district", "received", "confirmed", "rate")]
    return l10n("stats-acks", title=heading, table=text_table(header, rows))
