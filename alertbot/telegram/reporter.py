"""What officials see while a broadcast goes out: a progress message edited every few seconds, the
final report with one-tap follow-ups, and approval requests pushed to supervisors.

Everything is derived from the database on each pass, so it carries on after a restart and also
covers broadcasts queued from the command line.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time
from dataclasses import dataclass, field

from aiogram import Bot
from aiogram.exceptions import TelegramAPIError, TelegramBadRequest
from aiogram.types import InlineKeyboardMarkup, ReplyParameters
from aiogram.utils.keyboard import InlineKeyboardBuilder

from alertbot.config import AppConfig
from alertbot.content.i18n import Texts, Translator
from alertbot.content.telegram_html import MAX_TEXT_LENGTH, TelegramHtmlError, check_telegram_html
from alertbot.core.clock import utcnow
from alertbot.core.domain import Broadcast, BroadcastKind, DeliveryCounts, DeliveryState
from alertbot.core.health import Health
from alertbot.services.alerts import FOLLOW_UP_TEMPLATES, AlertService
from alertbot.services.reach import duration
from alertbot.services.reports import ReportService
from alertbot.services.subscriptions import SubscriptionService
from alertbot.storage.channel_posts import ChannelPost
from alertbot.telegram.callbacks import ApprovalDecision, FollowUpStart, ScheduledCancel
from alertbot.telegram.formatting import district_names

log = logging.getLogger(__name__)

APPROVAL_TRIES = 4
"""Tries per supervisor before the requester is told that no supervisor could be reached (tries go on)."""
APPROVAL_RETRY_MAX = 60.0
"""The longest pause, in seconds, between two tries to reach one supervisor."""


@dataclass
class _Seen:
    sent: int
    at: float
    text: str = ""


@dataclass
class _ApprovalPush:
    """How far the request for one broadcast has got. Who received it is also in the audit log, so a
    restart (or another instance taking over) does not send it to them again."""

    delivered: set[int]
    requester_told: bool
    tries: dict[int, int] = field(default_factory=dict)
    due: dict[int, float] = field(default_factory=dict)  # monotonic time of a supervisor's next try
    headers: dict[int, int] = field(default_factory=dict)  # the request sent, the text that follows not yet


class ProgressReporter:
    def __init__(
        self,
        bot: Bot,
        config: AppConfig,
        reports: ReportService,
        alerts: AlertService,
        subscriptions: SubscriptionService,
        translator: Translator,
    ) -> None:
        self._bot = bot
        self._config = config
        self._reports = reports
        self._alerts = alerts
        self._subscriptions = subscriptions
        self._translator = translator
        self._seen: dict[int, _Seen] = {}
        self._approvals: dict[int, _ApprovalPush] = {}  # by broadcast id, while not marked notified
        self._stopping = asyncio.Event()
        self._wake = asyncio.Event()
        self.health = Health("progress reporter")

    def wake(self, *_: object) -> None:
        self._wake.set()

    async def stop(self) -> None:
        self._stopping.set()
        self._wake.set()

    async def run(self, term: object = None) -> None:
        """Until stopped: a pass over approvals and queued broadcasts every `progress_interval`.

        A pass that fails (the database gone, Telegram erroring) is logged and retried with backoff.
        """
        self._stopping.clear()
        while not self._stopping.is_set():
            wait = self._config.dispatch.progress_interval.total_seconds()
            try:
                await self.pass_once()
                self.health.ok()
            except Exception as error:
                wait = max(wait, self.health.failed(error, "reporting progress"))
            self._wake.clear()
            if self._stopping.is_set():
                break
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), wait)

    async def pass_once(self) -> None:
        await self._push_approval_requests()
        for broadcast in await self._alerts.expire_requests():
            await self._tell(broadcast.report_chat_id or broadcast.created_by, "alert-approval-expired",
                             id=broadcast.id)  # fmt: skip
        for broadcast in await self._reports.going_out():
            await self._report(broadcast)

    async def texts_for(self, chat_id: int) -> Texts:
        language = await self._subscriptions.stored_language(chat_id) or self._config.bot.default_language
        return Texts(self._translator, language)

    async def _tell(self, chat_id: int, key: str, **args: object) -> bool:
        """A notice to an official; False (logged) when Telegram refused it."""
        l10n = await self.texts_for(chat_id)
        try:
            await self._bot.send_message(chat_id, l10n(key, **args))
        except TelegramAPIError as error:
            log.warning("could not notify official %s (%s): %s", chat_id, key, error)
            return False
        return True

    # -- approvals ---------------------------------------------------------------------------

    async def _push_approval_requests(self) -> None:
        """Send each pending request to the supervisors who may decide it, until each has it.

        A supervisor Telegram refuses is tried again on later passes (with a growing pause); after
        `APPROVAL_TRIES` tries without anyone reached, the requester is told (once), and the tries go on
        until the request is decided or expires. The request is marked notified once at least one
        supervisor has it and every other one has it too or has been tried `APPROVAL_TRIES` times.
        """
        pending = await self._reports.approvals_to_announce()
        for gone in self._approvals.keys() - {b.id for b in pending}:  # decided, expired or marked
            del self._approvals[gone]
        for broadcast in pending:
            supervisors = [
                o.telegram_id for o in self._config.officials
                if o.role == "supervisor" and o.telegram_id != broadcast.created_by
                and self._alerts.officials.covers(o, broadcast.districts)
            ]  # fmt: skip
            requester = broadcast.report_chat_id or broadcast.created_by
            if not supervisors:
                await self._tell(requester, "alert-no-supervisor", id=broadcast.id)
                await self._reports.approval_announced(broadcast.id)
                continue
            push = self._approvals.get(broadcast.id) or await self._approval_push(broadcast)
            self._approvals[broadcast.id] = push
            for supervisor in supervisors:
                if supervisor in push.delivered or push.due.get(supervisor, 0.0) > time.monotonic():
                    continue
                if await self._send_approval_request(broadcast, supervisor, push):
                    push.delivered.add(supervisor)
                    await self._reports.approval_delivered(broadcast.id, supervisor)
                    continue
                tries = push.tries[supervisor] = push.tries.get(supervisor, 0) + 1
                pause = self._config.dispatch.progress_interval.total_seconds() * 2 ** (tries - 1)
                push.due[supervisor] = time.monotonic() + min(APPROVAL_RETRY_MAX, pause)
            waiting = [s for s in supervisors if s not in push.delivered]
            exhausted = all(push.tries.get(s, 0) >= APPROVAL_TRIES for s in waiting)
            if push.delivered and exhausted:
                if waiting:
                    log.warning("approval request #%s did not reach supervisors %s; %s have it", broadcast.id,
                                waiting, sorted(push.delivered))  # fmt: skip
                await self._reports.approval_announced(broadcast.id)
                del self._approvals[broadcast.id]
            elif not push.delivered and exhausted and not push.requester_told:
                log.error("approval request #%s reached no supervisor (%s)", broadcast.id, waiting)
                names = ", ".join(self._official_name(s) for s in waiting)
                if await self._tell(requester, "alert-approval-unreachable", id=broadcast.id, supervisors=names,
                                    minutes=self._minutes_left(broadcast)):  # fmt: skip
                    push.requester_told = True
                    await self._reports.approval_unreachable(broadcast.id, waiting)

    async def _approval_push(self, broadcast: Broadcast) -> _ApprovalPush:
        """The state of a request first seen by this process: who got it already, from the audit log."""
        history = await self._reports.approval_history(broadcast)
        return _ApprovalPush(history.delivered, requester_told=history.requester_told)

    async def _send_approval_request(self, broadcast: Broadcast, supervisor: int, push: _ApprovalPush) -> bool:
        """The request with its buttons, and the exact text. One message when it fits Telegram's limit,
        else two: the request, then the text as a silent reply to it. False (logged) when refused."""
        l10n = await self.texts_for(supervisor)
        header = l10n(
            "alert-approval-request",
            id=broadcast.id,
            requester=self._official_name(broadcast.created_by),
            title=broadcast.titles.get(l10n.language, broadcast.template_id),
            districts=district_names(self._alerts.districts, broadcast.districts, l10n.language),
            minutes=self._minutes_left(broadcast),
        )
        text = broadcast.texts.get(l10n.language, "")
        keyboard = self._approval_keyboard(l10n, broadcast.id)
        try:
            if _fits(f"{header}\n\n{text}"):
                await self._bot.send_message(supervisor, f"{header}\n\n{text}", reply_markup=keyboard)
                return True
            if supervisor not in push.headers:
                request = await self._bot.send_message(
                    supervisor, f"{header}\n{l10n('alert-approval-text-follows')}", reply_markup=keyboard
                )
                push.headers[supervisor] = request.message_id
            await self._bot.send_message(
                supervisor, text, disable_notification=True,
                reply_parameters=ReplyParameters(message_id=push.headers[supervisor], allow_sending_without_reply=True),
            )  # fmt: skip
        except TelegramAPIError as error:
            log.warning("approval request #%s did not reach supervisor %s: %s", broadcast.id, supervisor, error)
            return False
        push.headers.pop(supervisor, None)
        return True

    def _official_name(self, telegram_id: int) -> str:
        official = self._alerts.officials.get(telegram_id)
        return official.name if official else str(telegram_id)

    def _minutes_left(self, broadcast: Broadcast) -> int:
        if broadcast.expires_at is None:
            return int(self._config.alerts.approval_timeout.total_seconds() // 60)
        return max(1, math.ceil((broadcast.expires_at - utcnow()).total_seconds() / 60))

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
        counts, done = await self._reports.progress(broadcast.id)
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
            text = await self._progress_text(l10n, broadcast, counts, done)
            markup = follow_up_keyboard(l10n, broadcast) if done else None
        seen = self._seen.get(broadcast.id)
        if seen is not None and seen.text == text and not done:
            return
        try:
            if broadcast.report_message_id is None:
                message = await self._bot.send_message(broadcast.report_chat_id, text, reply_markup=markup)
                await self._reports.set_report_message(broadcast.id, message.message_id)
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

    async def _progress_text(self, l10n: Texts, broadcast: Broadcast, counts: DeliveryCounts, done: bool) -> str:
        now = time.monotonic()
        seen = self._seen.setdefault(broadcast.id, _Seen(counts.sent, now))
        elapsed = now - seen.at
        rate = (counts.sent - seen.sent) / elapsed if elapsed > 0.5 else 0.0
        if elapsed > 5:  # a moving window, so the rate follows pauses and recoveries
            seen.sent, seen.at = counts.sent, now
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
        lines = [await self._channel_line(l10n, post) for post in await self._reports.channel_posts(broadcast.id)]
        if done:
            seconds = max(0, round((utcnow() - broadcast.created_at).total_seconds()))
            span = await self._reports.delivery_span(broadcast.id)
            if span is not None:
                lines.append(
                    l10n.plain("alert-report-times", first=duration(l10n, span[0]), last=duration(l10n, span[1]))
                )
            return "\n".join([l10n("alert-report", **args, seconds=seconds), *lines])
        eta = math.ceil(await self._reports.seconds_left(broadcast)) if counts.open else 0
        return "\n".join([l10n("alert-progress", **args, rate=f"{rate:.1f}", eta=eta), *lines])

    async def _channel_line(self, l10n: Texts, post: ChannelPost) -> str:
        if post.state is DeliveryState.SENT and post.sent_at is not None:
            at = post.sent_at.astimezone(self._config.bot.zone).strftime("%H:%M:%S")
            members = await self._reports.channel_members(post.channel)
            shown = "?" if members is None else f"{members:,}"
            return l10n.plain("alert-report-channel", channel=post.channel, time=at, members=shown)
        if post.state in (DeliveryState.PENDING, DeliveryState.SENDING):
            return l10n.plain("alert-report-channel-pending", channel=post.channel)
        return l10n.plain("alert-report-channel-failed", channel=post.channel, error=post.error or post.state.value)


def _fits(text: str) -> bool:
    """Whether Telegram takes `text` as one message (its length counted as Telegram does)."""
    try:
        check_telegram_html(text, MAX_TEXT_LENGTH)
    except TelegramHtmlError:
        return False
    return True


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
