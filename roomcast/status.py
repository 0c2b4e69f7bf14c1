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


def format_status(status: dict[str, Any]) -> str:
    broker = "connected" if status["broker_connected"] else "NOT CONNECTED"
    lines = [
        f"Site {status['site']}: hub {broker} to the broker; last directive "
        f"#{status['latest_seq']}",
        "",
    ]
    header = f"{'ROOM':<8}{'BUILDING':<10}{'DIRECTIVE':<22}{'DISPLAY':<18}{'DEVICE':<8}"
    lines.append(header)
    for room in status["rooms"]:
        online = "online" if room["online"] else "OFFLINE"
        lines.append(
            f"{room['room']:<8}{room['building']:<10}{_directive(room):<22}"
            f"{_ack(room):<18}{online:<8}"
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
