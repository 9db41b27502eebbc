"""/campaigns and /stats for officials, /quiet for everyone, and the campaign acknowledgement button.

The handlers are thin: CampaignService decides who may pause, preview or run a campaign (official, scope),
audits every action and refusal, and records an acknowledgement only from a chat that received the
reminder; SubscriptionService stores quiet hours. Callback data is never trusted: each tap goes through the
service again, and a refusal is answered with a pop-up.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from datetime import UTC, datetime

from aiogram import F, Router
from aiogram.enums import ChatType
from aiogram.exceptions import TelegramBadRequest
from aiogram.filters import Command, CommandObject
from aiogram.types import CallbackQuery, InaccessibleMessage, InlineKeyboardMarkup, Message
from aiogram.utils.callback_answer import CallbackAnswer

from alertbot.config import AppConfig, CampaignConfig, OfficialConfig
from alertbot.content.i18n import Texts
from alertbot.content.telegram_html import MAX_TEXT_LENGTH, utf16_length
from alertbot.core.domain import LANGUAGES, Audience
from alertbot.core.quiet import QuietHours, QuietHoursError
from alertbot.services.alerts import AlertError, AlertService
from alertbot.services.campaigns import Acknowledgement, CampaignError, CampaignService, CampaignView
from alertbot.services.officials import ALL_DISTRICTS
from alertbot.services.subscriptions import SubscriptionService
from alertbot.telegram.alert_keyboards import audience_label
from alertbot.telegram.answers import refuse
from alertbot.telegram.callbacks import (
    CampaignAck,
    CampaignPause,
    CampaignPreview,
    CampaignRunAsk,
    CampaignRunCancel,
    CampaignRunConfirm,
)
from alertbot.telegram.campaign_keyboards import (
    campaigns_keyboard,
    last_run_label,
    local_time,
    run_confirm_keyboard,
    schedule_label,
    season_label,
    state_label,
    text_table,
)
from alertbot.telegram.formatting import district_names

PRIVATE = F.chat.type == ChatType.PRIVATE
CAMPAIGNS_PER_MESSAGE = 8  # 3 buttons each; a page stays far below Telegram's 4096 characters
DEFAULT_WORDS = {"default", "reset", "默认", "恢复默认"}


# -- small helpers -------------------------------------------------------------------------------


def _user_id(event: Message | CallbackQuery) -> int:
    assert event.from_user is not None
    return event.from_user.id


def _now() -> datetime:
    return datetime.now(UTC)


def _chat_message(query: CallbackQuery) -> Message | InaccessibleMessage:
    """The message the tapped button belongs to (every button of this bot is under a chat message)."""
    assert query.message is not None
    return query.message


def _title(alerts: AlertService, campaign: CampaignConfig, l10n: Texts) -> str:
    return alerts.templates.catalog.get(campaign.template).title[l10n.language]


def _district_ids(campaigns: CampaignService, campaign: CampaignConfig) -> list[str]:
    return campaigns.districts.ids if ALL_DISTRICTS in campaign.districts else list(campaign.districts)


def _districts_label(l10n: Texts, campaigns: CampaignService, campaign: CampaignConfig) -> str:
    if ALL_DISTRICTS in campaign.districts:
        return l10n.plain("campaign-all-districts")
    return district_names(campaigns.districts, campaign.districts, l10n.language)


def _in_scope(campaigns: CampaignService, official: OfficialConfig, campaign: CampaignConfig) -> bool:
    return campaigns.officials.covers(official, _district_ids(campaigns, campaign))


def _scope(campaigns: CampaignService, official: OfficialConfig) -> list[str]:
    return [d for d in campaigns.districts.ids if campaigns.officials.covers(official, [d])]


def _has_button(message: Message, data: str) -> bool:
    """True if the message still shows a button with this callback data (not a forged or stale tap)."""
    rows = message.reply_markup.inline_keyboard if message.reply_markup else []
    return any(button.callback_data == data for row in rows for button in row)


async def _answer_in_parts(message: Message | InaccessibleMessage, parts: Sequence[str]) -> None:
    """Send the parts joined by blank lines, in as few messages as Telegram's length limit allows."""
    chunk = ""
    for part in parts:
        joined = f"{chunk}\n\n{part}" if chunk else part
        if chunk and utf16_length(joined) > MAX_TEXT_LENGTH:
            await message.answer(chunk)
            joined = part
        chunk = joined
    if chunk:
        await message.answer(chunk)


