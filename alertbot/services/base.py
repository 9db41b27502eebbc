"""What the alert and campaign services share: the config, the message templates and UI strings, the
district and official directories, the audit log, and the listeners told whenever deliveries are queued."""

from __future__ import annotations

from dataclasses import dataclass

from alertbot.config import AppConfig
from alertbot.content.i18n import Translator
from alertbot.content.templates import MessageTemplates
from alertbot.services.districts import DistrictDirectory
from alertbot.services.listeners import Listener, QueuedListeners
from alertbot.services.officials import OfficialDirectory
from alertbot.storage.audit import AuditLog
from alertbot.storage.database import Database


@dataclass(frozen=True)
class ServiceContext:
    """The collaborators every queueing service is built with (see `services.container`)."""

    config: AppConfig
    templates: MessageTemplates
    translator: Translator
    districts: DistrictDirectory
    officials: OfficialDirectory
    audit: AuditLog
    database: Database  # for units of work (`services.unit_of_work`)


class QueueingService:
    """A service officials act through (audited) that queues deliveries (and says so)."""

    def __init__(self, context: ServiceContext) -> None:
        self._config = context.config
        self.templates = context.templates
        self._translator = context.translator
        self.districts = context.districts
        self.officials = context.officials
        self.audit = context.audit
        self._database = context.database
        self._queued = QueuedListeners()

    def on_queued(self, listener: Listener) -> None:
        """Called whenever deliveries are queued (the dispatcher wakes up)."""
        self._queued.add(listener)
