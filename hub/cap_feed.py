"""The CAP 1.2 Atom feed of the alerts in force, for signage and desktop-alert clients.

``GET /cap/alerts.atom`` lists the open panic alerts and the directives in force, each as
an Atom entry that embeds its CAP alert and links to it; ``GET /cap/alerts/<identifier>.xml``
returns one. The alerts are built by the same writer as the relay's ``[[cap]]`` POSTs, so
an identifier means the same alert in both.

Authentication: HTTP Basic against ``[cap_feed]``'s credential in relay.toml (what
signage and desktop-alert clients can be configured with), or any hub session or token
with the read role (a viewer's token for a script). Anything else is 401, with the
``WWW-Authenticate`` challenge a polling client needs to know to send its credential.
"""

from __future__ import annotations

import base64
import binascii
import secrets
import xml.etree.ElementTree as ET
from datetime import UTC, datetime

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from hub.access import Access
from hub.auth import Permission
from hub.parts import HubParts
from hub.relay.cap import CapDraft
from hub.relay.cap_records import CapWriter, writer_for
from hub.relay.cap_scope import CapAudience
from hub.relay.config import CapFeed, RelayConfig
from hub.relay.relay import drill_in_room_of
from hub.relay.store import Recorded
from protocol.srp import is_idle

ATOM = "http://www.w3.org/2005/Atom"
ATOM_TYPE = "application/atom+xml; charset=utf-8"
XML_TYPE = "application/xml; charset=utf-8"
CHALLENGE = {"WWW-Authenticate": 'Basic realm="roomcast-cap", charset="UTF-8"'}


def cap_routes(parts: HubParts, access: Access) -> list[BaseRoute]:
    """The feed's routes; none without a relay.toml (its [site] places the alerts)."""
    relay = parts.config.relay
    if relay is None:
        return []
    feed = CapFeedPages(parts, access, relay)
    return [
        Route("/cap/alerts.atom", feed.atom),
        Route("/cap/alerts/{identifier}.xml", feed.alert),
    ]


class CapFeedPages:
    def __init__(self, parts: HubParts, access: Access, relay: RelayConfig) -> None:
        self._parts, self._access, self._relay = parts, access, relay
        self._credential: CapFeed | None = relay.cap_feed
        self._audience = relay.cap_feed.audience if relay.cap_feed else CapAudience()
        store = parts.store

        def panic_at(event_id: str) -> float | None:
            row = store.panic(event_id)
            return None if row is None else float(row["received_at"])

        self._writer: CapWriter = writer_for(
            parts.engine,
            site_id=parts.config.site,
            site=relay.site,
            drill_in_room=drill_in_room_of(parts.engine),
            panic_at=panic_at,
        )

    def allowed(self, request: Request) -> bool:
        scheme, _, value = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() == "basic" and self._credential is not None:
            try:
                user, _, password = base64.b64decode(value, validate=True).decode().partition(":")
            except (binascii.Error, UnicodeDecodeError):
                return False
            same_user = secrets.compare_digest(user.encode(), self._credential.username.encode())
            same = secrets.compare_digest(password.encode(), self._credential.password.encode())
            return same_user and same
        principal = self._access.principal(request)
        return principal is not None and principal.may(Permission.READ)

    def in_force(self) -> list[CapDraft]:
        """The open panics (newest first), then the directives in force (oldest first)."""
        panics = [
            Recorded(row["received_at"], event=row) for row in self._parts.store.open_panics()
        ]
        directives = [
            Recorded(d.issued_at, directive=d)
            for d in self._parts.engine.directives.current
            if not is_idle(d.action)
        ]
        return [self._writer.draft(r) for r in panics + directives]

    async def atom(self, request: Request) -> Response:
        if not self.allowed(request):
            return Response("authentication required\n", 401, headers=CHALLENGE)
        return Response(
            self.render_feed(self.in_force(), str(request.base_url)), media_type=ATOM_TYPE
        )

    async def alert(self, request: Request) -> Response:
        if not self.allowed(request):
            return Response("authentication required\n", 401, headers=CHALLENGE)
        wanted = request.path_params["identifier"]
        for draft in self.in_force():
            if draft.identifier == wanted:
                return Response(draft.render(self._audience), media_type=XML_TYPE)
        return Response("no such alert in force\n", 404)

    def render_feed(self, drafts: list[CapDraft], base: str) -> bytes:
        # Atom's names unqualified under a literal xmlns, so the feed reads as plain Atom
        # (ElementTree's default_namespace refuses the unqualified attributes) and each
        # embedded CAP alert keeps its own namespace with the cap: prefix.
        feed = ET.Element("feed", xmlns=ATOM)
        _text(feed, "id", f"urn:roomcast:{self._parts.config.site}:cap:alerts")
        _text(feed, "title", f"{self._relay.site.name}: alerts in force")
        updated = max((d.sent for d in drafts), default=None)
        _text(feed, "updated", updated or _now())
        author = ET.SubElement(feed, "author")
        _text(author, "name", self._relay.site.cap_sender)
        ET.SubElement(feed, "link", rel="self", href=f"{base}cap/alerts.atom")
        for draft in drafts:
            self._entry(feed, draft, base)
        data: bytes = ET.tostring(feed, encoding="utf-8", xml_declaration=True)
        return data

    def _entry(self, feed: ET.Element, draft: CapDraft, base: str) -> None:
        entry = ET.SubElement(feed, "entry")
        _text(entry, "id", f"urn:roomcast:cap:{draft.identifier}")
        _text(entry, "title", draft.headline)
        _text(entry, "updated", draft.sent)
        href = f"{base}cap/alerts/{draft.identifier}.xml"
        ET.SubElement(entry, "link", rel="alternate", type="application/xml", href=href)
        content = ET.SubElement(entry, "content", type="application/xml")
        content.append(draft.element(self._audience))


def _text(parent: ET.Element, name: str, text: str) -> None:
    ET.SubElement(parent, name).text = text


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")
