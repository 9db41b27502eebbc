"""/campaigns and /stats for officials, /quiet for everyone, and the campaign acknowledgement button.

The parts: `reminders` (the acknowledgement button, /quiet), `listing` (/campaigns and its buttons),
`stats` (/stats), and `common` (what they share). The handlers are thin: CampaignService decides who may
pause, preview or run a campaign and audits it; SubscriptionService stores quiet hours.
"""

from __future__ import annotations

from aiogram import F, Router
from aiogram.enums import ChatType
from aiogram.filters import Command

from alertbot.telegram import callbacks
from alertbot.telegram.handlers.campaigns import listing, reminders, stats

PRIVATE = F.chat.type == ChatType.PRIVATE


def build_router() -> Router:
    """A fresh router with the campaign handlers (one per Dispatcher)."""
    router = Router(name=__name__)
    router.callback_query.register(
        reminders.acknowledge, callbacks.CampaignAck.filter()
    )  # reminders may reach groups too
    router.message.register(reminders.quiet, Command("quiet"), PRIVATE)
    router.message.register(listing.list_campaigns, Command("campaigns"), PRIVATE)
    router.message.register(stats.stats, Command("stats"), PRIVATE)
    private_taps = F.message.chat.type == ChatType.PRIVATE
    router.callback_query.register(listing.pause, callbacks.CampaignPause.filter(), private_taps)
    router.callback_query.register(listing.preview, callbacks.CampaignPreview.filter(), private_taps)
    router.callback_query.register(listing.run_ask, callbacks.CampaignRunAsk.filter(), private_taps)
    router.callback_query.register(listing.run_confirm, callbacks.CampaignRunConfirm.filter(), private_taps)
    router.callback_query.register(listing.run_cancel, callbacks.CampaignRunCancel.filter(), private_taps)
    return router
