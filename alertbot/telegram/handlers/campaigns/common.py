"""What the campaign handlers share: a campaign's title, the districts it reaches, and scope."""

from __future__ import annotations

from alertbot.config import CampaignConfig, OfficialConfig
from alertbot.content.i18n import Texts
from alertbot.services.alerts import AlertService
from alertbot.services.campaigns import CampaignService
from alertbot.services.officials import ALL_DISTRICTS


def title(alerts: AlertService, campaign: CampaignConfig, l10n: Texts) -> str:
    return alerts.templates.catalog.get(campaign.template).title[l10n.language]


def district_ids(campaigns: CampaignService, campaign: CampaignConfig) -> list[str]:
    return campaigns.districts.ids if ALL_DISTRICTS in campaign.districts else list(campaign.districts)


def in_scope(campaigns: CampaignService, official: OfficialConfig, campaign: CampaignConfig) -> bool:
    return campaigns.officials.covers(official, district_ids(campaigns, campaign))
