"""The NWS's two alert formats, parsed with the standard library, as untrusted input.

``nws-json`` is api.weather.gov's ``/alerts/active`` (GeoJSON: ``features[].properties``
with ``event``, ``headline``, ``geocode.UGC``/``SAME`` ...); ``cap-atom`` is an Atom feed
whose entries carry ``cap:`` elements (the NWS's ``.atom``) or whole CAP 1.2 alerts. Both
become :class:`WeatherAlert`; :func:`in_force` keeps what applies to the school now.

A feed is untrusted: the size is bounded before parsing (by the poller), a document type
declaration (where entity expansion bombs live) is refused, and every field is bounded.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from hub.weather.config import FeedFormat

_TEXT_MAX = 1_000
_CODES_MAX = 2_000
_ALERTS_MAX = 5_000
LIVE_STATUS = "Actual"
LIVE_TYPES = ("Alert", "Update")


class FeedError(Exception):
    """The feed's body is not the format configured (or is too large, or hostile)."""


@dataclass(frozen=True, kw_only=True)
class WeatherAlert:
    id: str
    event: str
    headline: str
    severity: str = ""
    urgency: str = ""
    certainty: str = ""
    effective: float | None = None
    expires: float | None = None
    status: str = LIVE_STATUS
    msg_type: str = "Alert"
    codes: frozenset[str] = frozenset()
    """UGC and SAME codes of the alert's areas."""
    references: tuple[str, ...] = ()
    """Identifiers of the earlier alerts this one updates or cancels."""


def parse_feed(body: bytes, kind: FeedFormat) -> list[WeatherAlert]:
    if kind is FeedFormat.NWS_JSON:
        return parse_nws_json(body)
    return parse_cap_atom(body)


def in_force(
    alerts: Iterable[WeatherAlert], codes: frozenset[str], now: float
) -> list[WeatherAlert]:
    """Actual Alerts and Updates for the school's codes, not expired, not updated or
    cancelled by another alert in the same feed."""
    alerts = list(alerts)
    ended = {ref for a in alerts if a.msg_type in ("Update", "Cancel") for ref in a.references}
    ended |= {a.id for a in alerts if a.msg_type == "Cancel"}
    return [
        a
        for a in alerts
        if a.status == LIVE_STATUS
        and a.msg_type in LIVE_TYPES
        and a.id not in ended
        and a.codes & codes
        and (a.expires is None or a.expires > now)
    ]


def parse_nws_json(body: bytes) -> list[WeatherAlert]:
    try:
        document = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as error:
        raise FeedError(f"not JSON ({error})") from None
    features = document.get("features") if isinstance(document, dict) else None
    if not isinstance(features, list):
        raise FeedError("not an NWS alerts document: no features list")
    return [_nws_alert(f["properties"]) for f in features[:_ALERTS_MAX] if _has_props(f)]


def _has_props(feature: Any) -> bool:
    return isinstance(feature, dict) and isinstance(feature.get("properties"), dict)


def _nws_alert(props: dict[str, Any]) -> WeatherAlert:
    geocode = props.get("geocode")
    geocode = geocode if isinstance(geocode, dict) else {}
    codes = [c for key in ("UGC", "SAME") for c in _list(geocode.get(key))]
    references = [
        r.get("identifier") for r in _list(props.get("references")) if isinstance(r, dict)
    ]
    return WeatherAlert(
        id=_text(props.get("id")),
        event=_text(props.get("event")),
        headline=_text(props.get("headline")) or _text(props.get("event")),
        severity=_text(props.get("severity")),
        urgency=_text(props.get("urgency")),
        certainty=_text(props.get("certainty")),
        effective=_time(props.get("effective")),
        expires=_time(props.get("expires")),
        status=_text(props.get("status")),
        msg_type=_text(props.get("messageType")),
        codes=frozenset(_text(c) for c in codes[:_CODES_MAX]),
        references=tuple(_text(r) for r in references[:_CODES_MAX]),
    )


def parse_cap_atom(body: bytes) -> list[WeatherAlert]:
    # Decoded here so no other encoding (UTF-16 ...) can hide a DOCTYPE from the check.
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise FeedError("not UTF-8 (the NWS's feeds are)") from None
    if "<!doctype" in text.lower() or "<!entity" in text.lower():
        raise FeedError("a document type declaration is refused (entity expansion)")
    try:
        # No DTD can be left (refused above), so no entity is expanded: safe on a feed.
        root = ET.fromstring(text)  # noqa: S314
    except ET.ParseError as error:
        raise FeedError(f"not XML ({error})") from None
    if _local(root.tag) == "alert":
        return [_cap_alert(root, root)]
    if _local(root.tag) != "feed":
        raise FeedError(f"not an Atom feed or a CAP alert: <{_local(root.tag)}>")
    entries = [e for e in root if _local(e.tag) == "entry"][:_ALERTS_MAX]
    return [_entry(entry) for entry in entries]


def _entry(entry: ET.Element) -> WeatherAlert:
    """An entry with a whole CAP alert inside, or with cap: elements of its own (NWS)."""
    embedded = next((e for e in entry.iter() if _local(e.tag) == "alert"), None)
    if embedded is not None:
        return _cap_alert(embedded, embedded)
    # The NWS's entry id is the alert's URL; its last segment is the CAP identifier that
    # the JSON format and other alerts' references use.
    entry_id = _child(entry, "id").rsplit("/", 1)[-1]
    return _cap_alert(entry, entry, entry_id=entry_id, title=_child(entry, "title"))


def _cap_alert(
    root: ET.Element, scope: ET.Element, *, entry_id: str = "", title: str = ""
) -> WeatherAlert:
    info = next((e for e in scope if _local(e.tag) == "info"), scope)
    references = _child(root, "references").split()
    return WeatherAlert(
        id=_child(root, "identifier") or entry_id,
        event=_child(info, "event"),
        headline=_child(info, "headline") or title or _child(info, "event"),
        severity=_child(info, "severity"),
        urgency=_child(info, "urgency"),
        certainty=_child(info, "certainty"),
        effective=_time(_child(info, "effective") or _child(root, "sent")),
        expires=_time(_child(info, "expires")),
        status=_child(root, "status"),
        msg_type=_child(root, "msgType"),
        codes=frozenset(_geocodes(info)),
        # CAP's references are "sender,identifier,sent" triples; the identifier matters.
        references=tuple(r.split(",")[1] if r.count(",") == 2 else r for r in references),
    )


def _geocodes(scope: ET.Element) -> Iterator[str]:
    count = 0
    for geocode in (e for e in scope.iter() if _local(e.tag) == "geocode"):
        if _child(geocode, "valueName") not in ("UGC", "SAME"):
            continue
        for code in _child(geocode, "value").split():
            count += 1
            if count > _CODES_MAX:
                return
            yield code


def _child(element: ET.Element, name: str) -> str:
    """The text of the first direct child called ``name``, whatever its namespace."""
    for child in element:
        if _local(child.tag) == name:
            return _text(child.text)
    return ""


def _local(tag: Any) -> str:
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _text(value: Any) -> str:
    return value.strip()[:_TEXT_MAX] if isinstance(value, str) else ""


def _time(value: Any) -> float | None:
    try:
        return datetime.fromisoformat(_text(value)).timestamp() if value else None
    except ValueError:
        return None