# -- the acknowledgement button under a reminder ---------------------------------------------------


async def acknowledge(
    query: CallbackQuery,
    callback_data: CampaignAck,
    callback_answer: CallbackAnswer,
    l10n: Texts,
    campaigns: CampaignService,
    config: AppConfig,
) -> None:
    """Record "I have completed the check" for the chat the button is in; only a recipient may."""
    if query.message is None:
        refuse(callback_answer, l10n, "campaign-ack-refused")
        return
    try:
        ack = await campaigns.acknowledge(callback_data.occurrence_id, query.message.chat.id)
    except CampaignError as error:
        refuse(callback_answer, l10n, error.key, **error.args_for_text)
        return
    callback_answer.text = l10n.plain("campaign-ack-thanks" if ack.new else "campaign-ack-already")
    if isinstance(query.message, Message):
        await _show_acknowledged(query.message, ack, Texts(l10n.translator, ack.language), config)


async def _show_acknowledged(message: Message, ack: Acknowledgement, texts: Texts, config: AppConfig) -> None:
    """The reminder as received, with the time of the confirmation below it and no button."""
    confirmed = texts("campaign-acked", time=datetime.now(config.bot.zone).strftime("%H:%M"))
    text = f"{ack.text}\n\n{confirmed}" if ack.text else confirmed
    try:
        await message.edit_text(text, reply_markup=None)
    except TelegramBadRequest:  # unchanged (a second tap), or too long with the line: drop the button only
        with contextlib.suppress(TelegramBadRequest):
            await message.edit_reply_markup(reply_markup=None)


# -- /quiet --------------------------------------------------------------------------------------


async def quiet(
    message: Message, command: CommandObject, l10n: Texts, subscriptions: SubscriptionService, config: AppConfig
) -> None:
    """Without an argument: the current window and how to change it. Else store a window, off or default."""
    argument = (command.args or "").strip()
    chat_id = message.chat.id
    default = config.bot.quiet_hours or l10n.plain("quiet-none")
    if not argument:
        current = await _quiet_status(l10n, await subscriptions.quiet_hours(chat_id), config)
        how = l10n("quiet-how", zone=config.bot.timezone, default=default)
        await message.answer(f"{current}\n\n{l10n('quiet-explain')}\n\n{how}")
        return
    if argument.casefold() in DEFAULT_WORDS:
        await subscriptions.reset_quiet_hours(chat_id)
        await message.answer(l10n("quiet-reset", window=default))
        return
    try:
        window = QuietHours.parse(argument)
    except QuietHoursError:
        await message.answer(l10n("quiet-bad", text=argument))
        return
    await subscriptions.set_quiet_hours(chat_id, l10n.language, window)
    if window is None:
        await message.answer(l10n("quiet-off"))
    else:
        await message.answer(l10n("quiet-set", window=str(window), end=f"{window.end:%H:%M}"))


async def _quiet_status(l10n: Texts, stored: str | None, config: AppConfig) -> str:
    if stored:
        return l10n("quiet-current-own", window=stored)
    if stored == "":
        return l10n("quiet-current-none")
    if config.bot.quiet_hours:
        return l10n("quiet-current-default", window=config.bot.quiet_hours)
    return l10n("quiet-current-default-none")


# -- /campaigns --------------------------------------------------------------------------------------


