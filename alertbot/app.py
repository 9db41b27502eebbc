"""Wiring only: the services, the aiogram Bot and Dispatcher and the outbox sender, then updates by long
polling or by webhook (`[telegram] mode`).

Besides answering updates, the bot process runs two background loops while it polls: the outbox
sender (sends queued deliveries) and the progress reporter (officials' progress, reports and
approval requests). They start in the Dispatcher's startup hook, stop in its shutdown hook, and run
only while this instance holds the dispatch lease, so instances sharing a database never both send.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import itertools
import logging
import signal
from collections.abc import Callable
from dataclasses import dataclass, field

from aiogram import Bot, Dispatcher
from aiogram.types import InlineKeyboardMarkup

from alertbot.config import AppConfig
from alertbot.core.domain import Broadcast
from alertbot.core.health import backoff
from alertbot.core.redact import scrub
from alertbot.delivery.leadership import Leadership, wait_stopped
from alertbot.delivery.pacing import MarkReplies, PacedRequests, Pacer
from alertbot.delivery.scheduler import CampaignScheduler
from alertbot.delivery.sender import OutboxSender
from alertbot.services.container import Services, build_services
from alertbot.services.reports import ReportService
from alertbot.storage import Database
from alertbot.storage.campaigns import CampaignRepository
from alertbot.storage.instances import InstanceRepository
from alertbot.storage.leases import LeaseRepository
from alertbot.telegram.channels import check_channels, look_up
from alertbot.telegram.factory import create_bot, create_dispatcher
from alertbot.telegram.flows import FlowStates
from alertbot.telegram.imported_drafts import ImportedDrafts
from alertbot.telegram.keyboards.common import campaign_ack_keyboard
from alertbot.telegram.middlewares import InFlightUpdates
from alertbot.telegram.reporter import ProgressReporter
from alertbot.web.api.feed import CapFeed
from alertbot.web.api.routes import Api
from alertbot.web.metrics import Metrics
from alertbot.web.server import HttpServer
from alertbot.web.webhook import Webhook

log = logging.getLogger(__name__)


@dataclass
class Application:
    config: AppConfig
    services: Services
    bot: Bot
    dispatcher: Dispatcher
    outbox: OutboxSender
    reporter: ProgressReporter
    leadership: Leadership
    scheduler: CampaignScheduler
    server: HttpServer
    webhook: Webhook | None = None
    _tasks: list[asyncio.Task[None]] = field(default_factory=list)
    _channel_check: asyncio.Task[None] | None = None
    started: asyncio.Event = field(default_factory=asyncio.Event)
    """Set once polling has started, or the webhook is served (after the startup hook ran)."""
    _stop_requested: asyncio.Event = field(default_factory=asyncio.Event)
    _webhook_done: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def database(self) -> Database:
        return self.services.database

    async def run_polling(self, *, handle_signals: bool = True) -> None:
        try:
            await self.dispatcher.start_polling(
                self.bot,
                handle_signals=handle_signals,
                allowed_updates=self.dispatcher.resolve_used_update_types(),
                close_bot_session=False,
                tasks_concurrency_limit=self.config.telegram.concurrent_updates,
            )
        except BaseException:
            await self._after_failed_startup()
            raise

    async def _after_failed_startup(self) -> None:
        """A startup hook failed (a port in use, say): aiogram then runs no shutdown hook, so what the hooks before
        it started (the command menus' task) would run on, and make requests after the session closed."""
        if not self.started.is_set():
            with contextlib.suppress(Exception):
                await self.dispatcher.emit_shutdown(bot=self.bot, dispatcher=self.dispatcher)

    async def until_started(self, running: asyncio.Task[None], within: float) -> None:
        """Wait until the bot has started (`started`); if `running` (the task of its `run()`) ends first, raise its
        error at once. TimeoutError if neither happens `within` seconds."""
        started = asyncio.create_task(self.started.wait())
        await asyncio.wait({started, running}, timeout=within, return_when=asyncio.FIRST_COMPLETED)
        started.cancel()
        if not self.started.is_set():
            if running.done():
                running.result()  # its own error
            raise TimeoutError(f"the bot did not start within {within:.0f} s")

    async def run(self, *, handle_signals: bool = True) -> None:
        """Take updates as configured (`[telegram] mode`) until stopped (SIGTERM, SIGINT or `stop()`)."""
        if self.webhook is not None:
            await self.run_webhook(handle_signals=handle_signals)
        else:
            await self.run_polling(handle_signals=handle_signals)

    async def run_webhook(self, *, handle_signals: bool = True) -> None:
        """Serve the webhook; on a stop signal, take no more updates, let those being handled finish (within
        `[server] stop_timeout`), then stop the sender (which records its outcomes) and release the lease."""
        assert self.webhook is not None
        loop = asyncio.get_running_loop()
        signals = (signal.SIGTERM, signal.SIGINT) if handle_signals else ()
        for signum in signals:
            loop.add_signal_handler(signum, self._stop_requested.set)
        try:
            try:
                await self.dispatcher.emit_startup(bot=self.bot, dispatcher=self.dispatcher)
            except BaseException:
                await self._after_failed_startup()
                raise
            setting = asyncio.create_task(self._set_webhook(), name="alertbot-set-webhook")
            await self._stop_requested.wait()
            setting.cancel()
            log.info("stopping: no more updates taken")
            await self.webhook.drain(self.config.server.stop_timeout.total_seconds())
            await self.dispatcher.emit_shutdown(bot=self.bot, dispatcher=self.dispatcher)
        finally:
            for signum in signals:
                loop.remove_signal_handler(signum)
            self._webhook_done.set()

    async def _set_webhook(self) -> None:
        """setWebhook, retried with backoff while Telegram cannot be reached (the server serves meanwhile)."""
        assert self.webhook is not None
        for attempt in itertools.count(1):
            try:
                await self.webhook.set_webhook()
                return
            except Exception as error:  # Telegram away or refusing: keep serving and try again
                delay = backoff(attempt, base=1.0, cap=60.0)
                log.warning("setWebhook failed (%s); retrying in %.0f s", type(error).__name__, delay)
                await asyncio.sleep(delay)

    async def start_background(self) -> None:
        """Start the outbox dispatcher and the progress reporter (the Dispatcher's startup hook).

        They run only while this instance holds the dispatch lease (`Leadership`).
        """
        if not self._tasks:
            if self.config.server.enabled:
                await self.server.start()
            self._tasks = [asyncio.create_task(self.leadership.run(), name="alertbot-leadership")]
            if self.services.channels.channels:  # a warning at start for each channel the bot cannot use
                self._channel_check = asyncio.create_task(self._check_channels(), name="alertbot-channel-check")
            await self.scheduler.start()
        self.started.set()

    async def _check_channels(self) -> None:
        try:
            await check_channels(self.services.channels)
        except Exception as error:  # Telegram unreachable at start: the preview looks them up again later
            log.warning("could not check the district channels: %s", scrub(error))

    async def stop_background(self) -> None:
        if self._channel_check is not None:  # a lookup still waiting for Telegram is of no use any more
            self._channel_check.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._channel_check
        await self.scheduler.stop()
        await self.leadership.stop()
        tasks, self._tasks = self._tasks, []
        await wait_stopped(tasks)

    async def stop(self) -> None:
        """Stop polling (if running) and the background loops; release the HTTP session and the database."""
        if self.webhook is not None:
            self._stop_requested.set()
            if self.started.is_set():
                with contextlib.suppress(TimeoutError):
                    timeout = self.config.server.stop_timeout.total_seconds() + 20
                    await asyncio.wait_for(self._webhook_done.wait(), timeout)
        else:
            with contextlib.suppress(RuntimeError):  # raised when polling was not running
                await self.dispatcher.stop_polling()
        await self.stop_background()
        await self.server.stop()
        await self.leadership.unregister()
        await self.bot.session.close()
        await self.database.close()


async def build_application(config: AppConfig) -> Application:
    """Open and migrate the database, then build the services, the bot and the dispatcher."""
    services = await build_services(config)
    bot = create_bot(config)
    dispatcher = create_dispatcher(services)
    await remember_people(services, dispatcher)
    translator = services.translator

    def ack_button(broadcast: Broadcast, language: str) -> InlineKeyboardMarkup | None:
        if not broadcast.ack or broadcast.occurrence_id is None:
            return None
        return campaign_ack_keyboard(translator, "zh" if language == "zh" else "en", broadcast.occurrence_id)

    # one pace for every request the bot makes to its token (see alertbot.delivery.pacing)
    pacer = Pacer(config.dispatch.rate, config.dispatch.paid_rate if config.dispatch.pays else None)
    bot.session.middleware(PacedRequests(pacer))
    dispatcher.update.outer_middleware(MarkReplies())
    in_flight = InFlightUpdates()
    dispatcher.update.outer_middleware(in_flight)
    outbox = OutboxSender(
        bot, services.outbox, config.dispatch, pacer, markup=ack_button, secrets=config.secrets,
        channel_posts=services.channel_posts,
    )  # fmt: skip
    services.channels.connect(functools.partial(look_up, bot))
    services.cap_import.offer = ImportedDrafts(
        bot, dispatcher, services.alerts, services.translator, services.broadcasts, config.bot.default_language
    ).offer
    reporter = ProgressReporter(
        bot,
        config,
        ReportService(services.broadcasts, services.audit, services.channel_posts, config.dispatch, services.channels),
        services.alerts,
        services.subscriptions,
        services.translator,
    )
    services.broadcasts.on_withdrawn(outbox.withdrawn)
    outbox.on_chat_moved(services.subscriptions.chat_moved)
    for service in (services.alerts, services.campaigns):
        service.on_queued(outbox.wake)
        service.on_queued(reporter.wake)
    leadership = Leadership(
        LeaseRepository(services.database),
        InstanceRepository(services.database),
        config.dispatch.instance,
        config.dispatch.lease_ttl,
        [outbox, reporter],
    )
    try:
        await leadership.register()  # refuses a second live process under the same instance name
    except BaseException:
        await bot.session.close()
        await services.database.close()
        raise
    metrics = Metrics(outbox, pacer, leadership, config.dispatch.instance)
    dispatcher.update.outer_middleware(metrics.middleware())
    if not services.database.is_sqlite and not config.redis.url.get_secret_value():
        log.warning(
            "no [redis] url: chat flows are kept in the database and each person's updates are kept apart in this "
            "process only; when several instances take updates, configure Redis"
        )
    webhook = Webhook(config.telegram, dispatcher, bot) if config.telegram.mode == "webhook" else None
    server = HttpServer(
        config.server, services.database, services.outbox, CampaignRepository(services.database), outbox, leadership,
        metrics, webhook, *((Api(services), CapFeed(services)) if config.api.enabled else (None, None)),
    )  # fmt: skip
    application = Application(
        config, services, bot, dispatcher, outbox, reporter, leadership, CampaignScheduler(services.campaigns), server,
        webhook,
    )  # fmt: skip
    dispatcher.startup.register(application.start_background)

    async def let_updates_finish() -> None:
        await in_flight.drain(config.server.stop_timeout.total_seconds())

    # first of the shutdown hooks: aiogram's own closes the FSM storage, which the updates still use
    dispatcher.shutdown.register(let_updates_finish)
    dispatcher.shutdown.handlers.insert(0, dispatcher.shutdown.handlers.pop())
    dispatcher.shutdown.register(application.stop_background)
    return application


async def remember_people(services: Services, dispatcher: Dispatcher) -> None:
    """Where this process is the only writer: every language and flow in memory when they fit, so that an
    update (a newcomer's too) costs no read. Otherwise they are read as people come, and remembered."""
    languages = await services.subscriptions.remember_all()
    storage = dispatcher.fsm.storage
    flows = await storage.remember_all() if isinstance(storage, FlowStates) else None
    if languages is not None or flows is not None:
        log.info("remembered %s languages and %s chat flows", languages, flows)


def event_loop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    """uvloop's event loop where it is installed (Linux, macOS): cheaper sockets and callbacks per update."""
    try:
        import uvloop
    except ImportError:
        return None
    return uvloop.new_event_loop
