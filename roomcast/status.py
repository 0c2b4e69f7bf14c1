"""`roomcast status` as a table a person reads at a glance."""

from __future__ import annotations

import time
from typing import Any


def _directive(room: dict[str, Any]) -> str:
    directive = room["directive"]
    if directive is None:
        return "-"
    return str(directive["term"]) + (" (DRILL)" if directive["drill"] else "")


def _ack(room: dict[str, Any]) -> str:
    if room["directive"] is None:
        return "-"
    return f"acked {room['ack_ms']:.0f} ms" if room["acked"] else "NOT ACKED"


def _roll(room: dict[str, Any]) -> str:
    roll = room.get("roll")
    if roll is not None:
        return str(roll["words"])
    return "NOT REPORTED" if room.get("roll_due") else "-"


def _roll_totals(roll: dict[str, Any] | None) -> list[str]:
    """The roll right under the directive: what the office counts first."""
    if not roll or not roll["in_scope"]:
        return []
    lines = [
        f"ROLL: {roll['reported']}/{roll['in_scope']} rooms reported; "
        f"{roll['missing']} missing, {roll['injured']} injured, {roll['extra']} extra; "
        f"{roll['help']} need{'s' if roll['help'] == 1 else ''} help"
    ]
    if roll["unreported"]:
        lines.append(f"NOT REPORTED: {', '.join(roll['unreported'])}")
    return lines


def _rooms(status: dict[str, Any]) -> list[dict[str, Any]]:
    """The rooms in board order, except that after an Evacuate the rooms that have not
    reported come first (in the order the hub lists them)."""
    rooms: list[dict[str, Any]] = status["rooms"]
    roll = status.get("roll") or {}
    evacuated = {
        r["room"] for r in rooms if r["directive"] and r["directive"]["action"] == "evacuate"
    }
    first = [u for u in roll.get("unreported", []) if u in evacuated]
    by_id = {r["room"]: r for r in rooms}
    return [by_id[u] for u in first] + [r for r in rooms if r["room"] not in first]


def format_status(status: dict[str, Any]) -> str:
    broker = "connected" if status["broker_connected"] else "NOT CONNECTED"
    lines = [
        f"Site {status['site']}: hub {broker} to the broker; last directive "
        f"#{status['latest_seq']}",
        *_roll_totals(status.get("roll")),
        "",
    ]
    header = f"{'ROOM':<8}{'BUILDING':<10}{'DIRECTIVE':<22}{'DISPLAY':<18}{'DEVICE':<8}  ROLL"
    lines.append(header)
    for room in _rooms(status):
        online = "online" if room["online"] else "OFFLINE"
        lines.append(
            f"{room['room']:<8}{room['building']:<10}{_directive(room):<22}"
            f"{_ack(room):<18}{online:<8}  {_roll(room)}"
        )
    lines.append("")
    trouble = status.get("trouble", {})
    lines += [f"FLOODING DEVICE: {text}" for text in trouble.get("floods", [])]
    lines += [f"HAND-OFF FAILING: {text}" for text in trouble.get("handoffs", [])]
    lines += [f"WEATHER: {text}" for text in trouble.get("weather", [])]
    for label, key in (
        ("OFFLINE", "offline"),
        ("NOT CONFIRMED after 10 s", "unacked"),
        ("FAULT", "faults"),
    ):
        if trouble.get(key):
            lines.append(f"{label}: {', '.join(trouble[key])}")
    if status["alerts"]:
        for alert in status["alerts"]:
            # The hub's clock: the node's may be off (its clock fault says so).
            at = time.strftime("%H:%M:%S", time.localtime(alert["received_at"]))
            delay = alert["press_to_hub_ms"]
            took = "" if delay is None else f" (reached the hub in {delay:.0f} ms)"
            lines.append(f"OPEN ALERT: PANIC in room {alert['room']} at {at}{took}")
    else:
        lines.append("No open alerts.")
    return "\n".join(lines)
