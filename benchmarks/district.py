"""The district series: S schools on one machine, a district directive to the last room.

For each S: a throw-away district (provisioning.throwaway_district) run as the district
demo runs it (roomcast.demo_district_stack): 3 NATS nodes, S Mosquittos bridged over TLS,
S hubs, each school's rooms in a simulator of its own, the district service. Then:

- the district service's CPU and memory (and the NATS nodes') with every school
  connected and idle, per school;
- ``rounds`` district directives (Secure, All clear in turn, DRILL) to every school, each
  from the district sending to the last room's ack at its hub (roomcast.scenario_district);
- the same directives issued at one school's hub, from the POST to its last room: the
  single-school figure, same rooms per school, same run, same machine;
- a district Secure with the NATS node the bridges use killed (-9) just after the send:
  how many rooms never acknowledged (the target is none).
"""

from __future__ import annotations

import logging
import os
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from benchmarks.procs import Usage, cpu_percent, sample
from benchmarks.stats import median, summary
from protocol.srp import Action
from provisioning.throwaway_district import create_throwaway_district, distinct_free_ports
from roomcast.demo_district_stack import RunningDistrict, SchoolRun
from roomcast.scenario_district import send_directive

ROOMS_PER_SCHOOL = {2: 4, 3: 100, 10: 40, 30: 12}
"""What held on the 2-core machine of docs/BENCHMARKS.md (every room acked, the stack up
within its bound); another S takes the rooms of the nearest S above it that is listed."""
SENDER_NODE = "n3"
"""The district's requests go in at the last node; the bridges use the first (killed)."""
ACTIONS = (Action.SECURE, Action.ALL_CLEAR)


@dataclass(frozen=True, kw_only=True)
class DistrictOptions:
    schools: tuple[int, ...]
    rooms_per_school: int | None = None
    """None: ROOMS_PER_SCHOOL for each S."""
    idle_s: float = 30.0
    rounds: int = 4
    summary_s: float = 10.0

    def rooms_for(self, schools: int) -> int:
        if self.rooms_per_school is not None:
            return self.rooms_per_school
        above = [s for s in sorted(ROOMS_PER_SCHOOL) if s >= schools]
        return ROOMS_PER_SCHOOL[above[0] if above else max(ROOMS_PER_SCHOOL)]

    def describe(self) -> dict[str, Any]:
        return {
            "schools": list(self.schools),
            "rooms_per_school": {s: self.rooms_for(s) for s in self.schools},
            "idle_s": self.idle_s,
            "rounds": self.rounds,
            "summary_s": self.summary_s,
        }


def run_district_series(
    options: DistrictOptions,
    base: Path,
    out: IO[str],
    on_run: Callable[[list[dict[str, Any]]], None],
) -> list[dict[str, Any]]:
    """Every S in turn; a district the machine cannot hold ends the series there."""
    # aiomqtt warns of each publish beyond ten in flight: 30 schools' requests at once.
    logging.getLogger("mqtt").setLevel(logging.ERROR)
    runs: list[dict[str, Any]] = []
    for schools in options.schools:
        started = time.monotonic()
        rooms = options.rooms_for(schools)
        result: dict[str, Any] = {"schools": schools, "rooms_per_school": rooms}
        runs.append(result)
        try:
            district_one(schools, rooms, options, base / f"s{schools}", out, result)
        except Exception as error:  # recorded, and the series ends: see the logs
            _say(out, schools, f"FAILED: {error.__class__.__name__}: {error}")
            traceback.print_exc(file=out)
            result["error"] = f"{error.__class__.__name__}: {error}"
            on_run(runs)
            break
        _say(out, schools, f"done in {time.monotonic() - started:.0f} s")
        on_run(runs)
    return runs


def _say(out: IO[str], schools: int, text: str) -> None:
    out.write(f"[S={schools}] {text}\n")
    out.flush()


def district_one(
    schools: int,
    rooms: int,
    options: DistrictOptions,
    state: Path,
    out: IO[str],
    result: dict[str, Any],
) -> None:
    result["load_average_before"] = [round(load, 2) for load in os.getloadavg()]
    _say(out, schools, f"provisioning: a CA, 3 NATS nodes, {schools} schools of {rooms} rooms")
    built = create_throwaway_district(
        state, schools=schools, rooms=rooms, summary_s=options.summary_s
    )
    (port,) = distinct_free_ports(1)
    run = RunningDistrict(built, state, service_port=port)
    try:
        _say(out, schools, "starting the cluster, the schools and the district service")
        started = time.monotonic()
        run.start(within_s=120.0 + run.total_rooms * 0.2)
        result["connect_all_s"] = round(time.monotonic() - started, 1)
        result["total_rooms"] = run.total_rooms
        # Bridges whose request subscription NATS failed to make at start, restarted
        # (roomcast.demo_district_stack.unsubscribed_bridges): a pitfall, counted.
        result["bridges_restarted_at_start"] = run.resubscribed
        _say(out, schools, f"idle for {options.idle_s:g} s with every school connected")
        result["idle"] = _idle(run, options.idle_s)
        _say(out, schools, f"{options.rounds} district directives to all {schools} schools")
        service_before = sample(run.children["district"].pid)
        district = [
            _district_round(run, ACTIONS[i % 2], node=SENDER_NODE) for i in range(options.rounds)
        ]
        service_after = sample(run.children["district"].pid)
        result["district"] = _rounds(district)
        result["district"]["service_cpu_ms_per_directive"] = round(
            (service_after.cpu_s - service_before.cpu_s) * 1000 / options.rounds, 1
        )
        _say(out, schools, f"{options.rounds} directives at one school's hub ({rooms} rooms)")
        local = [_local_round(run.schools[0], ACTIONS[i % 2]) for i in range(options.rounds)]
        result["single_school"] = _rounds(local)
        result["ratio_to_single_school"] = _ratio(
            result["district"]["last_room_ms"]["median"],
            result["single_school"]["last_room_ms"]["median"],
        )
        killed = built.nodes[0].name
        _say(out, schools, f"a district Secure with NATS node {killed} killed after the send")
        result["node_killed"] = _killed_round(run, killed)
    finally:
        run.stop()
        # The machine is shared: what else ran is part of the conditions of the numbers.
        result["load_average_after"] = [round(load, 2) for load in os.getloadavg()]


