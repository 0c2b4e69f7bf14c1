"""Plain builders for valid messages: a test changes only the fields it is about."""

from __future__ import annotations

import json
from typing import Any

from protocol.codec import encode
from protocol.messages import (
    Ack,
    Command,
    CommandKind,
    DeviceStatus,
    Directive,
    Event,
    EventKind,
    HubState,
    Receipt,
)
from protocol.srp import Action
from protocol.topics import ScopeKind

T0 = 1_700_000_000.25
"""A fixed, float wall-clock time: no test reads the real clock."""


def directive(**changes: Any) -> Directive:
    fields: dict[str, Any] = {
        "seq": 1,
        "issued_at": T0,
        "scope": ScopeKind.SITE,
        "target": "",
        "action": Action.LOCKDOWN,
        "drill": False,
        "issued_by": "office",
    }
    return Directive(**(fields | changes))


def event(**changes: Any) -> Event:
    fields: dict[str, Any] = {
        "event_id": "evt-0001",
        "device_id": "dev-101",
        "room": "101",
        "kind": EventKind.PANIC,
        "created_at": T0,
    }
    return Event(**(fields | changes))


def status(**changes: Any) -> DeviceStatus:
    fields: dict[str, Any] = {
        "device_id": "dev-101",
        "room": "101",
        "online": True,
        "session": 1,
        "firmware": "roomcast-0.1.0",
        "time": T0,
    }
    return DeviceStatus(**(fields | changes))


def ack(**changes: Any) -> Ack:
    fields: dict[str, Any] = {"device_id": "dev-101", "room": "101", "seq": 1, "shown_at": T0}
    return Ack(**(fields | changes))


def hub_state(**changes: Any) -> HubState:
    fields: dict[str, Any] = {"online": True, "epoch": 1, "heartbeat_s": 5.0, "time": T0}
    return HubState(**(fields | changes))


def receipt(**changes: Any) -> Receipt:
    fields: dict[str, Any] = {"event_id": "evt-0001", "received_at": T0}
    return Receipt(**(fields | changes))


def command(**changes: Any) -> Command:
    fields: dict[str, Any] = {
        "seq": 1,
        "device_id": "dev-101",
        "kind": CommandKind.IDENTIFY,
        "issued_at": T0,
        "expires_at": T0 + 60,
        "issued_by": "it",
    }
    return Command(**(fields | changes))


def body_of(message: Any) -> dict[str, Any]:
    """The wire form of a valid message as a dict, to be broken by a test."""
    return dict(json.loads(encode(message)))


def wire(body: dict[str, Any]) -> bytes:
    return json.dumps(body).encode()
