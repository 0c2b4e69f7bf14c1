"""Scripted scenarios that run with no terminal and report one JSON object.

``lockdown-drill``: a panic press in one room reaches the hub as an alert; the office
issues a drill Lockdown; every room acknowledges; two rooms are released one by one; the
office gives the All clear; every room acknowledges. ``ok`` is true only if every room
acknowledged every directive and the alert arrived, and (with ``--relay``) every hand-off
of the press and of each directive reached every demo receiver.

``handoffs`` is always in the report: an empty list without ``--relay``; with it, one entry
per record (the press, then each directive) and destination, with ``delivery_ms`` from the
press (or the request to issue) to the receiver having it (:mod:`roomcast.demo_relay`).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from roomcast import control
from roomcast.client import HubClient, read_token
from roomcast.demo_relay import DemoReceivers, Record
from roomcast.handle import DemoError, DemoHandle

ACK_TIMEOUT_S = 30.0
ALERT_TIMEOUT_S = 10.0
POLL_S = 0.02


def run_scenario(
    name: str, handle: DemoHandle, receivers: DemoReceivers | None = None
) -> dict[str, Any]:
    scenarios: dict[str, Callable[[HubClient, DemoHandle], dict[str, Any]]] = {
        "lockdown-drill": lockdown_drill,
    }
    if name not in scenarios:
        raise DemoError(f"unknown scenario {name!r}; known: {', '.join(scenarios)}")
    client = HubClient(handle.hub_url, read_token(handle.token_file))
    result = scenarios[name](client, handle)
    records: list[Record] = result.pop("records")
    handoffs = [] if receivers is None else receivers.handoffs(records)
    delivered = all(h["delivered"] and h.get("signature_valid", True) for h in handoffs)
    return result | {"ok": result["ok"] and delivered, "handoffs": handoffs}


def lockdown_drill(client: HubClient, handle: DemoHandle) -> dict[str, Any]:
    rooms = [room["room"] for room in client.get("/api/status")["rooms"]]
    if len(rooms) < 3:
        raise DemoError("the lockdown-drill scenario needs at least 3 rooms")
    panic_room, released = rooms[0], rooms[1:3]

    alert, pressed = _press_and_wait(handle, panic_room)
    reports = [_issue_and_wait(client, "/api/directives", {"action": "lockdown", "drill": True})]
    reports += [_issue_and_wait(client, f"/api/rooms/{room}/release", {}) for room in released]
    reports.append(
        _issue_and_wait(client, "/api/directives", {"action": "all_clear", "drill": True})
    )
    directives = [
        {
            "action": r["action"],
            "scope": r["scope"],
            "target": r["target"],
            "drill": r["drill"],
            "seq": r["seq"],
            "acked": r["acked"],
            "total": r["total"],
            "ack_ms": r["ack_ms"],
        }
        for r in reports
    ]
    ok = alert is not None and all(d["acked"] == d["total"] for d in directives)
    return {
        "ok": ok,
        "scenario": "lockdown-drill",
        "rooms": len(rooms),
        "directives": directives,
        "alerts": [] if alert is None else [alert],
        "records": [pressed]
        + [Record(f"directive:{r['seq']}", r["action"], r["started"]) for r in reports],
    }


def _press_and_wait(handle: DemoHandle, room: str) -> tuple[dict[str, Any] | None, Record]:
    """Press the panic button in ``room``; the alert as the hub recorded it (or None), and
    the press as a record whose hand-offs are reported."""
    client = HubClient(handle.hub_url, read_token(handle.token_file))
    started = time.monotonic()
    pressed = control.call_sync(handle.control_socket, {"cmd": "press", "room": room})
    record = Record(f"event:{pressed['event_id']}", "panic", started)
    deadline = time.monotonic() + ALERT_TIMEOUT_S
    while time.monotonic() < deadline:
        for alert in client.get("/api/alerts")["alerts"]:
            if alert["event_id"] == pressed["event_id"]:
                found = {"room": alert["room"], "press_to_hub_ms": alert["press_to_hub_ms"]}
                return found, record
        time.sleep(POLL_S)
    return None, record


def _issue_and_wait(client: HubClient, path: str, body: dict[str, Any]) -> dict[str, Any]:
    """Issue, then wait until every room in scope acked (or the bound runs out)."""
    started = time.monotonic()
    report: dict[str, Any] = client.post(path, body)
    deadline = time.monotonic() + ACK_TIMEOUT_S
    while report["acked"] < report["total"] and time.monotonic() < deadline:
        time.sleep(POLL_S)
        report = client.get(f"/api/directives/{report['seq']}")
    return report | {"started": started}
