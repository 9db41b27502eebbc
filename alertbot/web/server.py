"""The HTTP server in the bot process (aiohttp): GET /healthz, /readyz and /metrics, the webhook path, the
HTTP API under /api/v1 (`web/api/`) and the public CAP feed.

/healthz: the process is alive (200). /readyz: 200 when `readiness` holds, else 503, with a JSON body
naming each check. /metrics: Prometheus text format. Every instance serves them, lease holder or not.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST

from alertbot.config import ServerConfig
from alertbot.core.errors import ConfigError
from alertbot.delivery.leadership import Leadership
from alertbot.delivery.sender import OutboxSender
from alertbot.storage.campaigns import CampaignRepository
from alertbot.storage.database import Database
from alertbot.storage.outbox import OutboxRepository
from alertbot.web.api.feed import CapFeed
from alertbot.web.api.routes import Api
from alertbot.web.metrics import Metrics, Scrape
from alertbot.web.readiness import readiness
from alertbot.web.webhook import Webhook

log = logging.getLogger(__name__)


@dataclass
class HttpServer:
    config: ServerConfig
    database: Database
    outbox: OutboxRepository
    campaigns: CampaignRepository
    sender: OutboxSender
    leadership: Leadership
    metrics: Metrics
    webhook: Webhook | None = None
    """Webhook mode: Telegram's updates arrive at its path."""
    api: Api | None = None
    """The HTTP API (`[api] enabled`)."""
    feed: CapFeed | None = None
    _runner: web.AppRunner | None = None
    port: int | None = None
    """The port it listens on, once started (the configured one, or the one chosen for port 0)."""

    def app(self) -> web.Application:
        # bodies are bounded per route by the API itself (`[api] max_body`, `max_cap_body`)
        app = web.Application(client_max_size=32 * 2**20)
        app.router.add_get("/healthz", self._healthz)
        app.router.add_get("/readyz", self._readyz)
        app.router.add_get("/metrics", self._metrics)
        if self.webhook is not None:
            self.webhook.register(app)
        if self.api is not None:
            self.api.register(app)
        if self.feed is not None:
            self.feed.register(app)
        return app

    async def start(self) -> None:
        runner = web.AppRunner(self.app(), access_log=None)
        await runner.setup()
        try:
            await web.TCPSite(runner, self.config.host, self.config.port).start()
        except OSError as error:
            await runner.cleanup()
            raise ConfigError(
                f"server: cannot listen on {self.config.host}:{self.config.port} ({error.strerror}); "
                "set [server] port (or enabled = false)"
            ) from error
        self._runner = runner
        self.port = int(runner.addresses[0][1])
        paths = "/healthz, /readyz, /metrics" + (f", webhook {self.webhook.path}" if self.webhook else "")
        paths += ", API /api/v1 (docs /api/docs), CAP feed /cap/feed.atom" if self.api else ""
        log.info("HTTP server on http://%s:%d (%s)", self.config.host, self.port, paths)

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def _healthz(self, _request: web.Request) -> web.Response:
        return web.json_response({"alive": True})

    async def _readyz(self, _request: web.Request) -> web.Response:
        state = await readiness(self.database, self.leadership, self.sender.health)
        body = json.dumps({"ready": state.ready, "checks": state.checks}, ensure_ascii=False)
        return web.Response(text=body, status=200 if state.ready else 503, content_type="application/json")

    async def _metrics(self, _request: web.Request) -> web.Response:
        scrape = Scrape()
        try:
            scrape.queue = await self.outbox.queue_depth()
            scrape.delivery_times = await self.outbox.delivery_times()
            scrape.occurrences = await self.campaigns.occurrence_counts()
        except Exception:  # the database away: the other metrics still say what this process knows
            log.warning("database figures unavailable for /metrics", exc_info=True)
        return web.Response(body=self.metrics.render(scrape), headers={"Content-Type": CONTENT_TYPE_LATEST})
