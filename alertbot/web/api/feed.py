"""The public CAP feed: `/cap/feed.atom` lists the current Actual warnings (sent within `[cap] expires_after`,
not withdrawn, not exercises), each linking its CAP 1.2 document at `/cap/alerts/ID.xml` — what CAP aggregators
(Google Public Alerts, the WMO register's harvesters) poll. Both are public, as the warnings themselves are."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from aiohttp import web

from alertbot.content import cap
from alertbot.core.clock import utcnow
from alertbot.core.domain import Broadcast, BroadcastKind
from alertbot.core.errors import BroadcastNotFoundError
from alertbot.services.container import Services
from alertbot.web.api.operations import CAP_XML

ATOM = "http://www.w3.org/2005/Atom"
FEED_PATH = "/cap/feed.atom"
ALERT_PATH = "/cap/alerts/{id}.xml"


class CapFeed:
    def __init__(self, services: Services) -> None:
        self._s = services

    def register(self, app: web.Application) -> None:
        app.router.add_get(FEED_PATH, self._feed)
        app.router.add_get("/cap/alerts/{name}", self._alert)

    async def current(self) -> list[Broadcast]:
        """The Actual warnings still current: unexpired, not withdrawn, not exercises; newest first."""
        since = utcnow() - self._s.config.cap.expires_after
        issued = await self._s.broadcasts.issued([BroadcastKind.WARNING], since=since)
        return [b for b in issued if not b.exercise and b.withdrawn_at is None]

    async def _feed(self, request: web.Request) -> web.Response:
        base = self._s.config.cap.feed_url.rstrip("/") or f"{request.scheme}://{request.host}"
        exporter = self._s.cap_export
        ET.register_namespace("", ATOM)
        feed = ET.Element(f"{{{ATOM}}}feed")
        _text(feed, "id", f"{base}{FEED_PATH}")
        _text(feed, "title", f"{self._s.config.cap.sender_name}: current warnings (CAP 1.2)")
        _text(feed, "updated", cap.format_datetime(utcnow().astimezone(self._s.config.bot.zone)))
        ET.SubElement(feed, f"{{{ATOM}}}link", rel="self", href=f"{base}{FEED_PATH}")
        _text(ET.SubElement(feed, f"{{{ATOM}}}author"), "name", self._s.config.cap.sender_name)
        for broadcast in await self.current():
            alert = await exporter.alert(broadcast)
            info = next((i for i in alert.infos if i.language.startswith("en")), alert.infos[0])
            entry = ET.SubElement(feed, f"{{{ATOM}}}entry")
            _text(entry, "id", f"urn:cap:{alert.sender}:{alert.identifier}")
            _text(entry, "title", info.headline or info.event)
            _text(entry, "updated", cap.format_datetime(alert.sent))
            _text(entry, "summary", " / ".join(filter(None, (i.headline for i in alert.infos))))
            href = base + ALERT_PATH.format(id=broadcast.id)
            ET.SubElement(entry, f"{{{ATOM}}}link", rel="alternate", type=CAP_XML, href=href)
        body = ET.tostring(feed, encoding="utf-8", xml_declaration=True)
        return web.Response(body=body, content_type="application/atom+xml", charset="utf-8")

    async def _alert(self, request: web.Request) -> web.Response:
        name = request.match_info["name"]
        number = name.removesuffix(".xml")
        if not name.endswith(".xml") or not number.isdigit() or len(number) > 12:
            raise web.HTTPNotFound()
        try:
            broadcast = await self._s.cap_export.issued(int(number))
        except BroadcastNotFoundError:
            raise web.HTTPNotFound() from None
        if broadcast.exercise:  # drills are not public
            raise web.HTTPNotFound()
        document = cap.dumps(await self._s.cap_export.alert(broadcast))
        return web.Response(body=document, content_type=CAP_XML, charset="utf-8")


def _text(parent: ET.Element, tag: str, text: str) -> None:
    ET.SubElement(parent, f"{{{ATOM}}}{tag}").text = text
