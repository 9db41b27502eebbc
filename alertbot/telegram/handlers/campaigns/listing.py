"""/campaigns for officials: the list of campaigns, and its buttons Pause/Resume, Preview and Run now.

CampaignService decides who may pause, preview or run a campaign (official, scope) and audits every action
and refusal. Callback data is never trusted: each tap goes through the service again, and a refusal is
answered with a pop-up.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence

from aiogram.exceptions import TelegramBadRequest
from aiogram.types import CallbackQuery, InaccessibleMessage, InlineKeyboardMarkup, Message
from aiogram.utils.callback_answer import CallbackAnswer

from alertbot.config import CampaignConfig, OfficialConfig
from alertbot.content.i18n import Texts
from alertbot.core.clock import utcnow
from alertbot.core.domain import LANGUAGES, Audience
from alertbot.core.errors import CampaignError
from alertbot.services.alerts import AlertService
from alertbot.services.campaigns import CampaignService, CampaignView
from alertbot.services.officials import ALL_DISTRICTS
from alertbot.telegram.answers import answer_in_parts, error_text, refuse, refuse_error, user_id
from alertbot.telegram.callbacks import CampaignPause, CampaignPreview, CampaignRunAsk, CampaignRunConfirm
from alertbot.telegram.formatting import district_names, local_time
from alertbot.telegram.handlers.campaigns.common import in_scope, title
from alertbot.telegram.keyboards.alert import audience_label
from alertbot.telegram.keyboards.campaign import (
    campaigns_keyboard,
    last_run_label,
    run_confirm_keyboard,
    schedule_label,
    season_label,
    state_label,
)

CAMPAIGNS_PER_MESSAGE = 8  # 3 buttons each; a page stays far below Telegram's 4096 characters


def _chat_message(query: CallbackQuery) -> Message | InaccessibleMessage:
    """The message the tapped button belongs to (every button of this bot is under a chat message)."""
    assert query.message is not None
    return query.message


def _districts_label(l10n: Texts, campaigns: CampaignService, campaign: CampaignConfig) -> str:
    if ALL_DISTRICTS in campaign.districts:
        return l10n.plain("campaign-all-districts")
    return district_names(campaigns.districts, campaign.districts, l10n.language)


def _has_button(message: Message, data: str) -> bool:
    """True if the message still shows a button with this callback data (not a forged or stale tap)."""
    rows = message.reply_markup.inline_keyboard if message.reply_markup else []
    return any(button.callback_data == data for row in rows for button in row)


# -- the list ----------------------------------------------------------------------------------------


def _campaign_block(
    l10n: Texts, alerts: AlertService, campaigns: CampaignService, official: OfficialConfig, n: int, view: CampaignView
) -> str:
    campaign, counts, zone = view.campaign, view.counts, campaigns.zone
    return l10n(
        "campaign-block",
        n=n,
        title=title(alerts, campaign, l10n),
        id=campaign.id,
        state=state_label(l10n, view),
        schedule=schedule_label(l10n, campaign.schedule),
        season=season_label(l10n, campaign.season),
        audience=audience_label(l10n, Audience.parse(campaign.audience)),
        districts=_districts_label(l10n, campaigns, campaign),
        next=local_time(view.next_run, zone) if view.next_run else l10n.plain("campaign-next-none"),
        last=last_run_label(l10n, view, zone),
        delivered=counts.delivered,
        ack="yes" if campaign.ack else "no",
        confirmed=counts.acknowledged,
        scope="yes" if in_scope(campaigns, official, campaign) else "no",
    )


def _campaign_page(
    l10n: Texts,
    alerts: AlertService,
    campaigns: CampaignService,
    official: OfficialConfig,
    views: Sequence[CampaignView],
    page: int,
) -> tuple[str, InlineKeyboardMarkup | None]:
    """One message of the list: up to CAMPAIGNS_PER_MESSAGE campaigns, numbered across all pages."""
    start = page * CAMPAIGNS_PER_MESSAGE
    numbered = list(enumerate(views, start=1))[start : start + CAMPAIGNS_PER_MESSAGE]
    blocks = [_campaign_block(l10n, alerts, campaigns, official, n, view) for n, view in numbered]
    if page == 0:
        blocks.insert(0, l10n("campaigns-header", zone=campaigns.zone.key))
    actionable = [(n, view) for n, view in numbered if in_scope(campaigns, official, view.campaign)]
    return "\n\n".join(blocks), campaigns_keyboard(l10n, actionable)


async def list_campaigns(message: Message, l10n: Texts, alerts: AlertService, campaigns: CampaignService) -> None:
    official = await alerts.official(user_id(message), "campaigns")
    views = await campaigns.views(utcnow())
    if not views:
        await message.answer(l10n("campaigns-none"))
        return
    for page in range((len(views) + CAMPAIGNS_PER_MESSAGE - 1) // CAMPAIGNS_PER_MESSAGE):
        text, markup = _campaign_page(l10n, alerts, campaigns, official, views, page)
        await message.answer(text, reply_markup=markup)


# -- its buttons -------------------------------------------------------------------------------------


async def pause(
    query: CallbackQuery,
    callback_data: CampaignPause,
    callback_answer: CallbackAnswer,
    l10n: Texts,
    alerts: AlertService,
    campaigns: CampaignService,
) -> None:
    """Pause or resume (the service checks official and scope), then refresh the list message tapped."""
    actor, campaign_id = user_id(query), callback_data.campaign
    await campaigns.set_paused(actor, campaign_id, callback_data.paused)
    campaign = campaigns.campaigns[campaign_id]
    key = "campaign-paused" if callback_data.paused else "campaign-resumed"
    callback_answer.text = l10n.plain(key, title=title(alerts, campaign, l10n))
    official = campaigns.officials.get(actor)
    if isinstance(query.message, Message) and official is not None:
        views = await campaigns.views(utcnow())
        page = [view.campaign.id for view in views].index(campaign_id) // CAMPAIGNS_PER_MESSAGE
        text, markup = _campaign_page(l10n, alerts, campaigns, official, views, page)
        with contextlib.suppress(TelegramBadRequest):  # unchanged: a repeated tap
            await query.message.edit_text(text, reply_markup=markup)


async def preview(
    query: CallbackQuery,
    callback_data: CampaignPreview,
    callback_answer: CallbackAnswer,
    l10n: Texts,
    alerts: AlertService,
    campaigns: CampaignService,
) -> None:
    """The reminder as it would go out now: the official's language first, the other one below."""
    texts = await campaigns.preview(user_id(query), callback_data.campaign, utcnow())
    campaign = campaigns.campaigns[callback_data.campaign]
    own = l10n.language
    other = next(language for language in LANGUAGES if language != own)
    header = l10n(
        "campaign-preview-header",
        title=title(alerts, campaign, l10n),
        language=l10n.plain(f"alert-language-{own}"),
    )
    if campaign.ack:
        header += "\n" + l10n("campaign-preview-ack", button=l10n.plain("campaign-ack-button"))
    below = l10n("campaign-preview-other", language=l10n.plain(f"alert-language-{other}"))
    await answer_in_parts(_chat_message(query), [header, texts[own]])
    await answer_in_parts(_chat_message(query), [below, texts[other]])


