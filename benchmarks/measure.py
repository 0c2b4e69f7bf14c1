"""The measurements of one run, each against the running stack and the console stream."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from typing import Any

from benchmarks.procs import BenchError, Usage, cpu_percent, pss_mb, sample
from benchmarks.stack import Stack
from benchmarks.stats import median, summary
from benchmarks.stream import Arrival, Stream, is_ack
from hub.bus import Change
from protocol.messages import EventKind
from provisioning.install import InstalledDevice

ACTIONS: tuple[dict[str, Any], ...] = (
    {"action": "lockdown"},
    {"action": "all_clear"},
    {"action": "hold"},
    {"action": "secure"},
    {"action": "shelter", "hazard": "tornado"},
    {"action": "evacuate", "location": "Flag pole"},
)
"""Issued in turn, so every directive changes what every screen says (a real redraw).
Only an All clear follows a Lockdown: the hub refuses to let anything else replace one."""

QUIET_S = 0.3
"""No ack on the stream for this long: ask the hub's report whether all are in."""


def directive_body(index: int, *, room: str | None = None) -> dict[str, Any]:
    body = dict(ACTIONS[index % len(ACTIONS)], drill=True)
    if room is not None:
        body |= {"scope": "room", "target": room}
    return body


@dataclass
class Issued:
    """One directive from the office's POST to the last ack, as the hub and we saw it."""

    seq: int
    action: str
    total: int
    post_ms: float
    posted_at: float
    report: dict[str, Any]
    ack_arrivals: dict[str, float] = field(default_factory=dict)

    @property
    def room_ms(self) -> list[float]:
        return [ms for ms in self.report["rooms"].values() if ms is not None]

    def result(self) -> dict[str, Any]:
        last_seen = max(self.ack_arrivals.values(), default=None)
        return {
            "seq": self.seq,
            "action": self.action,
            "total": self.total,
            "acked": self.report["acked"],
            "post_ms": round(self.post_ms, 1),
            "room_ack_ms": summary(self.room_ms),
            "last_room_ms": round(max(self.room_ms), 1) if self.room_ms else None,
            "wall_all_acked_ms": None
            if last_seen is None or self.report["acked"] < self.total
            else round((last_seen - self.posted_at) * 1000, 1),
            "acks_seen_on_stream": len(self.ack_arrivals),
        }


def issue_and_wait(
    stack: Stack,
    stream: Stream,
    body: dict[str, Any],
    *,
    expect: int | None = None,
    within_s: float = 60.0,
) -> Issued:
    """POST a directive, then follow its acks on the stream until ``expect`` rooms acked.

    The hub's bus drops a slow reader's oldest updates, never the newest, so a burst may
    hide some acks from the stream but never the last one; the count is confirmed by the
    hub's report, asked only when the stream has gone quiet (a report walks every room).
    """
    mark = stream.mark()
    posted_at = time.time()
    report: dict[str, Any] = stack.client.post("/api/directives", body)
    issued = Issued(
        seq=report["seq"],
        action=str(body["action"]),
        total=report["total"],
        post_ms=(time.time() - posted_at) * 1000,
        posted_at=posted_at,
        report=report,
    )
    expected = issued.total if expect is None else expect
    deadline = time.monotonic() + within_s
    cursor = mark
    while time.monotonic() < deadline:
        stack.children.check()
        new = stream.wait(cursor, quiet_s=QUIET_S)[:]
        cursor += len(new)
        for at, update in new:
            if is_ack(update, issued.seq):
                issued.ack_arrivals.setdefault(str(update["room"]), at)
        quiet = not new and (issued.ack_arrivals or time.time() - posted_at > 2)
        if len(issued.ack_arrivals) >= expected or quiet:
            issued.report = stack.client.get(f"/api/directives/{issued.seq}")
            if issued.report["acked"] >= expected:
                break
    return issued