def _campaign_block(
    l10n: Texts, alerts: AlertService, campaigns: CampaignService, official: OfficialConfig, n: int, view: CampaignView
) -> str:
    campaign, counts, zone = view.campaign, view.counts, campaigns.zone
    return l10n(
        "campaign-block",
        n=n,
        title=_title(alerts, campaign, l10n),
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
        scope="yes" if _in_scope(campaigns, official, campaign) else "no",
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
    actionable = [(n, view) for n, view in numbered if _in_scope(campaigns, official, view.campaign)]
    return "\n\n".join(blocks), campaigns_keyboard(l10n, actionable)


async def list_campaigns(message: Message, l10n: Texts, alerts: AlertService, campaigns: CampaignService) -> None:
    try:
        official = await alerts.official(_user_id(message), "campaigns")
    except AlertError as error:
        await message.answer(l10n(error.key, **error.args_for_text))
        return
    views = await campaigns.views(_now())
    if not views:
        await message.answer(l10n("campaigns-none"))
        return
    for page in range((len(views) + CAMPAIGNS_PER_MESSAGE - 1) // CAMPAIGNS_PER_MESSAGE):
        text, markup = _campaign_page(l10n, alerts, campaigns, official, views, page)
        await message.answer(text, reply_markup=markup)


async def pause(
    query: CallbackQuery,
    callback_data: CampaignPause,
    callback_answer: CallbackAnswer,
    l10n: Texts,
    alerts: AlertService,
    campaigns: CampaignService,
) -> None:
    """Pause or resume (the service checks official and scope), then refresh the list message tapped."""
    user_id, campaign_id = _user_id(query), callback_data.campaign
    try:
        await campaigns.set_paused(user_id, campaign_id, callback_data.paused)
    except CampaignError as error:
        refuse(callback_answer, l10n, error.key, **error.args_for_text)
        return
    campaign = campaigns.campaigns[campaign_id]
    key = "campaign-paused" if callback_data.paused else "campaign-resumed"
    callback_answer.text = l10n.plain(key, title=_title(alerts, campaign, l10n))
    official = campaigns.officials.get(user_id)
    if isinstance(query.message, Message) and official is not None:
        views = await campaigns.views(_now())
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
    try:
        texts = await campaigns.preview(_user_id(query), callback_data.campaign, _now())
    except CampaignError as error:
        refuse(callback_answer, l10n, error.key, **error.args_for_text)
        return
    campaign = campaigns.campaigns[callback_data.campaign]
    own = l10n.language
    other = next(language for language in LANGUAGES if language != own)
    header = l10n(
        "campaign-preview-header",
        title=_title(alerts, campaign, l10n),
        language=l10n.plain(f"alert-language-{own}"),
    )
    if campaign.ack:
        header += "\n" + l10n("campaign-preview-ack", button=l10n.plain("campaign-ack-button"))
    below = l10n("campaign-preview-other", language=l10n.plain(f"alert-language-{other}"))
    await _answer_in_parts(_chat_message(query), [header, texts[own]])
    await _answer_in_parts(_chat_message(query), [below, texts[other]])


async def run_ask(
    query: CallbackQuery,
    callback_data: CampaignRunAsk,
    callback_answer: CallbackAnswer,
    l10n: Texts,
    alerts: AlertService,
    campaigns: CampaignService,
) -> None:
    """Ask for a confirm tap that names the campaign; offered only to an official whose scope covers it."""
    user_id, campaign = _user_id(query), campaigns.campaigns.get(callback_data.campaign)
    try:
        official = await alerts.official(user_id, f"run {callback_data.campaign}")
    except AlertError as error:
        refuse(callback_answer, l10n, error.key, **error.args_for_text)
        return
    if campaign is None or not _in_scope(campaigns, official, campaign):
        reason = "unknown campaign" if campaign is None else "out of scope"
        await alerts.audit.record(
            "refused", actor_id=user_id, actor_name=official.name, attempted=f"run {callback_data.campaign}",
            reason=reason,
        )  # fmt: skip
        key = "campaign-unknown" if campaign is None else "campaign-out-of-scope"
        refuse(callback_answer, l10n, key, campaign=callback_data.campaign)
        return
    title = _title(alerts, campaign, l10n)
    text = l10n(
        "campaign-run-question",
        title=title,
        audience=audience_label(l10n, Audience.parse(campaign.audience)),
        districts=_districts_label(l10n, campaigns, campaign),
    )
    await _chat_message(query).answer(text, reply_markup=run_confirm_keyboard(l10n, campaign, title))


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
        result = await campaigns.run_now(_user_id(query), callback_data.campaign, _now())
    except CampaignError as error:
        refuse(callback_answer, l10n, error.key, **error.args_for_text)
        await message.edit_text(l10n(error.key, **error.args_for_text))
        return
    title = _title(alerts, campaigns.campaigns[callback_data.campaign], l10n)
    if result.broadcast is None:
        text = l10n("campaign-run-duplicate", title=title, time=local_time(result.occurrence_at, campaigns.zone))
    else:
        text = l10n("campaign-run-queued", title=title, total=result.broadcast.recipients)
    await message.edit_text(text)


async def run_cancel(query: CallbackQuery, l10n: Texts) -> None:
    assert isinstance(query.message, Message)
    await query.message.edit_text(l10n("campaign-run-cancelled"))


# -- /stats ----------------------------------------------------------------------------------------------


async def stats(message: Message, l10n: Texts, alerts: AlertService, campaigns: CampaignService) -> None:
    """Subscribers per district and kind, and the confirmation rate by district of each campaign that asks
    for confirmations: both for the districts of the official's scope."""
    try:
        official = await alerts.official(_user_id(message), "stats")
    except AlertError as error:
        await message.answer(l10n(error.key, **error.args_for_text))
        return
    language, scope = l10n.language, _scope(campaigns, official)
    counts = await campaigns.subscribers_by_district_and_kind()
    rows: list[list[str | int]] = []
    for district in scope:
        residents, businesses = (counts.get(district, {}).get(kind, 0) for kind in ("resident", "business"))
        rows.append([campaigns.districts.name(district, language), residents, businesses, residents + businesses])
    header = [l10n.plain(f"stats-col-{c}") for c in ("district", "residents", "businesses", "total")]
    sections = [l10n("stats-subscribers", table=text_table(header, rows))]
    ack_campaigns = [c for c in campaigns.campaigns.values() if c.ack and set(_district_ids(campaigns, c)) & set(scope)]
    for campaign in ack_campaigns:
        sections.append(await _ack_section(l10n, alerts, campaigns, campaign, scope))
    if not ack_campaigns:
        sections.append(l10n("stats-no-ack-campaigns"))
    await _answer_in_parts(message, sections)


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
    title = _title(alerts, campaign, l10n)
    if not rows:
        return l10n("stats-acks-empty", title=title)
    header = [l10n.plain(f"stats-col-{c}") for c in ("district", "received", "confirmed", "rate")]
    return l10n("stats-acks", title=title, table=text_table(header, rows))


def build_router() -> Router:
    """A fresh router with this module's handlers (one per Dispatcher)."""
    router = Router(name=__name__)
    router.callback_query.register(acknowledge, CampaignAck.filter())  # reminders may reach groups too
    router.message.register(quiet, Command("quiet"), PRIVATE)
    router.message.register(list_campaigns, Command("campaigns"), PRIVATE)
    router.message.register(stats, Command("stats"), PRIVATE)
    private_taps = F.message.chat.type == ChatType.PRIVATE
    router.callback_query.register(pause, CampaignPause.filter(), private_taps)
    router.callback_query.register(preview, CampaignPreview.filter(), private_taps)
    router.callback_query.register(run_ask, CampaignRunAsk.filter(), private_taps)
    router.callback_query.register(run_confirm, CampaignRunConfirm.filter(), private_taps)
    router.callback_query.register(run_cancel, CampaignRunCancel.filter(), private_taps)
    return router
