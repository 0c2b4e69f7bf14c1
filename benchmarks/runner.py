"""One benchmark run per room count: a fresh site, broker, floor, hub and classrooms."""

from __future__ import annotations

import contextlib
import shutil
import tempfile
import time
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from benchmarks.flood import flood_phase
from benchmarks.floor import FloorFleet, FloorRep, Identity
from benchmarks.handoff import handoff_phase, receivers, restart_hub_with_relay
from benchmarks.measure import (
    ACTIONS,
    device_cpu,
    device_memory,
    device_ready,
    directive_body,
    fanout,
    idle,
    issue_and_wait,
    panic,
)
from benchmarks.procs import BenchError, Children
from benchmarks.profile import profiled
from benchmarks.stack import Stack, split
from benchmarks.stats import median, summary
from benchmarks.stream import Stream
from benchmarks.teacher import page_panic
from provisioning.throwaway import create_throwaway_site
from roomcast.broker import MosquittoProcess, free_port


@dataclass(frozen=True, kw_only=True)
class Options:
    rooms: tuple[int, ...]
    processes: int = 2
    idle_s: float = 60.0
    rounds: int = 5
    floor_reps: int = 5
    presses: int = 100
    press_interval_s: float = 0.05
    device_directives: int = 100
    handoff_presses: int = 50
    handoff_interval_s: float = 0.2
    state_dir: Path | None = None
    keep: bool = False
    screens_on_disk: bool = False
    profile: Path | None = None
    """Where py-spy flame graphs of the fan-out go; None: no profiling."""

    def describe(self) -> dict[str, Any]:
        return {
            "rooms": list(self.rooms),
            "processes": self.processes,
            "idle_s": self.idle_s,
            "rounds": self.rounds,
            "floor_reps": self.floor_reps,
            "presses": self.presses,
            "press_interval_s": self.press_interval_s,
            "device_directives": self.device_directives,
            "handoff_presses": self.handoff_presses,
            "handoff_interval_s": self.handoff_interval_s,
            "screens_on_disk": self.screens_on_disk,
            "profiled": self.profile is not None,
        }


def run_all(
    options: Options, out: IO[str], on_run: Callable[[list[dict[str, Any]]], None]
) -> list[dict[str, Any]]:
    """Every room count in turn; a count the machine cannot hold ends the series there.

    ``on_run`` gets the runs so far after each one, so a long series that is interrupted
    or fails at a large N keeps the results of the smaller ones.
    """
    base = options.state_dir or Path(tempfile.mkdtemp(prefix="roomcast-bench-"))
    runs: list[dict[str, Any]] = []
    try:
        for rooms in options.rooms:
            started = time.monotonic()
            result: dict[str, Any] = {"rooms": rooms}
            runs.append(result)
            try:
                run_one(rooms, options, base / f"n{rooms}", out, result)
            except Exception as error:  # recorded, and the series ends: see the logs
                _say(out, rooms, f"FAILED: {error.__class__.__name__}: {error}")
                traceback.print_exc(file=out)
                result["error"] = f"{error.__class__.__name__}: {error}"
                on_run(runs)
                break
            _say(out, rooms, f"done in {time.monotonic() - started:.0f} s")
            on_run(runs)
    finally:
        if options.keep or any("error" in run for run in runs):
            out.write(f"state and logs kept in {base}\n")
        else:
            shutil.rmtree(base, ignore_errors=True)
    return runs


def _say(out: IO[str], rooms: int, text: str) -> None:
    out.write(f"[N={rooms}] {text}\n")
    out.flush()


