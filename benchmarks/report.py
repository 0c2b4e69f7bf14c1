"""What a run produces: the machine, the targets, a table, the JSON file and the chart."""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

from roomcast.broker import find_mosquitto

REFERENCE_ROOMS = 1000
"""The room count the scale targets are stated for."""


def machine() -> dict[str, Any]:
    cpu = "unknown"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    memory_kb = 0
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            memory_kb = int(line.split()[1])
    mosquitto = subprocess.run(
        [find_mosquitto(), "-h"], capture_output=True, text=True, check=False, timeout=10
    ).stdout.splitlines()
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_gb": round(memory_kb / 1024 / 1024, 1),
        "kernel": platform.release(),
        "python": sys.version.split()[0],
        "mosquitto": mosquitto[0] if mosquitto else "unknown",
        "paho_mqtt": metadata.version("paho-mqtt"),
        "aiomqtt": metadata.version("aiomqtt"),
    }


@dataclass(frozen=True)
class Target:
    name: str
    limit: float
    unit: str
    path: tuple[str, ...]

    def measured(self, run: dict[str, Any]) -> float | None:
        value: Any = run
        for key in self.path:
            if not isinstance(value, dict) or value.get(key) is None:
                return None
            value = value[key]
        return float(value)


TARGETS = (
    Target("time to the last room", 1000, "ms", ("fanout", "last_room_ms", "median")),
    Target("last room / bare-broker floor", 3, "x", ("ratio_to_floor",)),
    Target("panic to console p99", 100, "ms", ("panic", "console_ms", "p99")),
    Target("teacher's page press to console p99", 100, "ms", ("page_panic", "console_ms", "p99")),
    Target("device service resident memory", 40, "MB", ("device", "memory_after", "rss_mb")),
    Target("device service start to ready", 2, "s", ("device", "ready_s")),
    Target("device CPU per directive", 2, "ms", ("device", "cpu", "cpu_ms_per_directive")),
    Target("hub CPU, all devices idle", 10, "% of a core", ("hub", "cpu_percent")),
    Target("panic p99 during a device's flood / without", 2, "x", ("flood", "ratio_p99")),
    Target(
        "press to webhook received p99",
        250,
        "ms",
        ("handoff", "webhook", "press_to_received_ms", "p99"),
    ),
)


