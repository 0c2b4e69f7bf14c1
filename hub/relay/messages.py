"""What the relay says about each record: the webhook's JSON (docs/webhook.schema.json).

A message is built once, when it is queued, from the record and the inventory as they are
then; every retry sends the same bytes. Times are the hub's clock (a node's clock may be
wrong), as RFC 3339 UTC strings and as Unix seconds.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from hub.relay.config import SiteDetails
from hub.relay.store import Recorded
from protocol.inventory import Room
from protocol.messages import Directive
from protocol.srp import Vocabulary
from protocol.topics import ScopeKind
from protocol.wording import directive_lines

if TYPE_CHECKING:
    from hub.relay.cap import CapDraft

SCHEMA_ID = "https://roomcast.org/schemas/webhook/v1.json"
VERSION = 1


@dataclass(frozen=True)
class Message:
    key: str
    """The idempotency key: ``event:<event id>`` or ``directive:<seq>``."""
    kind: str
    drill: bool
    body: bytes
    cap: CapDraft | None = None
    """The same record in CAP 1.2, rendered per destination (its scope is theirs)."""


@dataclass(frozen=True, kw_only=True)
class Context:
    """What the hub knows beside the record, as the relay is given it."""

    site_id: str
    site: SiteDetails
    room: Callable[[str], Room | None]
    drill_in_room: Callable[[str], bool]
    """Whether a room's directive in force is a drill (a press then says ``during_drill``)."""
    describe: Callable[[Directive], dict[str, Any]]
    cap: Callable[[Recorded], CapDraft] | None = None
    vocabulary: Vocabulary = field(default_factory=Vocabulary)
    """The site's first language: a directive's ``text`` is what its displays say in it."""


def message_for(recorded: Recorded, context: Context) -> Message:
    cap = None if context.cap is None else context.cap(recorded)
    if recorded.event is not None:
        return dataclasses.replace(_event_message(recorded.event, context), cap=cap)
    assert recorded.directive is not None
    return dataclasses.replace(_directive_message(recorded.directive, context), cap=cap)


def _stamp(at: float) -> str:
    return datetime.fromtimestamp(at, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _site(context: Context) -> dict[str, Any]:
    site = context.site
    return {
        "id": context.site_id,
        "name": site.name,
        "address": dict(site.address),
        "latitude": site.latitude,
        "longitude": site.longitude,
    }


def _place(room: Room | None, *, building: str | None = None) -> dict[str, Any]:
    if room is None:
        return {"building": building, "floor": None, "room": None, "room_name": None}
    return {
        "building": room.building,
        "floor": room.floor or None,
        "room": room.id,
        "room_name": room.label,
    }


def _envelope(key: str, kind: str, drill: bool, at: float, context: Context) -> dict[str, Any]:
    return _head(key, kind, drill, at, _site(context))


def _head(key: str, kind: str, drill: bool, at: float, site: dict[str, Any]) -> dict[str, Any]:
    return {
        "$schema": SCHEMA_ID,
        "version": VERSION,
        "id": key,
        "kind": kind,
        "test": kind == "test",
        "drill": drill,
        "at": _stamp(at),
        "at_unix": at,
        "site": site,
    }


def relay_test_message(key: str, at: float, *, site_id: str, site: SiteDetails) -> bytes:
    """``roomcast relay test``: kind ``test``, ``test`` true, never a drill and about no room,
    so a receiver can answer it and act on nothing."""
    where: dict[str, Any] = {"id": site_id, "name": site.name, "address": dict(site.address)}
    where |= {"latitude": site.latitude, "longitude": site.longitude}
    body = _head(key, "test", False, at, where) | {"during_drill": False}
    body |= _place(None) | {
        "device": None,
        "event": None,
        "directive": None,
        "console_url": f"{site.console_url}/board",
    }
    return _encode(body)


def _encode(body: dict[str, Any]) -> bytes:
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def _event_message(event: dict[str, Any], context: Context) -> Message:
    key = f"event:{event['event_id']}"
    room = context.room(event["room"])
    # A press is a teacher's own signal, never part of a drill's script: it goes to every
    # destination as real, and says a drill was in force in its room. A false dispatch
    # can be called back; a real alarm held back because a drill was running cannot.
    body = _envelope(key, event["kind"], False, event["received_at"], context)
    body |= {"during_drill": context.drill_in_room(event["room"])}
    body |= _place(room) | {
        "device": event["device_id"],
        "event": {"event_id": event["event_id"], "cancels": event["cancels"]},
        "directive": None,
        "console_url": f"{context.site.console_url}/alerts#alert-{event['event_id']}",
    }
    if room is None:  # a room removed from the inventory since: still say which
        body["room"] = event["room"]
    return Message(key, event["kind"], False, _encode(body))


def _directive_message(directive: Directive, context: Context) -> Message:
    key = f"directive:{directive.seq}"
    room = context.room(directive.target) if directive.scope is ScopeKind.ROOM else None
    building = directive.target if directive.scope is ScopeKind.BUILDING else None
    body = _envelope(key, "directive", directive.drill, directive.issued_at, context)
    body |= {"during_drill": directive.drill}
    body |= _place(room, building=building) | {
        "device": None,
        "event": None,
        "directive": directive_fields(directive, context),
        "console_url": f"{context.site.console_url}/board",
    }
    return Message(key, "directive", directive.drill, _encode(body))


def directive_fields(directive: Directive, context: Context) -> dict[str, Any]:
    """The ``directive`` object of a message (docs/webhook.schema.json)."""
    return {
        "seq": directive.seq,
        "action": directive.action.value,
        "term": context.describe(directive)["term"],
        "scope": directive.scope.value,
        "target": directive.target,
        "issued_by": directive.issued_by,
        "location": directive.location,
        "hazard": directive.hazard,
        "strategy": directive.strategy,
        "note": directive.note,
        "language": context.vocabulary.language,
        "text": list(directive_lines(directive, context.vocabulary)),
    }
