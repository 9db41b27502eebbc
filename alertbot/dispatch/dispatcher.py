"""The outbox dispatcher: claims due deliveries gravest-first and sends them at the token's pace.

Crash safety: a delivery is claimed (pending -> sending) before it is sent and becomes `sent` only
after Telegram accepted it. A dispatcher that starts puts every claimed-but-unrecorded delivery back to
pending, so a kill -9 at any point loses nothing; what may be sent twice is bounded by what was in
flight: one claim batch (about 0.2 s of sending) plus answers not yet recorded (flushed every 50 ms).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Callable
from datetime import timedelta

import aiohttp
from aiogram import Bot
from aiogram.exceptions import (
    TelegramAPIError,
    TelegramBadRequest,
    TelegramForbiddenError,
    TelegramMigrateToChat,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
    TelegramUnauthorizedError,
)
from aiogram.types import InlineKeyboardMarkup

from alertbot.config import DispatchConfig
from alertbot.dispatch.pacing import Pacer
from alertbot.domain import Broadcast, DeliveryState
from alertbot.storage.broadcasts import BroadcastRepository, Claimed, Outcome, utcnow

log = logging.getLogger(__name__)

LEASE = timedelta(minutes=5)
IDLE_POLL_SECONDS = 1.0  # also picks up broadcasts queued by another process (the CLI)
FLUSH_SECONDS = 0.05
BACKOFF_BASE_SECONDS = 1.0
BACKOFF_MAX_SECONDS = 60.0
CHAT_GONE = ("chat not found", "user not found", "peer_id_invalid", "bot was kicked", "chat_write_forbidden")


def backoff(attempt: int) -> float:
    """Exponential backoff with full jitter: 1 s, 2 s, 4 s ... up to a minute, times a random 0.5-1."""
    return min(BACKOFF_MAX_SECONDS, BACKOFF_BASE_SECONDS * 2 ** max(0, attempt - 1)) * random.uniform(0.5, 1.0)


class BroadcastDispatcher:
    def __init__(
        self,
        bot: Bot,
        repository: BroadcastRepository,
        config: DispatchConfig,
        markup: Callable[[Broadcast, str], InlineKeyboardMarkup | None] | None = None,
    ) -> None:
        self._bot = bot
        self._markup = markup or (lambda _broadcast, _language: None)
        self._repo = repository
        self._config = config
        self.pacer = Pacer(config.rate)
        self._batch = max(1, int(config.rate * 0.2))
        self._in_flight = asyncio.Semaphore(max(4, min(200, int(config.rate / 4))))
        self._wake = asyncio.Event()
        self._stopping = asyncio.Event()
        self._outcomes: list[Outcome] = []
        self._sends: set[asyncio.Task[None]] = set()
        self._broadcasts: dict[int, Broadcast] = {}
        self.sent_count = 0

    def wake(self, *_: object) -> None:
        """New deliveries were queued: claim now instead of at the next poll."""
        self._wake.set()

    async def run(self) -> None:
        self._stopping.clear()
        released = await self._repo.release_all_claims()
        if released:
            log.warning("resuming %d deliveries that were in flight when the dispatcher last stopped", released)
        recorder = asyncio.create_task(self._record_forever(), name="alertbot-dispatch-recorder")
        try:
            while not self._stopping.is_set():
                claimed = await self._repo.claim(self._batch, LEASE)
                if not claimed:
                    await self._idle()
                    continue
                await self._send_batch(claimed)
        finally:
            await self._shutdown(recorder)

    async def stop(self) -> None:
        self._stopping.set()
        self._wake.set()

    async def _idle(self) -> None:
        self._wake.clear()
        if self._stopping.is_set():
            return
        due = await self._repo.next_due()
        timeout = IDLE_POLL_SECONDS
        if due is not None:
            timeout = min(timeout, max(0.01, (due - utcnow()).total_seconds()))
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wake.wait(), timeout)

    async def _send_batch(self, claimed: list[Claimed]) -> None:
        for index, delivery in enumerate(claimed):
            if self._stopping.is_set():
                # not sent: back to the queue now rather than at the next start
                self._outcomes.extend(
                    Outcome(d.id, DeliveryState.PENDING, count_attempt=False) for d in claimed[index:]
                )
                return
            wait = self.pacer.chat_ready_in(delivery.chat_id)
            if wait > 0:  # this chat just got a message: its turn comes again shortly
                retry = utcnow() + timedelta(seconds=wait)
                self._outcomes.append(Outcome(delivery.id, DeliveryState.PENDING, retry_at=retry, count_attempt=False))
                continue
            broadcast = await self._broadcast(delivery.broadcast_id)
            await self._in_flight.acquire()
            await self.pacer.slot()
            self.pacer.sent_to(delivery.chat_id)
            task = asyncio.create_task(self._send(delivery, broadcast))
            self._sends.add(task)
            task.add_done_callback(self._sends.discard)

    async def _broadcast(self, broadcast_id: int) -> Broadcast:
        broadcast = self._broadcasts.get(broadcast_id)
        if broadcast is None:
            broadcast = await self._repo.get(broadcast_id)
            assert broadcast is not None, f"delivery of unknown broadcast {broadcast_id}"
            if len(self._broadcasts) > 1000:
                self._broadcasts.clear()
            self._broadcasts[broadcast_id] = broadcast
        return broadcast

    async def _send(self, delivery: Claimed, broadcast: Broadcast) -> None:
        try:
            text = broadcast.texts.get(delivery.language) or next(iter(broadcast.texts.values()))
            message = await self._bot.send_message(
                delivery.chat_id,
                text,
                reply_markup=self._markup(broadcast, delivery.language),
                disable_notification=broadcast.silent,
                allow_paid_broadcast=True if self._config.paid_broadcast else None,
                request_timeout=int(self._config.send_timeout.total_seconds()),
            )
            outcome = Outcome(delivery.id, DeliveryState.SENT, message_id=message.message_id)
            self.sent_count += 1
        except Exception as error:  # every failure becomes a recorded outcome; nothing is dropped
            outcome = self._failure(delivery, error)
        finally:
            self._in_flight.release()
        self._outcomes.append(outcome)

    def _failure(self, delivery: Claimed, error: Exception) -> Outcome:
        description = str(error)[:200]
        if isinstance(error, TelegramRetryAfter):
            self.pacer.pause(error.retry_after)
            retry = utcnow() + timedelta(seconds=error.retry_after)
            return Outcome(delivery.id, DeliveryState.PENDING, retry_at=retry, count_attempt=False, error=description)
        if isinstance(error, TelegramMigrateToChat):
            return Outcome(
                delivery.id, DeliveryState.PENDING, count_attempt=False, error=description,
                new_chat_id=error.migrate_to_chat_id, chat_id=delivery.chat_id,
            )  # fmt: skip
        if isinstance(error, TelegramForbiddenError) or (
            isinstance(error, TelegramBadRequest) and any(s in error.message.lower() for s in CHAT_GONE)
        ):
            return Outcome(delivery.id, DeliveryState.BLOCKED, error=description, chat_id=delivery.chat_id)
        if isinstance(error, TelegramUnauthorizedError):
            # a wrong token is not the message's fault: hold everything and keep it queued
            log.error("Telegram rejected the bot token; pausing delivery for a minute")
            self.pacer.pause(60)
            retry = utcnow() + timedelta(seconds=60)
            return Outcome(delivery.id, DeliveryState.PENDING, retry_at=retry, count_attempt=False, error=description)
        if isinstance(error, TelegramBadRequest):
            return Outcome(delivery.id, DeliveryState.FAILED, error=description)
        transient = (TelegramServerError, TelegramNetworkError, TimeoutError, aiohttp.ClientError, TelegramAPIError)
        if not isinstance(error, transient):
            log.exception("unexpected error sending delivery %s", delivery.id, exc_info=error)
        attempts = delivery.attempts + 1
        if attempts >= self._config.max_attempts:
            return Outcome(delivery.id, DeliveryState.FAILED, error=f"gave up after {attempts} tries: {description}")
        retry = utcnow() + timedelta(seconds=backoff(attempts))
        return Outcome(delivery.id, DeliveryState.PENDING, retry_at=retry, error=description)

    async def _record_forever(self) -> None:
        while True:
            await asyncio.sleep(FLUSH_SECONDS)
            await self._flush()

    async def _flush(self) -> None:
        if not self._outcomes:
            return
        batch, self._outcomes = self._outcomes, []
        try:
            await self._repo.record(batch)
        except Exception:
            log.exception("could not record %d delivery outcomes; will retry", len(batch))
            self._outcomes[:0] = batch

    async def _shutdown(self, recorder: asyncio.Task[None]) -> None:
        if self._sends:
            await asyncio.wait(set(self._sends), timeout=self._config.send_timeout.total_seconds() + 1)
        recorder.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await recorder
        with contextlib.suppress(Exception):
            await self._flush()
