"""What officials see while a broadcast goes out: a progress message edited every few seconds, the
final report with one-tap follow-ups, and approval requests pushed to supervisors.

Everything is derived from the database on each pass, so it carries on after a restart and also
covers broadcasts queued from the command line.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from dataclasses import dataclass

from aiogram import Bot
from aiogram.exceptions import TelegramAPIError, TelegramBadRequest
from aiogram.types import InlineKeyboardMarkup
from aiogram.utils.keyboard import InlineKeyboardBuilder

from alertbot.config import AppConfig
from alertbot.domain import Broadcast, BroadcastKind, BroadcastStatus, DeliveryCounts
from alertbot.i18n import Texts, Translator
from alertbot.services.alerts import FOLLOW_UP_TEMPLATES, AlertService
from alertbot.services.subscriptions import SubscriptionService
from alertbot.storage.broadcasts import BroadcastRepository, utcnow
from alertbot.telegram.callbacks import ApprovalDecision, FollowUpStart, ScheduledCancel
from alertbot.telegram.formatting import district_names

log = logging.getLogger(__name__)


@dataclass
class _Seen:
    sent: int
    at: float
    text: str = ""


class ProgressReporter:
    def __init__(
        self,
        bot: Bot,
        config: AppConfig,
        repository: BroadcastRepository,
        alerts: AlertService,
        subscriptions: SubscriptionService,
        translator: Translator,
    ) -> None:
        self._bot = bot
        self._config = config
        self._repo = repository
        self._alerts = alerts
        self._subscriptions = subscriptions
        self._translator = translator
        self._seen: dict[int, _Seen] = {}
        self._stopping = asyncio.Event()
        self._wake = asyncio.Event()

    def wake(self, *_: object) -> None:
        self._wake.set()

    async def stop(self) -> None:
        self._stopping.set()
        self._wake.set()

    async def run(self) -> None:
        self._stopping.clear()
        while not self._stopping.is_set():
            try:
                await self.pass_once()
            except Exception:
                log.exception("progress pass failed")
            self._wake.clear()
            if self._stopping.is_set():
                break
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self._config.dispatch.progress_interval.total_seconds())

    async def pass_once(self) -> None:
        await self._push_approval_requests()
        for broadcast in await self._alerts.expire_requests():
            await self._tell(broadcast.report_chat_id or broadcast.created_by, "alert-approval-expired",
                             id=broadcast.id)  # fmt: skip
        for broadcast in await self._repo.with_status(BroadcastStatus.QUEUED):
            await self._report(broadcast)

    async def texts_for(self, chat_id: int) -> Texts:
        language = await self._subscriptions.stored_language(chat_id) or self._config.bot.default_language
        return Texts(self._translator, language)

    async def _tell(self, chat_id: int, key: str, **args: object) -> None:
        l10n = await self.texts_for(chat_id)
        try:
            await self._bot.send_message(chat_id, l10n(key, **args))
        except TelegramAPIError as error:
            log.warning("could not notify official %s: %s", chat_id, error)

    # -- approvals ---------------------------------------------------------------------------

    async def _push_approval_requests(self) -> None:
        for broadcast in await self._repo.unnotified_approvals():
            supervisors = [
                o for o in self._config.officials
                if o.role == "supervisor" and o.telegram_id != broadcast.created_by
                and self._alerts.officials.covers(o, broadcast.districts)
            ]  # fmt: skip
            requester = self._alerts.officials.get(broadcast.created_by)
            for supervisor in supervisors:
                l10n = await self.texts_for(supervisor.telegram_id)
                text = l10n(
                    "alert-approval-request",
                    id=broadcast.id,
                    requester=requester.name if requester else str(broadcast.created_by),
                    title=broadcast.titles.get(l10n.language, broadcast.template_id),
                    districts=district_names(self._alerts.districts, broadcast.districts, l10n.language),
                    minutes=int(self._config.alerts.approval_timeout.total_seconds() // 60),
                )
                text += "\n\n" + broadcast.texts.get(l10n.language, "")
                try:
                    await self._bot.send_message(
                        supervisor.telegram_id, text, reply_markup=self._approval_keyboard(l10n, broadcast.id)
                    )
                except TelegramAPIError as error:
                    log.warning("could not reach supervisor %s: %s", supervisor.telegram_id, error)
            if not supervisors:
                await self._tell(broadcast.report_chat_id or broadcast.created_by, "alert-no-supervisor",
                                 id=broadcast.id)  # fmt: skip
            await self._repo.mark_approval_notified(broadcast.id)

    @staticmethod
    def _approval_keyboard(l10n: Texts, broadcast_id: int) -> InlineKeyboardMarkup:
        builder = InlineKeyboardBuilder()
        builder.button(
            text=l10n.plain("alert-approve"), callback_data=ApprovalDecision(broadcast_id=broadcast_id, approve=True)
        )
        builder.button(
            text=l10n.plain("alert-reject"), callback_data=ApprovalDecision(broadcast_id=broadcast_id, approve=False)
        )
        return builder.as_markup()

    # -- progress and final report -----------------------------------------------------------

    async def _report(self, broadcast: Broadcast) -> None:
        counts = await self._repo.counts(broadcast.id)
        done = counts.open == 0 and await self._repo.finish_if_complete(broadcast.id)
        if broadcast.report_chat_id is None:
            return
        l10n = await self.texts_for(broadcast.report_chat_id)
        waiting = broadcast.scheduled_for is not None and broadcast.scheduled_for > utcnow() and not counts.sent
        markup: InlineKeyboardMarkup | None
        if done and not counts.sent and counts.total and counts.cancelled == counts.total:
            # stopped before anything went out (a scheduled warning cancelled in the chat or the CLI)
            text, markup = l10n("alert-scheduled-cancelled", id=broadcast.id, stopped=counts.cancelled), None
        elif waiting:
            assert broadcast.scheduled_for is not None
            text = l10n(
                "alert-scheduled",
                id=broadcast.id,
                title=broadcast.titles.get(l10n.language, broadcast.template_id),
                mode=l10n.plain("alert-mode-exercise" if broadcast.exercise else "alert-mode-live"),
                time=broadcast.scheduled_for.astimezone(self._config.bot.zone).strftime("%Y-%m-%d %H:%M"),
                total=counts.total,
            )
            markup = cancel_scheduled_keyboard(l10n, broadcast.id)
        else:
            text = self._progress_text(l10n, broadcast, counts, done)
            markup = follow_up_keyboard(l10n, broadcast) if done else None
        seen = self._seen.get(broadcast.id)
        if seen is not None and seen.text == text and not done:
            return
        try:
            if broadcast.report_message_id is None:
                message = await self._bot.send_message(broadcast.report_chat_id, text, reply_markup=markup)
                await self._repo.set_report_message(broadcast.id, message.message_id)
            else:
                await self._bot.edit_message_text(
                    text, chat_id=broadcast.report_chat_id, message_id=broadcast.report_message_id,
                    reply_markup=markup,
                )  # fmt: skip
        except TelegramBadRequest as error:
            if "not modified" not in str(error):
                log.warning("progress of #%s not shown: %s", broadcast.id, error)
        except TelegramAPIError as error:
            log.warning("progress of #%s not shown: %s", broadcast.id, error)
        if done:
            self._seen.pop(broadcast.id, None)
        elif seen is not None:
            seen.text = text

    def _progress_text(self, l10n: Texts, broadcast: Broadcast, counts: DeliveryCounts, done: bool) -> str:
        now = time.monotonic()
        seen = self._seen.setdefault(broadcast.id, _Seen(counts.sent, now))
        elapsed = now - seen.at
        rate = (counts.sent - seen.sent) / elapsed if elapsed > 0.5 else 0.0
        if elapsed > 5:  # a moving window, so the rate follows pauses and recoveries
            seen.sent, seen.at = counts.sent, now
        eta = int(counts.open / rate) if rate > 0 else -1
        args = {
            "id": broadcast.id,
            "title": broadcast.titles.get(l10n.language, broadcast.template_id),
            "mode": l10n.plain("alert-mode-exercise" if broadcast.exercise else "alert-mode-live"),
            "sent": counts.sent,
            "pending": counts.open,
            "blocked": counts.blocked,
            "failed": counts.failed,
            "cancelled": counts.cancelled,
            "total": counts.total,
        }
        if done:
            seconds = max(0, round((utcnow() - broadcast.created_at).total_seconds()))
            return l10n("alert-report", **args, seconds=seconds)
        return l10n("alert-progress", **args, rate=f"{rate:.1f}", eta=eta)


def cancel_scheduled_keyboard(l10n: Texts, broadcast_id: int) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    builder.button(text=l10n.plain("alert-cancel-scheduled"), callback_data=ScheduledCancel(broadcast_id=broadcast_id))
    return builder.as_markup()


def follow_up_keyboard(l10n: Texts, broadcast: Broadcast) -> InlineKeyboardMarkup | None:
    """Update, All clear and Sent in error, under the final report of a warning."""
    if broadcast.kind is not BroadcastKind.WARNING:
        return None
    builder = InlineKeyboardBuilder()
    for template in FOLLOW_UP_TEMPLATES:
        builder.button(
            text=l10n.plain(f"alert-follow-up-{template}"),
            callback_data=FollowUpStart(broadcast_id=broadcast.id, template=template),
        )
    builder.adjust(2, 1)
    return builder.as_markup()