def targets(runs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each target at N=1000, or at the largest N that ran when 1000 was not in the list."""
    ok = [run for run in runs if "error" not in run]
    if not ok:
        return []
    exact = [run for run in ok if run["rooms"] == REFERENCE_ROOMS]
    reference = exact[0] if exact else max(ok, key=lambda run: run["rooms"])
    return _verdicts(TARGETS, reference, by="rooms")


def _verdicts(
    chosen: tuple[Target, ...], reference: dict[str, Any], *, by: str
) -> list[dict[str, Any]]:
    """Each target measured on ``reference``, the run of the series' size ``by``."""
    verdicts = []
    for target in chosen:
        value = target.measured(reference)
        verdicts.append(
            {
                "target": target.name,
                "limit": target.limit,
                "unit": target.unit,
                by: reference[by],
                "measured": value,
                "met": None if value is None else value < target.limit,
            }
        )
    return verdicts


DISTRICT_TARGETS = (
    Target(
        "district to last room / one school's, same rooms per school",
        1.5,
        "x",
        ("ratio_to_single_school",),
    ),
    Target("rooms missed when a NATS node dies", 1, "rooms", ("node_killed", "missed")),
)


def district_targets(runs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each district target at the largest S that ran."""
    ok = [run for run in runs if "error" not in run]
    if not ok:
        return []
    reference = max(ok, key=lambda run: run["schools"])
    return _verdicts(DISTRICT_TARGETS, reference, by="schools")


def _cell(value: Any, digits: int = 0) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def _get(run: dict[str, Any], *path: str) -> Any:
    value: Any = run
    for key in path:
        if not isinstance(value, dict) or key not in value:
            return None
        value = value[key]
    return value


LATENCY_COLUMNS = (
    ("N", ("rooms",), 0),
    ("floor last ms", ("floor", "last_ms", "median"), 1),
    ("floor round trip ms", ("floor", "round_trip_last_ms", "median"), 1),
    ("room ack p50", ("fanout", "room_ack_ms", "p50"), 1),
    ("p95", ("fanout", "room_ack_ms", "p95"), 1),
    ("p99", ("fanout", "room_ack_ms", "p99"), 1),
    ("max", ("fanout", "room_ack_ms", "max"), 1),
    ("last room ms", ("fanout", "last_room_ms", "median"), 1),
    ("own-process room p50", ("fanout", "own_process_room_ack_ms", "p50"), 1),
    ("POST to all acked ms", ("fanout", "wall_all_acked_ms", "median"), 1),
    ("ratio to floor", ("ratio_to_floor",), 2),
    ("panic p50 ms", ("panic", "console_ms", "p50"), 1),
    ("panic p99 ms", ("panic", "console_ms", "p99"), 1),
    ("page press p50 ms", ("page_panic", "console_ms", "p50"), 1),
    ("page press p99 ms", ("page_panic", "console_ms", "p99"), 1),
    ("panic p99 in a flood ms", ("flood", "with", "console_ms", "p99"), 1),
    ("hub CPU % in a flood", ("flood", "hub_cpu_percent"), 1),
    ("flood cut off after s", ("flood", "with", "cut_off_after_s"), 2),
    ("panic p99 in a 1,000/s flood ms", ("flood", "with_1000_per_s", "console_ms", "p99"), 1),
    ("press to webhook p50 ms", ("handoff", "webhook", "press_to_received_ms", "p50"), 1),
    ("p99", ("handoff", "webhook", "press_to_received_ms", "p99"), 1),
    ("press to email p50 ms", ("handoff", "email", "press_to_accepted_ms", "p50"), 1),
    ("p99", ("handoff", "email", "press_to_accepted_ms", "p99"), 1),
)
RESOURCE_COLUMNS = (
    ("N", ("rooms",), 0),
    ("hub idle CPU %", ("hub", "cpu_percent"), 2),
    ("hub RSS MB", ("hub", "rss_mb"), 1),
    ("broker idle CPU %", ("idle", "broker", "cpu_percent"), 2),
    ("device RSS MB", ("device", "memory_after", "rss_mb"), 1),
    ("device ready s", ("device", "ready_s"), 2),
    ("device CPU ms/directive", ("device", "cpu", "cpu_ms_per_directive"), 2),
    (
        "device CPU ms/new-wording directive",
        ("device", "cpu_new_wording", "cpu_ms_per_directive"),
        2,
    ),
    ("simulator CPU ms/room-directive", ("fanout", "simulator_cpu_ms_per_room_directive"), 2),
)


def _markdown(
    runs: list[dict[str, Any]], columns: tuple[tuple[str, tuple[str, ...], int], ...]
) -> str:
    lines = [
        "| " + " | ".join(name for name, _, _ in columns) + " |",
        "|" + "---:|" * len(columns),
    ]
    for run in runs:
        cells = [_cell(_get(run, *path), digits) for _, path, digits in columns]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


DISTRICT_COLUMNS = (
    ("S", ("schools",), 0),
    ("rooms/school", ("rooms_per_school",), 0),
    ("rooms", ("total_rooms",), 0),
    ("up in s", ("connect_all_s",), 1),
    ("bridges restarted", ("bridges_restarted_at_start",), 0),
    ("district last room ms", ("district", "last_room_ms", "median"), 1),
    ("max", ("district", "last_room_ms", "max"), 1),
    ("room ack p50", ("district", "room_ack_ms", "p50"), 1),
    ("p95", ("district", "room_ack_ms", "p95"), 1),
    ("send to hub issued p50", ("district", "hub_issued_ms", "p50"), 1),
    ("max", ("district", "hub_issued_ms", "max"), 1),
    ("one school's last room ms", ("single_school", "last_room_ms", "median"), 1),
    ("ratio", ("ratio_to_single_school",), 2),
    ("service idle CPU %", ("idle", "service_cpu_percent"), 2),
    ("per school", ("idle", "service_cpu_percent_per_school"), 3),
    ("service RSS MB", ("idle", "service_rss_mb"), 1),
    ("per school", ("idle", "service_rss_mb_per_school"), 2),
    ("service CPU ms/directive", ("district", "service_cpu_ms_per_directive"), 1),
    ("NATS idle CPU %", ("idle", "nats_cpu_percent"), 2),
    ("node killed: acked", ("node_killed", "acked"), 0),
    ("of", ("node_killed", "total"), 0),
    ("last room ms", ("node_killed", "last_room_ms"), 1),
)


def district_table(runs: list[dict[str, Any]]) -> str:
    """One row per S, and the error of a district that failed part way."""
    failures = "".join(
        f"S={run['schools']} failed: {run['error']}\n" for run in runs if "error" in run
    )
    return _markdown(runs, DISTRICT_COLUMNS) + ("\n" + failures if failures else "")


def table(runs: list[dict[str, Any]]) -> str:
    """Two Markdown tables (latency; resources) with one row per room count, and the
    error of a run that failed part way ('-' for what it did not get to)."""
    failures = "".join(
        f"N={run['rooms']} failed: {run['error']}\n" for run in runs if "error" in run
    )
    text = _markdown(runs, LATENCY_COLUMNS) + "\n" + _markdown(runs, RESOURCE_COLUMNS)
    return text + ("\n" + failures if failures else "")


def verdict_table(verdicts: list[dict[str, Any]], *, by: str = "rooms") -> str:
    """``by``: the series' size, rooms (N) or schools (S)."""
    column = "N" if by == "rooms" else "S"
    lines = [f"| target | limit | measured | {column} | met |", "|---|---:|---:|---:|---|"]
    for v in verdicts:
        met = "?" if v["met"] is None else ("yes" if v["met"] else "**no**")
        measured = _cell(v["measured"], 2)
        limit = f"< {v['limit']:g} {v['unit']}"
        lines.append(f"| {v['target']} | {limit} | {measured} | {v[by]} | {met} |")
    return "\n".join(lines) + "\n"


def write_json(path: Path, document: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(".tmp")
    temporary.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    temporary.replace(path)


def chart(path: Path, runs: list[dict[str, Any]]) -> None:
    """Latency against N (log-log): Roomcast's fan-out, the floor, and panic p99."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ok = [run for run in runs if "fanout" in run and "panic" in run]
    if not ok:
        return
    rooms = [run["rooms"] for run in ok]
    series = {
        "Roomcast: time to last room (hub clock, median of rounds)": [
            r["fanout"]["last_room_ms"]["median"] for r in ok
        ],
        "Roomcast: room ack p50": [r["fanout"]["room_ack_ms"]["p50"] for r in ok],
        "Roomcast: room ack p99": [r["fanout"]["room_ack_ms"]["p99"] for r in ok],
        "Roomcast: the device in its own process, ack p50": [
            r["fanout"].get("own_process_room_ack_ms", {}).get("p50") for r in ok
        ],
        "floor: last bare client receives": [r["floor"]["last_ms"]["median"] for r in ok],
        "floor: last bare client's answer back": [
            r["floor"]["round_trip_last_ms"]["median"] for r in ok
        ],
        "panic to console p99": [r["panic"]["console_ms"]["p99"] for r in ok],
    }
    styles = ("o-", "s--", "^--", "x-", "o:", "s:", "d-.")
    figure, axes = plt.subplots(figsize=(8, 5), dpi=110)
    for (label, values), style in zip(series.items(), styles, strict=True):
        points = [(n, v) for n, v in zip(rooms, values, strict=True) if v is not None]
        if points:
            axes.plot(*zip(*points, strict=True), style, label=label)
    axes.axhline(1000, color="grey", linewidth=0.8, linestyle="--")
    axes.text(rooms[-1], 1050, "1 s target", color="grey", fontsize=8, ha="right")
    axes.set_xscale("log")
    axes.set_yscale("log")
    axes.set_xlabel("classrooms connected (N)")
    axes.set_ylabel("latency (ms)")
    axes.set_xticks(rooms, [str(n) for n in rooms])
    axes.set_title("Roomcast directive fan-out and panic latency vs the bare broker")
    axes.grid(True, which="both", alpha=0.3)
    axes.legend(fontsize=8)
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path)
    plt.close(figure)
