"""A campaign's reminder as sent (its template filled in for a moment) and the follow-up that repeats it.

Every campaign is rendered once at start, in every language, so a broken one fails then, not at 3 a.m.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from alertbot.config import CampaignConfig
from alertbot.content.i18n import Translator
from alertbot.content.telegram_html import TelegramHtmlError, check_telegram_html
from alertbot.content.templates import MessageTemplates
from alertbot.core.clock import utcnow
from alertbot.core.domain import LANGUAGES, Language
from alertbot.core.errors import ConfigError, TemplateProblem
from alertbot.services.districts import DistrictDirectory
from alertbot.services.formatting import join_districts, local_time
from alertbot.services.officials import ALL_DISTRICTS

log = logging.getLogger("alertbot.services.campaigns")  # the campaign service's: its records keep their name


@dataclass(frozen=True)
class ReminderTexts:
    """The campaigns' texts, rendered in the bot's zone; nothing is audited or stored here."""

    templates: MessageTemplates
    translator: Translator
    districts: DistrictDirectory
    zone: ZoneInfo

    def check(self, campaigns: Iterable[CampaignConfig]) -> None:
        """Refuse (ConfigError, naming `campaigns[n]`) a campaign whose template, variables or texts would fail."""
        for n, campaign in enumerate(campaigns):
            try:
                spec = self.templates.catalog.get(campaign.template)
            except TemplateProblem:
                raise ConfigError(f"campaigns[{n}].template: unknown template {campaign.template!r}") from None
            if spec.kind != "reminder":
                raise ConfigError(f"campaigns[{n}].template: {campaign.template!r} is not a reminder template")
            declared = {v.name for v in spec.variables}
            unknown = sorted(set(campaign.variables) - declared)
            if unknown:
                raise ConfigError(f"campaigns[{n}].variables: {campaign.template!r} has no {', '.join(unknown)}")
            for language in LANGUAGES:
                reminder = self.render(campaign, language, utcnow())
                if campaign.follow_up_after is not None:
                    self._check_follow_up(n, campaign, language, reminder)

    def render(self, campaign: CampaignConfig, language: Language, at: datetime) -> str:
        """The reminder exactly as the campaign would send it at `at`."""
        spec = self.templates.catalog.get(campaign.template)
        values = {v.name: "" for v in spec.variables} | dict(campaign.variables)
        if ALL_DISTRICTS in campaign.districts:
            values["districts"] = self.translator(language, "campaign-all-districts")
        else:
            values["districts"] = join_districts(self.districts, campaign.districts, language)
        values["issued_at"] = local_time(at, self.zone)
        return self.templates.render(campaign.template, language, values).text

    def follow_up(self, language: Language, reminder: str) -> str:
        """The follow-up: a header above the reminder as it was sent. Its length is checked at start
        (`check`); should a stored reminder still make it too long (sent under an older config), the
        header goes alone: the reminder is in the chat already, and the button is attached."""
        header, text = self._follow_up_parts(language, reminder)
        try:
            check_telegram_html(text)
        except TelegramHtmlError as problem:
            log.error("campaign follow-up (%s) sent without the reminder: %s", language, problem)
            return header
        return text

    def _follow_up_parts(self, language: Language, reminder: str) -> tuple[str, str]:
        header = self.translator(language, "campaign-follow-up-header")
        return header, f"{header}\n\n{reminder}"

    def _check_follow_up(self, n: int, campaign: CampaignConfig, language: Language, reminder: str) -> None:
        """Refuse at start a campaign whose follow-up (the header plus the reminder) Telegram would refuse."""
        try:
            check_telegram_html(self._follow_up_parts(language, reminder)[1])
        except TelegramHtmlError as problem:
            raise ConfigError(
                f"campaigns[{n}].follow_up_after: the follow-up of {campaign.id!r} in {language} would be refused "
                f"by Telegram ({problem}): shorten the reminder (campaigns[{n}].variables) or drop follow_up_after"
            ) from None