def _idle(run: RunningDistrict, seconds: float) -> dict[str, Any]:
    pids = {"district": run.children["district"].pid} | {
        f"nats-{name}": process.pid for name, process in run.nodes.items()
    }
    before: dict[str, Usage] = {name: sample(pid) for name, pid in pids.items()}
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        run.check()
        time.sleep(min(0.5, max(0.0, deadline - time.monotonic())))
    after = {name: sample(pid) for name, pid in pids.items()}
    schools = len(run.schools)
    service_cpu = cpu_percent(before["district"], after["district"])
    nats = [name for name in pids if name.startswith("nats-")]
    return {
        "service_cpu_percent": round(service_cpu, 2),
        "service_rss_mb": round(after["district"].rss_mb, 1),
        "service_cpu_percent_per_school": round(service_cpu / schools, 3),
        "service_rss_mb_per_school": round(after["district"].rss_mb / schools, 2),
        "nats_cpu_percent": round(sum(cpu_percent(before[n], after[n]) for n in nats), 2),
        "nats_rss_mb": round(sum(after[n].rss_mb for n in nats), 1),
    }


def _district_round(
    run: RunningDistrict, action: Action, *, node: str, after_send: Callable[[], None] | None = None
) -> dict[str, Any]:
    result = send_directive(run, action, run.schools, node=node, after_send=after_send)
    rooms = [ms for s in result["schools"].values() for ms in s.get("rooms_ms", {}).values()]
    measured = [ms for ms in rooms if ms is not None]
    issued = [s["hub_issued_ms"] for s in result["schools"].values() if s["issued"]]
    return {
        "action": action.value,
        "hub_issued_ms": issued,
        "acked": len(measured),
        "total": run.total_rooms,  # a school that never issued it misses all its rooms
        "room_ms": measured,
        "not_issued": [name for name, s in result["schools"].items() if not s["issued"]],
        "error": result["error"],
    }


def _local_round(school: SchoolRun, action: Action, *, within_s: float = 60.0) -> dict[str, Any]:
    """A directive issued at the school's own hub: ms from the POST to each room's ack."""
    posted_at = time.time()
    report: dict[str, Any] = school.hub.post(
        "/api/directives", {"action": action.value, "drill": True}
    )
    deadline = time.monotonic() + within_s
    while report["acked"] < report["total"] and time.monotonic() < deadline:
        time.sleep(0.05)
        report = school.hub.get(f"/api/directives/{report['seq']}")
    issued_at = float(report["issued_at"])
    measured = [
        (issued_at + ms / 1000 - posted_at) * 1000
        for ms in report["rooms"].values()
        if ms is not None
    ]
    return {
        "action": action.value,
        "acked": len(measured),
        "total": report["total"],
        "room_ms": measured,
    }


def _rounds(rounds: list[dict[str, Any]]) -> dict[str, Any]:
    last = [max(r["room_ms"]) for r in rounds if r["room_ms"] and r["acked"] == r["total"]]
    return {
        "rounds": len(rounds),
        "all_acked": all(r["acked"] == r["total"] > 0 for r in rounds),
        "room_ack_ms": summary([ms for r in rounds for ms in r["room_ms"]]),
        # District rounds only: from the send to each school's hub issuing its directive
        # (NATS, the bridge, the hub's checks), apart from its fan-out to its rooms.
        "hub_issued_ms": summary([ms for r in rounds for ms in r.get("hub_issued_ms", [])]),
        "last_room_ms": {"median": median(last), "max": round(max(last), 1) if last else None},
        "per_round": [
            {k: v for k, v in r.items() if k not in ("room_ms", "hub_issued_ms")}
            | {"last_room_ms": round(max(r["room_ms"]), 1) if r["room_ms"] else None}
            for r in rounds
        ],
    }


def _killed_round(run: RunningDistrict, node: str) -> dict[str, Any]:
    found = _district_round(
        run, Action.SECURE, node=SENDER_NODE, after_send=lambda: run.kill_node(node)
    )
    return {
        "node": node,
        "acked": found["acked"],
        "total": found["total"],
        "missed": found["total"] - found["acked"],
        "not_issued": found["not_issued"],
        "last_room_ms": round(max(found["room_ms"]), 1) if found["room_ms"] else None,
        "error": found["error"],
        "bridges_unsubscribed_after": sorted(r.name for r in run.unsubscribed_bridges()),
    }


def _ratio(value: float | None, base: float | None) -> float | None:
    return None if value is None or not base else round(value / base, 2)
