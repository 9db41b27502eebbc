"""/stats for officials: subscribers per district and kind, and how many confirmed each campaign's reminders.

Both cover the districts of the official's scope only. The answer is a chart (a PNG drawn in a worker
thread) with the text tables as its caption, or after it when they are longer than a caption may be; if the
chart cannot be drawn or sent, the tables alone.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping, Sequence
from datetime import datetime

from aiogram.exceptions import TelegramBadRequest
from aiogram.types import BufferedInputFile, Message

from alertbot.config import CampaignConfig, OfficialConfig
from alertbot.content.charts import AckRates, ChartLabels, DistrictCounts, DistrictRate, StatsChart, stats_chart
from alertbot.content.i18n import Texts
from alertbot.content.telegram_html import TelegramHtmlError, check_telegram_html
from alertbot.services.alerts import AlertService
from alertbot.services.campaigns import CampaignService
from alertbot.telegram.answers import answer_in_parts, user_id
from alertbot.telegram.handlers.campaigns.common import district_ids, title
from alertbot.telegram.keyboards.campaign import text_table

log = logging.getLogger(__name__)

MAX_CAPTION_LENGTH = 1024  # a photo's caption, after parsing (UTF-16 units)
KINDS = ("resident", "business")

Counts = Mapping[str, Mapping[str, int]]  # district -> kind -> active subscribers
Rates = Mapping[str, tuple[int, int]]  # district -> (received, confirmed)


def _scope(campaigns: CampaignService, official: OfficialConfig) -> list[str]:
    return [d for d in campaigns.districts.ids if campaigns.officials.covers(official, [d])]


async def stats(message: Message, l10n: Texts, alerts: AlertService, campaigns: CampaignService) -> None:
    """Subscribers per district and kind, and the confirmation rate by district of each campaign that asks
    for confirmations: both for the districts of the official's scope, as a chart and as text."""
    official = await alerts.official(user_id(message), "stats")
    scope = _scope(campaigns, official)
    counts = await campaigns.subscribers_by_district_and_kind()
    ack_campaigns = [c for c in campaigns.campaigns.values() if c.ack and set(district_ids(campaigns, c)) & set(scope)]
    rates = [(campaign, await campaigns.ack_rate_by_district(campaign.id)) for campaign in ack_campaigns]

    sections = [_subscribers_section(l10n, campaigns, scope, counts)]
    sections += [_ack_section(l10n, alerts, campaigns, campaign, scope, by_district) for campaign, by_district in rates]
    if not ack_campaigns:
        sections.append(l10n("stats-no-ack-campaigns"))

    png = await _render(l10n, alerts, campaigns, scope, counts, rates)
    await _send(message, sections, png)


def _subscribers_section(l10n: Texts, campaigns: CampaignService, scope: Sequence[str], counts: Counts) -> str:
    rows: list[list[str | int]] = []
    for district in scope:
        residents, businesses = (counts.get(district, {}).get(kind, 0) for kind in KINDS)
        rows.append([campaigns.districts.name(district, l10n.language), residents, businesses, residents + businesses])
    header = [l10n.plain(f"stats-col-{c}") for c in ("district", "residents", "businesses", "total")]
    return l10n("stats-subscribers", table=text_table(header, rows))


def _ack_section(
    l10n: Texts,
    alerts: AlertService,
    campaigns: CampaignService,
    campaign: CampaignConfig,
    scope: Sequence[str],
    rates: Rates,
) -> str:
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


# -- the chart ----------------------------------------------------------------------------------------


async def _render(
    l10n: Texts,
    alerts: AlertService,
    campaigns: CampaignService,
    scope: Sequence[str],
    counts: Counts,
    rates: Sequence[tuple[CampaignConfig, Rates]],
) -> bytes | None:
    """The chart in the official's language (in English when no installed font draws it), or None if it
    could not be drawn."""
    date = datetime.now(campaigns.zone).strftime("%Y-%m-%d %H:%M")
    try:
        chart = _chart(l10n, alerts, campaigns, scope, counts, rates, date)
        english = Texts(l10n.translator, "en")
        latin = None if l10n.language == "en" else _chart(english, alerts, campaigns, scope, counts, rates, date)
        return await asyncio.to_thread(stats_chart, chart, latin)  # off the event loop: ~0.2 s of CPU
    except Exception:
        log.exception("could not draw the /stats chart; sending the tables alone")
        return None


def _chart(
    l10n: Texts,
    alerts: AlertService,
    campaigns: CampaignService,
    scope: Sequence[str],
    counts: Counts,
    rates: Sequence[tuple[CampaignConfig, Rates]],
    date: str,
) -> StatsChart:
    def name(district: str) -> str:
        return campaigns.districts.name(district, l10n.language)

    subscribers = [
        DistrictCounts(name(d), counts.get(d, {}).get("resident", 0), counts.get(d, {}).get("business", 0))
        for d in scope
    ]
    acks = [
        AckRates(
            l10n.plain("stats-chart-acks", title=title(alerts, campaign, l10n)),
            [DistrictRate(name(d), *by_district[d]) for d in scope if by_district.get(d, (0, 0))[0]],
        )
        for campaign, by_district in rates
    ]
    labels = ChartLabels(
        title=l10n.plain("stats-chart-title", date=date),
        subscribers=l10n.plain("stats-chart-subscribers"),
        residents=l10n.plain("stats-chart-residents"),
        businesses=l10n.plain("stats-chart-businesses"),
        subscribers_axis=l10n.plain("stats-chart-subscribers-axis"),
        rate_axis=l10n.plain("stats-chart-rate-axis"),
        no_deliveries=l10n.plain("stats-chart-no-deliveries"),
    )
    return StatsChart(subscribers, acks, labels)


async def _send(message: Message, sections: Sequence[str], png: bytes | None) -> None:
    """The chart with the tables as its caption if they fit, else the chart and then the tables; the tables
    alone without a chart (or when Telegram refuses it)."""
    if png is not None:
        caption = "\n\n".join(sections)
        fits = _caption_fits(caption)
        try:
            await message.answer_photo(BufferedInputFile(png, "stats.png"), caption=caption if fits else None)
        except TelegramBadRequest as error:
            log.warning("Telegram refused the /stats chart (%s); sending the tables alone", error)
        else:
            if fits:
                return
    await answer_in_parts(message, sections)


def _caption_fits(text: str) -> bool:
    try:
        check_telegram_html(text, limit=MAX_CAPTION_LENGTH)
    except TelegramHtmlError:
        return False
    return True
