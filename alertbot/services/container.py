"""The services, built once from config and a database: what every entry point (chat, CLI) works with.

Nothing here talks to Telegram, so the CLI builds these without importing aiogram.
"""

from __future__ import annotations

from dataclasses import dataclass

from alertbot.config import AppConfig
from alertbot.content.i18n import Translator
from alertbot.content.templates import MessageTemplates
from alertbot.services.alerts import AlertService
from alertbot.services.api_keys import ApiKeyService
from alertbot.services.base import ServiceContext
from alertbot.services.campaigns import CampaignService
from alertbot.services.cap_export import CapExporter
from alertbot.services.cap_import import CapImporter
from alertbot.services.channels import ChannelDirectory
from alertbot.services.districts import DistrictDirectory
from alertbot.services.officials import OfficialDirectory
from alertbot.services.subscriptions import SubscriptionService
from alertbot.storage import Database
from alertbot.storage.api import ApiKeyRepository, CapImportRepository, IdempotencyRepository
from alertbot.storage.audit import AuditLog
from alertbot.storage.broadcasts import BroadcastRepository
from alertbot.storage.campaigns import CampaignRepository
from alertbot.storage.channel_posts import ChannelPostRepository
from alertbot.storage.outbox import OutboxRepository
from alertbot.storage.subscribers import SubscriberRepository


@dataclass
class Services:
    """Everything that does the domain work, built once from config and a database."""

    config: AppConfig
    database: Database
    translator: Translator
    districts: DistrictDirectory
    officials: OfficialDirectory
    subscriptions: SubscriptionService
    broadcasts: BroadcastRepository
    outbox: OutboxRepository
    audit: AuditLog
    alerts: AlertService
    campaigns: CampaignService
    channels: ChannelDirectory
    channel_posts: ChannelPostRepository
    api_keys: ApiKeyService
    idempotency: IdempotencyRepository
    cap_export: CapExporter
    cap_import: CapImporter


async def build_services(config: AppConfig, *, migrate: bool = True) -> Services:
    database = Database(config.storage.url)
    try:
        if migrate:
            await database.upgrade()
        return _services(config, database)
    except BaseException:
        await database.close()
        raise


def _services(config: AppConfig, database: Database) -> Services:
    translator = Translator()
    districts = DistrictDirectory(config.districts)
    officials = OfficialDirectory(config.officials)
    broadcasts = BroadcastRepository(database)
    audit = AuditLog(database)
    templates = MessageTemplates()
    context = ServiceContext(config, templates, translator, districts, officials, audit, database)
    channels = ChannelDirectory.of(districts)
    channel_posts = ChannelPostRepository(database)
    alerts = AlertService(context, broadcasts, channels, channel_posts)
    campaigns = CampaignService(context, CampaignRepository(database), broadcasts)
    cap_export = CapExporter(config, templates, translator, districts, broadcasts)
    return Services(
        config=config,
        database=database,
        translator=translator,
        districts=districts,
        officials=officials,
        subscriptions=SubscriptionService(
            SubscriberRepository(database), districts, only_writer=not config.redis.url.get_secret_value()
        ),
        broadcasts=broadcasts,
        outbox=OutboxRepository(database),
        audit=audit,
        alerts=alerts,
        campaigns=campaigns,
        channels=channels,
        channel_posts=channel_posts,
        api_keys=ApiKeyService(ApiKeyRepository(database), officials, audit),
        idempotency=IdempotencyRepository(database),
        cap_export=cap_export,
        cap_import=CapImporter(alerts, cap_export, districts, CapImportRepository(database)),
    )
