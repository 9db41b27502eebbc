"""Builds the Bot (pointed at the configured Bot API server) and the Dispatcher with all routers."""

from __future__ import annotations

from typing import TypedDict

from aiogram import Bot, Dispatcher
from aiogram.client.default import DefaultBotProperties
from aiogram.client.telegram import TelegramAPIServer
from aiogram.enums import ParseMode

from alertbot.config import AppConfig
from alertbot.content.i18n import Translator
from alertbot.services.alerts import AlertService
from alertbot.services.campaigns import CampaignService
from alertbot.services.container import Services
from alertbot.services.officials import OfficialDirectory
from alertbot.services.subscriptions import SubscriptionService
from alertbot.telegram import errors, handlers
from alertbot.telegram.commands import CommandMenus
from alertbot.telegram.flows import Flows, build_flows
from alertbot.telegram.middlewares import (
    AnswerTaps,
    CommandLeavesFlowMiddleware,
    LanguageMiddleware,
    ThrottlingMiddleware,
)
from alertbot.telegram.session import BotSession


def create_bot(config: AppConfig) -> Bot:
    session = BotSession(TelegramAPIServer.from_base(config.telegram.api_base))
    return Bot(config.token, session=session, default=DefaultBotProperties(parse_mode=ParseMode.HTML))


class Workflow(TypedDict):
    """The Dispatcher's workflow data: what a handler can take by parameter name (besides aiogram's own)."""

    config: AppConfig
    subscriptions: SubscriptionService
    officials: OfficialDirectory
    translator: Translator
    alerts: AlertService
    campaigns: CampaignService
    menus: CommandMenus


def create_dispatcher(services: Services, flows: Flows | None = None) -> Dispatcher:
    """The Dispatcher with the services in its workflow data (`Workflow`); flows in Redis or the database."""
    config, translator = services.config, services.translator
    default_language = config.bot.default_language
    menus = CommandMenus(translator, default_language, services.officials, services.subscriptions.stored_language)
    workflow = Workflow(
        config=config, subscriptions=services.subscriptions, officials=services.officials, translator=translator,
        alerts=services.alerts, campaigns=services.campaigns, menus=menus,
    )  # fmt: skip
    flows = flows or build_flows(config, services.database)
    dispatcher = Dispatcher(storage=flows.storage, events_isolation=flows.isolation, **workflow)
    # Outer middlewares run in this order, before any filter: every tap is answered (even a throttled
    # or unmatched one), floods are cut before they cost a database read, and commands leave flows.
    dispatcher.callback_query.outer_middleware(AnswerTaps())
    for observer in (dispatcher.message, dispatcher.callback_query):
        observer.outer_middleware(ThrottlingMiddleware(flows.buckets, translator, default_language))
        observer.outer_middleware(LanguageMiddleware(translator, default_language))
    dispatcher.message.outer_middleware(CommandLeavesFlowMiddleware())
    dispatcher.include_routers(errors.build_router(), *handlers.routers())

    # Startup hooks run before polling: the menus are set (and retried) in the background, so neither
    # Telegram refusing one nor a flood wait delays polling, the dispatcher or the scheduler.
    async def on_startup(bot: Bot) -> None:
        menus.start(bot)

    async def on_shutdown() -> None:
        await menus.stop()

    dispatcher.startup.register(on_startup)
    dispatcher.shutdown.register(on_shutdown)
    return dispatcher
