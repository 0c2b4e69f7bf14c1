"""Read-only queries of the engine and the store as plain JSON-able dicts (the API, the CLI,
the console)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from hub.clocks import CLOCK_SKEW_FAULT_S
from hub.engine import Engine
from hub.quarantine import DeviceAlarm
from hub.relay.views import HandOffs
from hub.roll import CampusRoll
from hub.store import HubStore
from hub.weather.poller import SourceHealth
from protocol.inventory import Room
from protocol.messages import STAFF_REPORT_KINDS, EventKind

STATUS_REPORT_KINDS = (*STAFF_REPORT_KINDS, EventKind.FAULT)
"""What the status API lists under reports (the board shows only the staff reports)."""


def room_status(engine: Engine, room: Room, roll: CampusRoll | None = None) -> dict[str, Any]:
    """One room as the API and ``roomcast status`` show it; ``roll`` is the campus roll
    (read once per status), and the room's entry in it is its ``roll``."""
    directive = engine.directives.effective(room)
    roll = engine.roll.campus() if roll is None else roll
    entry = roll.entries.get(room.id)
    records = engine.presence.devices
    devices = [
        {
            "device_id": device_id,
            "online": records[device_id].online,
            "last_seen": records[device_id].last_seen,
            "faults": records[device_id].faults,
        }
        for device_id in engine.presence.inventory.devices_in(room.id)
    ]
    ack_ms = None if directive is None else engine.acks.room_ack_ms(room, directive)
    return {
        "room": room.id,
        "name": room.label,
        "building": room.building,
        "floor": room.floor,
        "directive": None
        if directive is None
        else {
            "seq": directive.seq,
            "action": directive.action.value,
            "term": engine.directives.vocabulary[directive.action].term,
            "drill": directive.drill,
            "scope": directive.scope.value,
            "issued_at": directive.issued_at,
        },
        "acked": ack_ms is not None,
        "ack_ms": None if ack_ms is None else round(ack_ms, 1),
        "online": bool(devices) and all(d["online"] for d in devices),
        "devices": devices,
        "roll": None if entry is None else entry.as_dict(),
        "roll_due": roll.due(room.id),
    }


ALERT_PAGE = 100
"""Panics per page of alert history (the open ones are never paged: see open_alerts)."""
MAX_ALERT_PAGE = 500


def _alert(row: dict[str, Any]) -> dict[str, Any]:
    return row | {
        "open": row["cancelled_at"] is None and row["acknowledged_by"] is None,
        "press_to_hub_ms": _press_to_hub_ms(row),
    }


def _press_to_hub_ms(row: dict[str, Any]) -> float | None:
    """From the node's clock to the hub's: None when that cannot be a delivery time (the
    node's clock is off; the office sees a clock fault for it), never hours or negative."""
    ms = (row["received_at"] - row["created_at"]) * 1000
    return round(ms, 1) if -CLOCK_SKEW_FAULT_S * 1000 < ms < CLOCK_SKEW_FAULT_S * 1000 else None


def open_alerts(store: HubStore) -> list[dict[str, Any]]:
    """Every open panic alert, however old, newest first: what the office must act on."""
    return [_alert(row) for row in store.open_panics()]


def alert(store: HubStore, event_id: str) -> dict[str, Any] | None:
    """One panic alert by its event id, open or not."""
    row = store.panic(event_id)
    return None if row is None else _alert(row)


def alerts(
    store: HubStore, *, before: tuple[float, str] | None = None, limit: int = ALERT_PAGE
) -> list[dict[str, Any]]:
    """One page of the panic alerts on record, newest first, each with its cancellation
    (both stay on record); ``before`` continues from a previous page's last alert."""
    return [_alert(row) for row in store.panics(before=before, limit=limit)]


def alert_listing(store: HubStore, *, before: str | None, limit: int) -> dict[str, Any]:
    """What the API and the alerts page show: every open alert, and a page of all."""
    if not 1 <= limit <= MAX_ALERT_PAGE:
        raise ValueError(f"limit must be 1 to {MAX_ALERT_PAGE}, not {limit}")
    page = alerts(store, before=None if before is None else parse_cursor(before), limit=limit)
    return {"open": open_alerts(store), "alerts": page, "next": page_cursor(page, limit)}


def page_cursor(page: list[dict[str, Any]], limit: int) -> str | None:
    """The cursor of the next page (``received_at:event_id``), or None on the last one."""
    if len(page) < limit:
        return None
    last = page[-1]
    return f"{last['received_at']!r}:{last['event_id']}"


def parse_cursor(text: str) -> tuple[float, str]:
    """A cursor from :func:`page_cursor`; ValueError when it is not one."""
    at, _, event_id = text.partition(":")
    value = float(at)
    if not event_id or not value == value:  # NaN compares unequal to itself
        raise ValueError(f"not a page cursor: {text!r}")
    return value, event_id


def trouble(engine: Engine) -> dict[str, list[str]]:
    """What the office must look at: offline displays, unconfirmed directives, faults."""
    devices = engine.presence.devices
    offline = sorted(d for d, r in devices.items() if not r.online)
    faults = sorted(
        f"{d}: {part}: {why}" for d, r in devices.items() for part, why in r.faults.items()
    )
    return {"offline": offline, "unacked": engine.acks.unconfirmed(), "faults": faults}


def with_handoffs(handoffs: HandOffs | None, alerts: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each alert with ``handoffs``: its deliveries, one per destination (hub/relay/views)."""
    if handoffs is None:
        return [a | {"handoffs": []} for a in alerts]
    found = handoffs.deliveries([f"event:{a['event_id']}" for a in alerts])
    return [a | {"handoffs": found[f"event:{a['event_id']}"]} for a in alerts]


def campus_status(
    engine: Engine,
    store: HubStore,
    *,
    connected: bool,
    floods: Sequence[DeviceAlarm] = (),
    handoffs: HandOffs | None = None,
    weather: SourceHealth | None = None,
) -> dict[str, Any]:
    inventory = engine.presence.inventory
    health = [] if handoffs is None else handoffs.health()
    rooms = sorted(inventory.rooms.values(), key=lambda r: (r.building, r.floor, r.id))
    roll = engine.roll.campus()
    return {
        "site": inventory.site,
        "broker_connected": connected,
        "latest_seq": engine.directives.latest_seq,
        "rooms": [room_status(engine, room, roll) for room in rooms],
        "roll": roll.as_dict(),
        "alerts": with_handoffs(handoffs, open_alerts(store)),
        "reports": sorted(
            store.latest_per_room(kinds=STATUS_REPORT_KINDS).values(),
            key=lambda report: -report["received_at"],
        ),
        "rejected": dict(engine.rejected.counts),
        "trouble": trouble(engine)
        | {
            "floods": [flood.describe() for flood in floods],
            "handoffs": [h["words"] for h in health if h["state"] == "failing"],
            "weather": [weather.trouble] if weather is not None and weather.trouble else [],
        },
        "floods": [flood.as_dict() for flood in floods],
        "handoffs": health,
    }