async def run_ask(
    query: CallbackQuery,
    callback_data: CampaignRunAsk,
    callback_answer: CallbackAnswer,
    l10n: Texts,
    alerts: AlertService,
    campaigns: CampaignService,
) -> None:
    """Ask for a confirm tap that names the campaign; offered only to an official whose scope covers it."""
    campaign = await campaigns.may_run(user_id(query), callback_data.campaign)
    heading = title(alerts, campaign, l10n)
    text = l10n(
        "campaign-run-question",
        title=heading,
        audience=audience_label(l10n, Audience.parse(campaign.audience)),
        districts=_districts_label(l10n, campaigns, campaign),
    )
    await _chat_message(query).answer(text, reply_markup=run_confirm_keyboard(l10n, campaign, heading))


async def run_confirm(
    query: CallbackQuery,
    callback_data: CampaignRunConfirm,
    callback_answer: CallbackAnswer,
    l10n: Texts,
    alerts: AlertService,
    campaigns: CampaignService,
) -> None:
    """Send an occurrence now; the service checks official and scope again and audits the run."""
    message = query.message
    if not isinstance(message, Message) or not _has_button(message, callback_data.pack()):
        refuse(callback_answer, l10n, "button-expired")
        return
    try:  # the buttons go first: of a double tap, only the tap that removed them sends
        await message.edit_reply_markup(reply_markup=None)
    except TelegramBadRequest:
        refuse(callback_answer, l10n, "button-expired")
        return
    try:
        result = await campaigns.run_now(user_id(query), callback_data.campaign, utcnow())
    except CampaignError as error:
        refuse_error(callback_answer, l10n, error)
        await message.edit_text(error_text(l10n, error))
        return
    heading = title(alerts, campaigns.campaigns[callback_data.campaign], l10n)
    if result.broadcast is None:
        text = l10n("campaign-run-duplicate", title=heading, time=local_time(result.occurrence_at, campaigns.zone))
    else:
        text = l10n("campaign-run-queued", title=heading, total=result.broadcast.recipients)
    await message.edit_text(text)


async def run_cancel(query: CallbackQuery, l10n: Texts) -> None:
    assert isinstance(query.message, Message)
    await query.message.edit_text(l10n("campaign-run-cancelled"))
