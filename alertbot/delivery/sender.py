"""The outbox sender: claims due deliveries gravest-first and sends them at the token's pace.

Crash safety: a delivery is claimed (pending -> sending) under the dispatch lease's epoch before it is
sent, and becomes `sent` only after Telegram accepted it. What may be sent twice after a crash is
bounded by what was in flight: at most `in_flight` requests, one claim batch (about 0.2 s of sending)
and at most `max_unrecorded` answers not yet recorded (claiming pauses above that).

Faults: any error of a step (the database gone, locked, or a connection killed) is logged, the step
retried with backoff; nothing in memory is lost on the way. Before each send the sender checks that
its term is still valid (`Term.valid`: it stops well before its lease could expire) and, at most every
0.2 s, that the deliveries it holds were not withdrawn meanwhile (cancel, "sent in error", /forgetme).
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Iterable
from datetime import timedelta
from typing import Protocol, TypeVar

import aiohttp
from aiogram import Bot
from aiogram.exceptions import (
    ClientDecodeError,
    TelegramAPIError,
    TelegramBadRequest,
    TelegramForbiddenError,
    TelegramMigrateToChat,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
    TelegramUnauthorizedError,
)
from aiogram.types import InlineKeyboardMarkup, ReplyParameters

from alertbot.config import DispatchConfig
from alertbot.core.domain import Broadcast, DeliveryState
from alertbot.core.health import Health, backoff
from alertbot.core.redact import scrub
from alertbot.delivery.pacing import BULK, URGENT, WINDOW_SECONDS, Pacer, paced
from alertbot.services.channels import channel_chat_id
from alertbot.storage.channel_posts import ChannelPostRepository, ClaimedPost
from alertbot.storage.outbox import Claimed, OutboxRepository, Outcome

log = logging.getLogger(__name__)

IDLE_POLL_SECONDS = 0.25  # also picks up broadcasts queued by another process (the CLI, the API) this soon
FLUSH_SECONDS = 0.05
WITHDRAWN_CHECK_SECONDS = 0.2
SWEEP_SECONDS = 5.0  # how often claims of earlier epochs whose claim lease ran out are re-queued
CLAIM_MARGIN = timedelta(seconds=10)  # a claim's lease: the send timeout plus this
CHAT_GONE = ("chat not found", "user not found", "peer_id_invalid", "bot was kicked", "chat_write_forbidden")
T = TypeVar("T")


class Term(Protocol):
    """The dispatch lease as this instance holds it (see `alertbot.delivery.leadership`)."""

    epoch: int
    predecessor_gone: bool

    def valid(self) -> bool: ...


RATE_WINDOW = 10  # seconds over which `send_rate` averages


class OutboxSender:
    def __init__(
        self,
        bot: Bot,
        repository: OutboxRepository,
        config: DispatchConfig,
        pacer: Pacer,
        markup: Callable[[Broadcast, str], InlineKeyboardMarkup | None] | None = None,
        secrets: Iterable[str] = (),
        channel_posts: ChannelPostRepository | None = None,
    ) -> None:
        self._bot = bot
        self._posts = channel_posts
        self._channel_ids: dict[str, int] = {}  # "@name" -> the id Telegram answered with (for its spacing)
        self._markup = markup or (lambda _broadcast, _language: None)
        self._repo = repository
        self._config = config
        self.pacer = pacer
        self._secrets = tuple(s for s in secrets if s)
        self._batch = max(1, int(config.top_rate * 0.2))
        self.in_flight_limit = max(4, min(200, int(config.top_rate / 4)))
        self._in_flight = asyncio.Semaphore(self.in_flight_limit)
        self.max_unrecorded = 2 * self._batch + self.in_flight_limit
        self._claim_ttl = config.send_timeout + CLAIM_MARGIN
        self._wake = asyncio.Event()
        self._stopping = asyncio.Event()
        self._outcomes: list[Outcome] = []
        self._sends: set[asyncio.Task[None]] = set()
        self._broadcasts: dict[int, Broadcast] = {}
        self._resumed_epoch: int | None = None
        self._sweep_at = 0.0
        self._checked_at = 0.0
        self._held: set[int] = set()
        self.health = Health("dispatcher")
        self.recorder_health = Health("delivery recorder")
        self.sent_count = 0
        self.recent_sends: collections.deque[float] = collections.deque(maxlen=RATE_WINDOW * 1000)
        """time.monotonic() of the latest sends Telegram accepted (for the send-rate metric)."""
        self.failed_by_reason: collections.Counter[str] = collections.Counter()  # final outcomes, for metrics
        self._chat_moved: list[Callable[[int, int], None]] = []

    def wake(self, *_: object) -> None:
        """New deliveries were queued: claim now instead of at the next poll."""
        self._wake.set()

    def on_chat_moved(self, callback: Callable[[int, int], None]) -> None:
        """Call `callback(old, new)` once a group's move to its supergroup id is recorded."""
        self._chat_moved.append(callback)

    def withdrawn(self, _broadcast_id: int) -> None:
        """A broadcast was withdrawn in this process: look again before the very next send."""
        self._checked_at = float("-inf")

    @property
    def unrecorded(self) -> int:
        return len(self._outcomes)

    def send_rate(self) -> float:
        """Messages per second Telegram accepted over the last `RATE_WINDOW` seconds."""
        since = time.monotonic() - RATE_WINDOW
        recent = 0
        for at in reversed(self.recent_sends):
            if at <= since:
                break
            recent += 1
        return recent / RATE_WINDOW

    async def run(self, term: Term) -> None:
        self._stopping.clear()
        recorder = asyncio.create_task(self._record_forever(), name="alertbot-dispatch-recorder")
        try:
            while not self._stopping.is_set():
                try:
                    await self._step(term)
                    self.health.ok()
                except Exception as error:
                    await self._sleep(self.health.failed(error, "dispatching"))
        finally:
            await self._shutdown(recorder)

    async def stop(self) -> None:
        self._stopping.set()
        self._wake.set()

    async def _step(self, term: Term) -> None:
        if not term.valid():  # the lease may be about to run out: claim nothing until it is renewed
            await self._sleep(0.2)
            return
        if len(self._outcomes) >= self.max_unrecorded:  # answers are not being recorded: do not pile up more
            await self._sleep(FLUSH_SECONDS * 2)
            return
        if self._resumed_epoch != term.epoch:
            await self._resume(term)
        if time.monotonic() >= self._sweep_at:
            known = [o.delivery_id for o in self._outcomes]  # answered, not yet recorded: not to be re-sent
            released = await self._repo.release_claims(term.epoch, other_epochs=True, expired_only=True, keep=known)
            if released:
                log.warning("re-queued %d deliveries whose earlier claim ran out", released)
            if self._posts is not None:
                await self._posts.release_claims(term.epoch, other_epochs=True, expired_only=True)
            self._sweep_at = time.monotonic() + SWEEP_SECONDS
        if self._posts is not None:
            await self._post_to_channels(self._posts, term)
        claimed = await self._repo.claim(self._batch, self._claim_ttl, term.epoch)
        if not claimed:
            await self._idle()
            return
        await self._send_batch(claimed, term)

    async def _resume(self, term: Term) -> None:
        """At the start of a term (or of a restarted sender within one), take back what nobody sends."""
        if term.epoch > 1:
            # another holder (or this process before) may have sent in the last second: Telegram counts
            # those against the token too, so the new term starts one window later
            self.pacer.hold(WINDOW_SECONDS)
        # answers still waiting to be recorded (the database was away) are not re-queued: they are known
        keep = [o.delivery_id for o in self._outcomes]
        if term.predecessor_gone:  # its process is dead (or was us): none of its claims is still in flight
            released = await self._repo.release_claims(term.epoch, other_epochs=True, expired_only=False, keep=keep)
            if released:
                log.warning("resuming %d deliveries that were in flight when the last term ended", released)
        # this epoch's claims that no send of ours holds (the sender was restarted within its term)
        await self._repo.release_claims(term.epoch, other_epochs=False, expired_only=False, keep=keep)
        if self._posts is not None:
            await self._posts.release_claims(term.epoch, other_epochs=False, expired_only=False)
            if term.predecessor_gone:
                await self._posts.release_claims(term.epoch, other_epochs=True, expired_only=False)
        # a live predecessor's last sends may still be on the wire: leave its claims alone until they end
        self._sweep_at = time.monotonic() + (0.0 if term.predecessor_gone else self._claim_ttl.total_seconds())
        self._resumed_epoch = term.epoch

    async def _idle(self) -> None:
        self._wake.clear()
        if self._stopping.is_set():
            return
        due = await self._repo.seconds_until_due()
        timeout = IDLE_POLL_SECONDS if due is None else min(IDLE_POLL_SECONDS, max(0.01, due))
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wake.wait(), timeout)

    async def _send_batch(self, claimed: list[Claimed], term: Term) -> None:
        index = 0
        try:
            self._checked_at = float("-inf")
            for index, delivery in enumerate(claimed):
                if self._stopping.is_set() or not term.valid():
                    break
                if not await self._still_held(claimed, index, term):
                    self._withdrawn_before_sending(delivery)
                    continue
                wait = self.pacer.chat_ready_in(delivery.chat_id)
                if wait > 0:  # this chat just got a message: its turn comes again shortly
                    self._outcomes.append(self._outcome(delivery, DeliveryState.PENDING, retry_in=wait, count=False))
                    continue
                broadcast = await self._broadcast(delivery.broadcast_id)
                await self._in_flight.acquire()
                paid = self._paid(broadcast)
                # a free slot right now costs no task; otherwise wait for it (or for the stop)
                if not self.pacer.take(BULK, paid=paid) and not await self._until_stopped(self._departure(paid)):
                    self._in_flight.release()
                    break
                # the wait may have been long (a 429 pause) or a withdrawal announced meanwhile: look again
                # (from memory unless the last look is 0.2 s old or a withdrawal was announced since)
                if not (term.valid() and await self._still_held(claimed, index, term)):
                    self._in_flight.release()
                    if not term.valid():
                        break
                    self._withdrawn_before_sending(delivery)
                    continue
                self.pacer.sent_to(delivery.chat_id)
                task = asyncio.create_task(self._send(delivery, broadcast))
                self._sends.add(task)
                task.add_done_callback(self._sends.discard)
            else:
                return
        except BaseException:
            # not sent: back to the queue (guarded by the epoch, so harmless if the term is over)
            self._give_back(claimed[index:])
            raise
        self._give_back(claimed[index:])

    async def _post_to_channels(self, posts: ChannelPostRepository, term: Term) -> None:
        """Post what is due to the district channels, each awaited: a warning's direct messages are not claimed
        before its posts were tried once (`OutboxRepository.claim`), and a failing channel holds nothing up."""
        for post in await posts.claim(self._claim_ttl, term.epoch):
            if self._stopping.is_set() or not term.valid():
                await posts.record(post, DeliveryState.PENDING, retry_in=0, tried=False)
                continue
            chat = self._channel_ids.get(post.channel)
            wait = self.pacer.chat_ready_in(chat) if chat is not None else 0.0
            if wait > 0:  # Telegram's per-chat limit for channels: its next post a little later
                await posts.record(post, DeliveryState.PENDING, retry_in=wait, tried=False)
                continue
            broadcast = await self._broadcast(post.broadcast_id)
            await self.pacer.slot(URGENT)  # one post reaches a whole channel: it goes ahead of direct messages
            await self.pacer.depart()
            if not await posts.still_claimed(post):  # withdrawn meanwhile: cancelled in the same transaction
                continue
            await self._post(posts, post, broadcast)

    async def _post(self, posts: ChannelPostRepository, post: ClaimedPost, broadcast: Broadcast) -> None:
        text = _text(broadcast, post.language)
        token = paced.set(True)
        try:
            message = await self._bot.send_message(
                channel_chat_id(post.channel),
                text,
                disable_notification=broadcast.silent,
                reply_parameters=ReplyParameters(message_id=post.reply_to, allow_sending_without_reply=True)
                if post.reply_to is not None
                else None,
                request_timeout=int(self._config.send_timeout.total_seconds()),
            )
        except Exception as error:
            await self._post_failed(posts, post, error)
            return
        finally:
            paced.reset(token)
        self._channel_ids[post.channel] = message.chat.id
        self.pacer.sent_to(message.chat.id)
        self.sent_count += 1
        await posts.record(post, DeliveryState.SENT, chat_id=message.chat.id, message_id=message.message_id)
        log.info("posted broadcast %s to channel %s", post.broadcast_id, post.channel)

    async def _post_failed(self, posts: ChannelPostRepository, post: ClaimedPost, error: Exception) -> None:
        description = scrub(error, secrets=self._secrets)
        if isinstance(error, TelegramRetryAfter):
            self.pacer.pause(error.retry_after)
            await posts.record(post, DeliveryState.PENDING, retry_in=error.retry_after, error=description)
        elif isinstance(error, TelegramBadRequest | TelegramForbiddenError | TelegramUnauthorizedError):
            log.error("cannot post to channel %s: %s", post.channel, description)
            await posts.record(post, DeliveryState.FAILED, error=description)
        elif post.attempts + 1 >= self._config.max_attempts:
            await posts.record(
                post, DeliveryState.FAILED, error=f"gave up after {post.attempts + 1} tries: {description}"
            )
        else:
            log.warning("posting to channel %s failed, will retry: %s", post.channel, description)
            await posts.record(
                post, DeliveryState.PENDING, retry_in=backoff(post.attempts + 1, cap=60.0), error=description
            )

    def _withdrawn_before_sending(self, delivery: Claimed) -> None:
        """Not ours to send any more: cancelled if still in flight (a /forgetme already settled it)."""
        self._outcomes.append(self._outcome(delivery, DeliveryState.CANCELLED, count=False, error="withdrawn"))

    def _give_back(self, unsent: list[Claimed]) -> None:
        self._outcomes.extend(self._outcome(d, DeliveryState.PENDING, count=False) for d in unsent)

    def _paid(self, broadcast: Broadcast) -> bool:
        """Sent with allow_paid_broadcast? (`[dispatch] paid_for`; never for an exercise.)"""
        return not broadcast.exercise and self._config.is_paid(broadcast.severity)

    async def _departure(self, paid: bool) -> None:
        """The token's next bulk slot of this pace, then its window: the request leaves right after this."""
        await self.pacer.slot(BULK, paid=paid)
        await self.pacer.depart(paid=paid)

    async def _still_held(self, claimed: list[Claimed], index: int, term: Term) -> bool:
        """Is claimed[index] still ours to send? Looked up for the rest of the batch at most every 0.2 s,
        and at once after this process announced a withdrawal (`withdrawn`)."""
        now = time.monotonic()
        if now - self._checked_at >= WITHDRAWN_CHECK_SECONDS:
            self._held = await self._repo.still_claimed([d.id for d in claimed[index:]], term.epoch)
            self._checked_at = now
        return claimed[index].id in self._held

    async def _until_stopped(self, waiting: Awaitable[T]) -> bool:
        """Await `waiting` unless the sender is stopped first (then False, and `waiting` is cancelled)."""
        task = asyncio.ensure_future(waiting)
        stop = asyncio.create_task(self._stopping.wait())
        try:
            await asyncio.wait({task, stop}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            stop.cancel()
            if not task.done():
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        return task.done() and not task.cancelled()

    async def _broadcast(self, broadcast_id: int) -> Broadcast:
        broadcast = self._broadcasts.get(broadcast_id)
        if broadcast is None:
            broadcast = await self._repo.broadcast(broadcast_id)
            if broadcast is None:
                raise LookupError(f"delivery of unknown broadcast {broadcast_id}")
            if len(self._broadcasts) > 1000:
                self._broadcasts.clear()
            self._broadcasts[broadcast_id] = broadcast
        return broadcast

    async def _send(self, delivery: Claimed, broadcast: Broadcast) -> None:
        paced.set(True)  # this task's context only: slot and window were taken in _send_batch
        try:
            text = _text(broadcast, delivery.language)
            message = await self._bot.send_message(
                delivery.chat_id,
                text,
                reply_markup=self._markup(broadcast, delivery.language),
                disable_notification=broadcast.silent,
                allow_paid_broadcast=True if self._paid(broadcast) else None,
                request_timeout=int(self._config.send_timeout.total_seconds()),
            )
            outcome = self._outcome(delivery, DeliveryState.SENT, message_id=message.message_id)
            self.sent_count += 1
            self.recent_sends.append(time.monotonic())
        except Exception as error:  # every failure becomes a recorded outcome; nothing is dropped
            outcome = self._failure(delivery, error)
        finally:
            self._in_flight.release()
        self._outcomes.append(outcome)

    @staticmethod
    def _outcome(
        delivery: Claimed, state: DeliveryState, *, count: bool = True, retry_in: float | None = None,
        error: str | None = None, **extra: int | None,
    ) -> Outcome:  # fmt: skip
        return Outcome(
            delivery.id, state, epoch=delivery.epoch, retry_in=retry_in, count_attempt=count, error=error, **extra
        )

    def _failure(self, delivery: Claimed, error: Exception) -> Outcome:
        description = scrub(error, secrets=self._secrets)
        pending = DeliveryState.PENDING
        if isinstance(error, TelegramRetryAfter):
            self.pacer.pause(error.retry_after)
            return self._outcome(delivery, pending, retry_in=error.retry_after, count=False, error=description)
        if isinstance(error, TelegramMigrateToChat):
            return self._outcome(
                delivery, pending, count=False, error=description,
                new_chat_id=error.migrate_to_chat_id, chat_id=delivery.chat_id,
            )  # fmt: skip
        if isinstance(error, TelegramForbiddenError) or (
            isinstance(error, TelegramBadRequest) and any(s in error.message.lower() for s in CHAT_GONE)
        ):
            self.failed_by_reason["blocked"] += 1
            return self._outcome(delivery, DeliveryState.BLOCKED, error=description, chat_id=delivery.chat_id)
        if isinstance(error, TelegramUnauthorizedError):
            # a wrong token is not the message's fault: hold everything and keep it queued
            log.error("Telegram rejected the bot token; pausing delivery for a minute")
            self.pacer.hold(60)
            return self._outcome(delivery, pending, retry_in=60, count=False, error=description)
        if isinstance(error, TelegramBadRequest):
            self.failed_by_reason["rejected"] += 1
            return self._outcome(delivery, DeliveryState.FAILED, error=description)
        transient = (
            TelegramServerError, TelegramNetworkError, TimeoutError, aiohttp.ClientError, TelegramAPIError,
            ClientDecodeError,  # a proxy's HTML error page instead of Telegram's JSON
        )  # fmt: skip
        if not isinstance(error, transient):
            log.error("unexpected error sending delivery %s: %s", delivery.id, description)
        attempts = delivery.attempts + 1
        if attempts >= self._config.max_attempts:
            gave_up = scrub(f"gave up after {attempts} tries: {description}")
            self.failed_by_reason["gave_up"] += 1
            return self._outcome(delivery, DeliveryState.FAILED, error=gave_up)
        return self._outcome(delivery, pending, retry_in=backoff(attempts, cap=60.0), error=description)

    async def _record_forever(self) -> None:
        while True:
            await asyncio.sleep(FLUSH_SECONDS)
            if await self._flush():
                continue
            await asyncio.sleep(min(2.0, backoff(self.recorder_health.failures, base=0.1, cap=2.0)))

    async def _flush(self) -> bool:
        """Record the answers gathered so far; False if some could not be recorded (they are kept)."""
        if not self._outcomes:
            return True
        batch, self._outcomes = self._outcomes, []
        try:
            await self._repo.record(batch)
        except asyncio.CancelledError:  # stopped mid-write: kept for the last flush (recording twice is harmless)
            self._outcomes[:0] = batch
            raise
        except Exception as error:
            self.recorder_health.failed(error, f"recording {len(batch)} delivery outcomes")
            kept = await self._record_one_by_one(batch)
            self._outcomes[:0] = kept
            return not kept
        self._recorded(batch)
        self.recorder_health.ok()
        return True

    def _recorded(self, outcomes: list[Outcome]) -> None:
        for outcome in outcomes:
            if outcome.new_chat_id is not None and outcome.chat_id is not None:
                for callback in self._chat_moved:
                    callback(outcome.chat_id, outcome.new_chat_id)

    async def _record_one_by_one(self, batch: list[Outcome]) -> list[Outcome]:
        """After a failed batch: one bad row must not hold the others. Returns the rows not recorded."""
        kept: list[Outcome] = []
        for index, outcome in enumerate(batch):
            try:
                await self._repo.record([outcome])
            except Exception as error:
                if index == 0:  # the first row alone fails too: the database is the problem, not a row
                    return batch
                log.error("could not record the outcome of delivery %s: %s", outcome.delivery_id, scrub(error))
                kept.append(outcome)
            else:
                self._recorded([outcome])
        return kept

    async def _sleep(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stopping.wait(), seconds)

    async def _shutdown(self, recorder: asyncio.Task[None]) -> None:
        if self._sends:
            await asyncio.wait(set(self._sends), timeout=self._config.send_timeout.total_seconds() + 1)
        recorder.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await recorder
        for _ in range(3):  # a bounded last effort; what is left is re-queued by the next term's resume
            with contextlib.suppress(Exception):
                if await self._flush():
                    break
            await asyncio.sleep(0.2)


def _text(broadcast: Broadcast, language: str) -> str:
    """What a reader of `language` gets (the first language's text if the broadcast has none in theirs)."""
    return broadcast.texts.get(language) or next(iter(broadcast.texts.values()))
