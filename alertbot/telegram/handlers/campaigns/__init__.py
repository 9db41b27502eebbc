"""/campaigns and /stats for officials, /quiet for everyone, and the campaign acknowledgement button.

The parts: `reminders` (the acknowledgement button, /quiet), `listing` (/campaigns and its buttons),
`stats` (/stats), and `common` (what they share). The handlers are thin: CampaignService decides who may
pause, preview or run a campaign and audits it; SubscriptionService stores quiet hours.
"""

from __future__ import annotations

from aiogram import Router
from aiogram.filters import Command

from alertbot.telegram import callbacks
from alertbot.telegram.filters import PRIVATE_MESSAGE, PRIVATE_TAP
from alertbot.telegram.handlers.campaigns import listing, reminders, stats


def build_router() -> Router:
    """A fresh router with the campaign handlers (one per Dispatcher)."""
    router = Router(name=__name__)
    router.callback_query.register(
        reminders.acknowledge, callbacks.CampaignAck.filter()
    )  # reminders may reach groups too
    router.message.register(reminders.quiet, Command("quiet"), PRIVATE_MESSAGE)
    router.message.register(listing.list_campaigns, Command("campaigns"), PRIVATE_MESSAGE)
    router.message.register(stats.stats, Command("stats"), PRIVATE_MESSAGE)
    router.callback_query.register(listing.pause, callbacks.CampaignPause.filter(), PRIVATE_TAP)
    router.callback_query.register(listing.preview, callbacks.CampaignPreview.filter(), PRIVATE_TAP)
    router.callback_query.register(listing.run_ask, callbacks.CampaignRunAsk.filter(), PRIVATE_TAP)
    router.callback_query.register(listing.run_confirm, callbacks.CampaignRunConfirm.filter(), PRIVATE_TAP)
    router.callback_query.register(listing.run_cancel, callbacks.CampaignRunCancel.filter(), PRIVATE_TAP)
    return router