def fanout(
    stack: Stack,
    stream: Stream,
    rounds: int,
    *,
    broker_pid: int,
    own_room: str | None = None,
    first: int = 0,
) -> dict[str, Any]:
    """``rounds`` site-wide directives, one after the other, each waited for in full.

    ``own_room`` is the room of the device service running in a process of its own, as
    every real node does: its ack time is the fan-out without a simulator's queue.
    """
    pids = stack.pids() | {"broker": broker_pid}
    before = {name: sample(pid) for name, pid in pids.items()}
    results: list[Issued] = []
    for index in range(rounds):
        time.sleep(0.5)  # the previous directive's redraws and acks have settled
        results.append(issue_and_wait(stack, stream, directive_body(first + index)))
    after = {name: sample(pid) for name, pid in pids.items()}
    sims = [sim.child.name for sim in stack.simulators]
    each = [issued.result() for issued in results]
    pooled = [ms for issued in results for ms in issued.room_ms]
    last = [r["last_room_ms"] for r in each if r["last_room_ms"] is not None]
    wall = [r["wall_all_acked_ms"] for r in each if r["wall_all_acked_ms"] is not None]
    simulated = len(stack.simulated_rooms)
    own = [issued.report["rooms"].get(own_room) for issued in results] if own_room else []
    return {
        "own_process_room_ack_ms": summary([ms for ms in own if ms is not None]),
        "directives": each,
        "all_acked": all(r["acked"] == r["total"] for r in each),
        "room_ack_ms": summary(pooled),
        "last_room_ms": {"median": median(last), "max": max(last, default=None)},
        "wall_all_acked_ms": {"median": median(wall), "max": max(wall, default=None)},
        "post_ms": {"median": median([r["post_ms"] for r in each])},
        "wall_s": round(after["hub"].at - before["hub"].at, 1),
        "cpu_s": {name: round(after[name].cpu_s - before[name].cpu_s, 2) for name in pids},
        "simulator_cpu_ms_per_room_directive": round(
            sum(after[n].cpu_s - before[n].cpu_s for n in sims) * 1000 / max(1, simulated * rounds),
            3,
        ),
    }


def device_ready(
    stack: Stack, stream: Stream, device: InstalledDevice, seq: int, *, within_s: float = 30.0
) -> dict[str, Any]:
    """Start one real device service; seconds until online at the hub, first frame, and
    the current directive acked (connected, drawn and confirmed: ready)."""
    mark = stream.mark()
    started = time.time()
    screen = stack.start_device(device)
    assert stack.device is not None
    found: dict[str, float] = {}
    cursor = mark
    deadline = time.monotonic() + within_s
    while len(found) < 3 and time.monotonic() < deadline:
        stack.device.check()
        new = stream.wait(cursor, quiet_s=0.005)[:]
        cursor += len(new)
        for at, update in new:
            if update.get("kind") == Change.DEVICE and update.get("device_id") == device.device_id:
                if update.get("online"):
                    found.setdefault("online", at)
            elif is_ack(update, seq, device.device_id):
                found.setdefault("acked", at)
        if "frame" not in found and screen.exists():
            found["frame"] = time.time()
        if not new:
            time.sleep(0.005)
    if "acked" not in found:
        raise BenchError(f"the device service was not ready in {within_s} s; see its log")
    return {
        "online_s": _since(started, found.get("online")),
        "first_frame_s": _since(started, found.get("frame")),
        "ready_s": _since(started, max(found.values())),
    }


def _since(start: float, at: float | None) -> float | None:
    return None if at is None else round(at - start, 3)


def device_memory(stack: Stack) -> dict[str, Any]:
    assert stack.device is not None
    usage = sample(stack.device.pid)
    pss = pss_mb(stack.device.pid)
    return {
        "rss_mb": round(usage.rss_mb, 1),
        "peak_rss_mb": round(usage.hwm_mb, 1),
        "pss_mb": None if pss is None else round(pss, 1),
    }


