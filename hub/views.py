"""Read-only views of the campus as plain JSON-able dicts (the API, the CLI, the console)."""

from __future__ import annotations

from typing import Any

from hub.campus import Campus
from hub.store import HubStore
from protocol.inventory import Room

ALERT_KINDS = ("panic", "cancel")
STATUS_REPORT_KINDS = ("staff_assist", "all_accounted", "fault")
"""What the status API lists under reports (the board shows only the staff reports)."""


def room_status(campus: Campus, room: Room) -> dict[str, Any]:
    directive = campus.effective(room)
    devices = [
        {
            "device_id": device_id,
            "online": campus.devices[device_id].online,
            "last_seen": campus.devices[device_id].last_seen,
            "faults": campus.devices[device_id].faults,
        }
        for device_id in campus.inventory.devices_in(room.id)
    ]
    ack_ms = None if directive is None else campus.room_ack_ms(room, directive)
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
            "term": campus.vocabulary[directive.action].term,
            "drill": directive.drill,
            "scope": directive.scope.value,
            "issued_at": directive.issued_at,
        },
        "acked": ack_ms is not None,
        "ack_ms": None if ack_ms is None else round(ack_ms, 1),
        "online": bool(devices) and all(d["online"] for d in devices),
        "devices": devices,
    }


def alerts(store: HubStore, *, limit: int = 200) -> list[dict[str, Any]]:
    """Panic alerts, newest first, each with its cancellation (both stay on record)."""
    events = list(store.events(kinds=ALERT_KINDS, limit=limit * 2))
    # A cancel counts only from the device that raised the alert (the broker ACL makes
    # the device id trustworthy); a cancel naming someone else's alert is ignored.
    cancelled = {(e["cancels"], e["device_id"]): e for e in events if e["kind"] == "cancel"}
    result = []
    for event in events:
        if event["kind"] != "panic":
            continue
        cancel = cancelled.get((event["event_id"], event["device_id"]))
        result.append(
            event
            | {
                "cancelled_at": None if cancel is None else cancel["created_at"],
                "open": cancel is None and event["acknowledged_by"] is None,
                "press_to_hub_ms": round((event["received_at"] - event["created_at"]) * 1000, 1),
            }
        )
    return result[:limit]


def campus_status(campus: Campus, store: HubStore, *, connected: bool) -> dict[str, Any]:
    rooms = sorted(campus.inventory.rooms.values(), key=lambda r: (r.building, r.floor, r.id))
    return {
        "site": campus.inventory.site,
        "broker_connected": connected,
        "latest_seq": campus.latest_seq,
        "rooms": [room_status(campus, room) for room in rooms],
        "alerts": [a for a in alerts(store) if a["open"]],
        "reports": list(store.events(kinds=STATUS_REPORT_KINDS, limit=50)),
        "rejected": dict(campus.rejected),
        "trouble": campus.trouble(),
    }
