"""The running application: storage, services, bot and dispatcher wired together, then long polling."""

from __future__ import annotations

import contextlib
import logging
from dataclasses import dataclass

from aiogram import Bot, Dispatcher

from alertbot.config import AppConfig
from alertbot.i18n import Translator
from alertbot.services.districts import DistrictDirectory
from alertbot.services.officials import OfficialDirectory
from alertbot.services.subscriptions import SubscriptionService
from alertbot.storage import Database
from alertbot.storage.subscribers import SubscriberRepository
from alertbot.telegram.factory import create_bot, create_dispatcher

log = logging.getLogger(__name__)


@dataclass
class Application:
    config: AppConfig
    database: Database
    bot: Bot
    dispatcher: Dispatcher

    async def run_polling(self, *, handle_signals: bool = True) -> None:
        await self.dispatcher.start_polling(
            self.bot,
            handle_signals=handle_signals,
            allowed_updates=self.dispatcher.resolve_used_update_types(),
            close_bot_session=False,
        )

    async def stop(self) -> None:
        """Stop polling (if running) and release the HTTP session and the database."""
        with contextlib.suppress(RuntimeError):  # raised when polling was not running
            await self.dispatcher.stop_polling()
        await self.bot.session.close()
        await self.database.close()


async def build_application(config: AppConfig) -> Application:
    """Open and migrate the database, then build the services, the bot and the dispatcher."""
    database = Database(config.storage.url)
    await database.upgrade()
    districts = DistrictDirectory(config.districts)
    subscriptions = SubscriptionService(SubscriberRepository(database), districts)
    dispatcher = create_dispatcher(
        config,
        subscriptions=subscriptions,
        officials=OfficialDirectory(config.officials),
        translator=Translator(),
    )
    return Application(config=config, database=database, bot=create_bot(config), dispatcher=dispatcher)