def idle(stack: Stack, broker_pid: int, seconds: float) -> dict[str, dict[str, float]]:
    """CPU (% of one core) and memory of every process while nothing happens."""
    pids = stack.pids() | {"broker": broker_pid}
    before: dict[str, Usage] = {name: sample(pid) for name, pid in pids.items()}
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        stack.children.check()
        time.sleep(min(0.5, max(0.0, deadline - time.monotonic())))
    after = {name: sample(pid) for name, pid in pids.items()}
    return {
        name: {
            "cpu_percent": round(cpu_percent(before[name], after[name]), 2),
            "rss_mb": round(after[name].rss_mb, 1),
        }
        for name in pids
    }


def device_cpu(
    stack: Stack,
    stream: Stream,
    device: InstalledDevice,
    count: int,
    idle_percent: float,
    *,
    first: int = 0,
    new_wording: bool = False,
) -> dict[str, Any]:
    """CPU of the real device process per directive (receive, verify, store, render, draw,
    ack), from /proc over ``count`` room directives, less what it spends idle.

    The SRP actions in turn: every frame is drawn (the screen caches fewer frames than
    there are actions), from text the node has laid out before, as in a school where the
    same few directives recur. With ``new_wording`` each directive carries a note no
    frame has shown: laid out and measured from nothing, the worst case.
    """
    assert stack.device is not None
    # Clear the site first: a room-level Hold under a site-wide Shelter would not take
    # effect (SRP precedence), and would never be acked by design.
    stack.client.post("/api/directives", {"action": "all_clear"})
    pid, acked = stack.device.pid, 0
    before = sample(pid)
    for index in range(count):
        mark = stream.mark()
        body = directive_body(first + index, room=device.room)
        if new_wording:
            body["note"] = f"Check {first + index}"
        seq = stack.client.post("/api/directives", body)["seq"]

        def done(arrivals: list[Arrival], seq: int = seq) -> bool:
            return any(is_ack(update, seq, device.device_id) for _, update in arrivals)

        if done(stream.wait_until(mark, done, within_s=10)):
            acked += 1
        else:  # the stream may have dropped it: ask the hub
            acked += bool(stack.client.get(f"/api/directives/{seq}")["acked"])
    after = sample(pid)
    wall = after.at - before.at
    gross = (after.cpu_s - before.cpu_s) * 1000 / count
    net = gross - idle_percent / 100 * wall * 1000 / count
    return {
        "directives": count,
        "new_wording": new_wording,
        "acked": acked,
        "gross_ms_per_directive": round(gross, 3),
        "cpu_ms_per_directive": round(max(0.0, net), 3),
        "tick_ms": round(1000 / os.sysconf("SC_CLK_TCK"), 1),
    }


def panic(
    stack: Stack,
    stream: Stream,
    presses: int,
    interval_s: float,
    *,
    skip: frozenset[str] = frozenset(),
) -> dict[str, Any]:
    """``presses`` panic activations spread over the simulated rooms but ``skip``,
    ``interval_s`` apart; each from the device's ``created_at`` to its arrival on the
    console's stream."""
    rooms = [room for room in stack.simulated_rooms if room not in skip]
    chosen = [rooms[(i * len(rooms)) // presses % len(rooms)] for i in range(presses)]
    mark = stream.mark()
    pressed = []
    for room in chosen:
        pressed.append(stack.press(room))
        time.sleep(interval_s)
    wanted = set(pressed)

    def panics(arrivals: list[Arrival]) -> dict[str, Arrival]:
        return {
            str(u["event_id"]): (at, u)
            for at, u in arrivals
            if u.get("kind") == Change.EVENT
            and u.get("event") == EventKind.PANIC
            and u["event_id"] in wanted
        }

    arrived = panics(stream.wait_until(mark, lambda a: len(panics(a)) == len(wanted), within_s=15))
    console = [(at - u["created_at"]) * 1000 for at, u in arrived.values()]
    hub = [(u["received_at"] - u["created_at"]) * 1000 for _, u in arrived.values()]
    return {
        "presses": presses,
        "received": len(arrived),
        "not_seen": sorted(wanted - set(arrived)),
        "interval_ms": round(interval_s * 1000),
        "console_ms": summary(console),
        "hub_ms": summary(hub),
    }
