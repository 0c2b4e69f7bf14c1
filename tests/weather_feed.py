"""A weather alerts feed on loopback for the tests, and documents in the NWS's formats.

The documents follow what api.weather.gov publishes: ``/alerts/active`` as GeoJSON
(``features[].properties`` with ``id``, ``event``, ``headline``, ``status``,
``messageType``, ``geocode.UGC``/``SAME``, ``references``) and ``/alerts/active.atom``
(Atom entries with ``cap:`` elements, geocodes as ``valueName``/``value`` pairs), and a
whole CAP 1.2 alert inside an Atom entry. The server is a real HTTP server in a thread;
a test changes what it serves between polls.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from xml.sax.saxutils import escape


def iso(at: float) -> str:
    return datetime.fromtimestamp(at, UTC).isoformat(timespec="seconds")


@dataclass(kw_only=True)
class Alert:
    """One alert as the NWS describes it; ``expires_in`` seconds from now (negative: past)."""

    id: str
    event: str = "Tornado Warning"
    ugc: tuple[str, ...] = ("TXZ192",)
    same: tuple[str, ...] = ("048453",)
    expires_in: float = 3600
    status: str = "Actual"
    msg_type: str = "Alert"
    references: tuple[str, ...] = ()
    headline: str = ""

    @property
    def title(self) -> str:
        return self.headline or f"{self.event} issued by NWS Austin/San Antonio TX ({self.id})"


def nws_json(alerts: list[Alert]) -> bytes:
    now = time.time()
    features = [
        {
            "id": f"https://api.weather.gov/alerts/{a.id}",
            "type": "Feature",
            "geometry": None,
            "properties": {
                "@id": f"https://api.weather.gov/alerts/{a.id}",
                "@type": "wx:Alert",
                "id": a.id,
                "areaDesc": "Travis, TX",
                "geocode": {"SAME": list(a.same), "UGC": list(a.ugc)},
                "affectedZones": [f"https://api.weather.gov/zones/forecast/{u}" for u in a.ugc],
                "references": [
                    {
                        "@id": f"https://api.weather.gov/alerts/{r}",
                        "identifier": r,
                        "sender": "w-nws.webmaster@noaa.gov",
                        "sent": iso(now - 600),
                    }
                    for r in a.references
                ],
                "sent": iso(now - 60),
                "effective": iso(now - 60),
                "onset": iso(now - 60),
                "expires": iso(now + a.expires_in),
                "ends": iso(now + a.expires_in),
                "status": a.status,
                "messageType": a.msg_type,
                "category": "Met",
                "severity": "Extreme",
                "certainty": "Observed",
                "urgency": "Immediate",
                "event": a.event,
                "sender": "w-nws.webmaster@noaa.gov",
                "senderName": "NWS Austin/San Antonio TX",
                "headline": a.title,
                "description": "At 402 PM CST, a confirmed tornado was located near ...",
                "instruction": "TAKE COVER NOW! Move to a basement or an interior room ...",
                "response": "Shelter",
            },
        }
        for a in alerts
    ]
    document = {
        "@context": ["https://geojson.org/geojson-ld/geojson-context.jsonld"],
        "type": "FeatureCollection",
        "features": features,
        "title": "Current watches, warnings, and advisories",
        "updated": iso(now),
    }
    return json.dumps(document).encode()


def _geocodes(a: Alert) -> str:
    pairs = [("SAME", " ".join(a.same)), ("UGC", " ".join(a.ugc))]
    return "".join(
        f"<cap:geocode><valueName>{n}</valueName><value>{v}</value></cap:geocode>" for n, v in pairs
    )


def _nws_entry(a: Alert, now: float) -> str:
    """An entry as api.weather.gov's .atom writes it: cap: elements on the entry itself."""
    refs = " ".join(f"w-nws.webmaster@noaa.gov,{r},{iso(now - 600)}" for r in a.references)
    return f"""<entry>
<id>https://api.weather.gov/alerts/{escape(a.id)}</id>
<updated>{iso(now - 60)}</updated>
<published>{iso(now - 60)}</published>
<author><name>w-nws.webmaster@noaa.gov</name></author>
<title>{escape(a.title)}</title>
<summary>At 402 PM CST, a confirmed tornado was located near ...</summary>
<cap:event>{escape(a.event)}</cap:event>
<cap:effective>{iso(now - 60)}</cap:effective>
<cap:expires>{iso(now + a.expires_in)}</cap:expires>
<cap:status>{a.status}</cap:status>
<cap:msgType>{a.msg_type}</cap:msgType>
<cap:category>Met</cap:category>
<cap:urgency>Immediate</cap:urgency>
<cap:severity>Extreme</cap:severity>
<cap:certainty>Observed</cap:certainty>
<cap:areaDesc>Travis, TX</cap:areaDesc>
{_geocodes(a)}
{f"<cap:references>{refs}</cap:references>" if refs else ""}
</entry>"""