def run_one(
    rooms: int, options: Options, state: Path, out: IO[str], result: dict[str, Any]
) -> None:
    """Fill ``result`` phase by phase, so a phase that fails keeps the ones before it."""
    if rooms < 2:
        raise BenchError("each run needs at least 2 rooms (one real device, one simulated)")
    _say(out, rooms, "provisioning the site (CA, broker, one certificate per room)")
    site = create_throwaway_site(
        state / "site", rooms=rooms, broker_port=free_port(), http_port=free_port()
    )
    hub_identity = Identity("127.0.0.1", site.broker.port, site.hub.ca, site.hub.cert, site.hub.key)
    shares = split(rooms, options.processes)
    result |= {"processes": len(shares)}
    with (
        MosquittoProcess(site.broker, site.layout.broker.dir) as broker,
        Children(state / "logs") as children,
        _screens_dir(state, on_disk=options.screens_on_disk) as screens,
    ):
        _say(out, rooms, f"floor: {rooms} bare clients in {len(shares)} processes")
        floor = FloorFleet(children, hub_identity, site.site).run(shares, options.floor_reps)
        result["floor"] = _floor(floor, rooms)
        _say(out, rooms, "starting the hub and the simulated classrooms")
        stack = Stack(children, site, state, screens)
        stack.start_hub()
        real, simulated = site.devices[-1], list(site.devices[:-1])
        stack.start_simulators(simulated, options.processes)
        result["connect_all_s"] = round(
            stack.wait_connected(len(simulated), within_s=60 + rooms * 0.1), 1
        )
        with Stream(stack.hub_url, stack.token) as stream:
            warm = issue_and_wait(
                stack, stream, directive_body(len(ACTIONS) - 1), expect=len(simulated)
            )
            result["warmup"] = warm.result()
            _say(out, rooms, "one real device service: start to ready")
            device = result["device"] = device_ready(stack, stream, real, warm.seq)
            time.sleep(2.0)  # its first minutes are idle ones: let start-up garbage go
            device["memory"] = device_memory(stack)
            _say(out, rooms, f"idle for {options.idle_s:g} s with {rooms} devices connected")
            usage = result["idle"] = idle(stack, broker.pid, options.idle_s)
            result["hub"] = usage["hub"]
            _say(out, rooms, f"fan-out: {options.rounds} site-wide directives")
            with profiled(stack.pids(), options.profile, f"n{rooms}"):
                fan = result["fanout"] = fanout(
                    stack, stream, options.rounds, broker_pid=broker.pid, own_room=real.room
                )
            last, floor_last = fan["last_room_ms"]["median"], result["floor"]["last_ms"]["median"]
            result["ratio_to_floor"] = _ratio(last, floor_last)
            floor_trip = result["floor"]["round_trip_last_ms"]["median"]
            result["ratio_to_floor_round_trip"] = _ratio(last, floor_trip)
            _say(out, rooms, f"panic: {options.presses} presses")
            result["panic"] = panic(stack, stream, options.presses, options.press_interval_s)
            _say(out, rooms, f"teacher's page: {options.presses} presses")
            result["page_panic"] = page_panic(
                stack, stream, options.presses, options.press_interval_s
            )
            _say(out, rooms, f"device CPU: {options.device_directives} room directives")
            idle_percent = usage["device"]["cpu_percent"]
            count = options.device_directives
            device["cpu"] = device_cpu(
                stack, stream, real, count, idle_percent, first=options.rounds
            )
            device["cpu_new_wording"] = device_cpu(
                stack,
                stream,
                real,
                count,
                idle_percent,
                first=options.rounds + count,
                new_wording=True,
            )
            device["memory_after"] = device_memory(stack)
            # Last: the flooding device is the real one, which the hub then ignores.
            _say(out, rooms, f"flood: {options.presses} presses while one device floods")
            result["flood"] = flood_phase(
                stack,
                stream,
                children,
                options.presses,
                options.press_interval_s,
                broker_pid=broker.pid,
            )
        if options.handoff_presses:
            _say(out, rooms, f"hand-offs: {options.handoff_presses} presses to a webhook, email")
            with receivers(state / "receivers") as found:
                restart_hub_with_relay(stack, found)
                result["handoff"] = handoff_phase(
                    stack, found, options.handoff_presses, options.handoff_interval_s
                )


@contextlib.contextmanager
def _screens_dir(state: Path, *, on_disk: bool) -> Iterator[Path]:
    """The simulated displays' PNG frames: on a tmpfs unless asked otherwise.

    A thousand PNG files replaced per directive is disk work (ext4 flushes a file renamed
    over another) that a real OLED does not do; on disk it shows up as Roomcast latency.
    """
    shm = Path("/dev/shm")
    if on_disk or not shm.is_dir():
        yield state / "screens"
        return
    screens = Path(tempfile.mkdtemp(prefix="roomcast-bench-screens-", dir=shm))
    try:
        yield screens
    finally:
        shutil.rmtree(screens, ignore_errors=True)


def _floor(floor: list[FloorRep], rooms: int) -> dict[str, Any]:
    reps = [rep.summary() for rep in floor]
    return {
        "reps": len(reps),
        "clients": rooms,
        "one_way_ms": summary([ms for rep in reps for ms in rep["one_way_ms"]]),
        "last_ms": {
            "median": median([rep["last_ms"] for rep in reps]),
            "max": max(rep["last_ms"] for rep in reps),
        },
        "round_trip_last_ms": {
            "median": median([rep["round_trip_last_ms"] for rep in reps]),
            "max": max(rep["round_trip_last_ms"] for rep in reps),
        },
    }


def _ratio(value: float | None, floor: float | None) -> float | None:
    return None if value is None or not floor else round(value / floor, 2)