def cap_alert(a: Alert, now: float) -> str:
    """A whole CAP 1.2 alert (OASIS), as a CAP/Atom entry's content carries one."""
    refs = " ".join(f"w-nws.webmaster@noaa.gov,{r},{iso(now - 600)}" for r in a.references)
    codes = "".join(
        f"<geocode><valueName>{n}</valueName><value>{c}</value></geocode>"
        for n, cs in (("SAME", a.same), ("UGC", a.ugc))
        for c in cs
    )
    return f"""<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2">
<identifier>{escape(a.id)}</identifier><sender>w-nws.webmaster@noaa.gov</sender>
<sent>{iso(now - 60)}</sent><status>{a.status}</status><msgType>{a.msg_type}</msgType>
<scope>Public</scope>{f"<references>{refs}</references>" if refs else ""}
<info><category>Met</category><event>{escape(a.event)}</event><responseType>Shelter</responseType>
<urgency>Immediate</urgency><severity>Extreme</severity><certainty>Observed</certainty>
<effective>{iso(now - 60)}</effective><expires>{iso(now + a.expires_in)}</expires>
<headline>{escape(a.title)}</headline>
<area><areaDesc>Travis, TX</areaDesc>{codes}</area></info></alert>"""


def cap_atom(alerts: list[Alert], *, embedded: tuple[Alert, ...] = ()) -> bytes:
    now = time.time()
    entries = [_nws_entry(a, now) for a in alerts] + [
        f"<entry><id>urn:test:{escape(a.id)}</id><updated>{iso(now)}</updated>"
        f"<title>{escape(a.title)}</title>"
        f'<content type="application/xml">{cap_alert(a, now)}</content></entry>'
        for a in embedded
    ]
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<feed xmlns="http://www.w3.org/2005/Atom" xmlns:cap="urn:oasis:names:tc:emergency:cap:1.2">
<id>https://api.weather.gov/alerts/active.atom</id>
<generator>NWS CAP Server</generator>
<updated>{iso(now)}</updated>
<author><name>w-nws.webmaster@noaa.gov</name></author>
<title>Current watches, warnings, and advisories</title>
{"".join(entries)}
</feed>""".encode()


@dataclass
class FeedServer:
    """What it serves now (a test changes it), and how many requests it has answered."""

    body: bytes = b'{"features": []}'
    content_type: str = "application/geo+json"
    status: int = 200
    declare_length: bool = True
    """False: no Content-Length (the body ends when the connection does), so only the
    hub's count of bytes read can stop an oversized feed."""
    requests: int = 0
    _server: ThreadingHTTPServer | None = field(default=None, repr=False)

    @property
    def url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}/alerts/active"

    def serve(self, body: bytes, content_type: str = "application/geo+json") -> None:
        self.body, self.content_type, self.status = body, content_type, 200


@contextmanager
def feed_server() -> Iterator[FeedServer]:
    feed = FeedServer()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            feed.requests += 1
            self.send_response(feed.status)
            self.send_header("Content-Type", feed.content_type)
            if feed.declare_length:
                self.send_header("Content-Length", str(len(feed.body)))
            else:
                self.close_connection = True
            self.end_headers()
            # The hub hangs up on an oversized body: expected, not the test's failure.
            with contextlib.suppress(ConnectionError):
                self.wfile.write(feed.body)

        def log_message(self, format: str, *args: Any) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    feed._server = server
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield feed
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
