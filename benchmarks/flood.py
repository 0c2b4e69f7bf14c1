"""The flood phase: one device sends as fast as it can while other rooms press panic.

The flooder is a bare paho client in its own process holding a real device's certificate,
as an attacker with a node's SD card would. It publishes made-up cancels on that device's
own ``event`` topic (QoS 0, the cheapest for it and the broker) for as long as the phase
lasts; meanwhile :func:`benchmarks.measure.panic` presses panic in the simulated rooms,
and the hub's CPU is sampled. The figure that matters: panic-to-console p99 during the
flood against the same presses without it (target: within 2x).

A device that goes on flooding is cut off at the broker (hub.quarantine) within about a
second, for minutes: so each rate floods from a device of its own, and each phase reports
``cut_off_after_s``, how long the flood had the hub's link before the broker dropped it.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import time
from pathlib import Path
from types import FrameType
from typing import Any

from benchmarks.floor import Identity, new_client
from benchmarks.measure import panic
from benchmarks.procs import Children, cpu_percent, sample
from benchmarks.stack import Stack
from benchmarks.stream import Stream
from protocol.codec import encode
from protocol.messages import Event, EventKind
from protocol.topics import DeviceChannel, Topics
from provisioning.install import InstalledDevice


def flood_payloads(device_id: str, room: str, count: int) -> list[bytes]:
    """Valid-looking cancels of panics that never were: each costs the hub a decode."""
    return [
        encode(
            Event(
                event_id=f"{n:032x}",
                device_id=device_id,
                room=room,
                kind=EventKind.CANCEL,
                created_at=1.0,
                cancels=f"{n + 1:032x}",
            )
        )
        for n in range(count)
    ]


def child_main(argv: list[str] | None = None) -> int:
    """Publish until SIGTERM; print one JSON line with what was sent."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.flood")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--ca", type=Path, required=True)
    parser.add_argument("--cert", type=Path, required=True)
    parser.add_argument("--key", type=Path, required=True)
    parser.add_argument("--site", required=True)
    parser.add_argument("--device", required=True)
    parser.add_argument("--room", required=True)
    parser.add_argument("--report", type=Path, required=True, help="JSON written at the end")
    parser.add_argument("--rate", type=float, default=0.0, help="messages/s; 0: flat out")
    args = parser.parse_args(argv)
    identity = Identity(args.host, args.port, args.ca, args.cert, args.key)
    client = new_client(f"flood-{args.device}", identity, identity.context())
    client.connect(args.host, args.port)
    client.loop_start()
    running = True

    def stop(signum: int, frame: FrameType | None) -> None:
        nonlocal running
        running = False

    signal.signal(signal.SIGTERM, stop)
    topic = Topics(args.site).device(args.device, DeviceChannel.EVENT)
    payloads = flood_payloads(args.device, args.room, 1000)
    sent, started = 0, time.monotonic()
    while running:
        if args.rate and sent >= (time.monotonic() - started) * args.rate:
            time.sleep(0.001)
            continue
        info = client.publish(topic, payloads[sent % len(payloads)], qos=0)
        if info.rc != 0:  # paho's queue is full, or the broker let go of us
            time.sleep(0.001)
            continue
        sent += 1
    elapsed = time.monotonic() - started
    client.loop_stop()
    args.report.write_text(json.dumps({"sent": sent, "seconds": round(elapsed, 2)}))
    return 0


FLOOD_RATES = (0.0, 1000.0)
"""Flat out (what one process can send), and the 1,000/s of the flood first reported
("5,000 messages in 5 s")."""


def flood_phase(
    stack: Stack,
    stream: Stream,
    children: Children,
    presses: int,
    interval_s: float,
    *,
    broker_pid: int,
) -> dict[str, Any]:
    """Panic presses without a flood, then during a flood from the stack's real device at
    each of :data:`FLOOD_RATES`; the hub's and the broker's CPU during each."""
    result: dict[str, Any] = {"without": panic(stack, stream, presses, interval_s)}
    for index, rate in enumerate(FLOOD_RATES):
        name = "with" if not rate else f"with_{rate:.0f}_per_s"
        device = stack.site.devices[-1 - index]  # the first is still cut off
        result[name] = _flooded(
            stack, stream, children, presses, interval_s, rate, broker_pid, device
        )
        result[name]["ratio_p99"] = _ratio(result[name], result["without"])
    # The headline figures: the flat-out flood.
    result["ratio_p99"] = result["with"]["ratio_p99"]
    result["hub_cpu_percent"] = result["with"]["hub_cpu_percent"]
    return result


def _flooded(
    stack: Stack,
    stream: Stream,
    children: Children,
    presses: int,
    interval_s: float,
    rate: float,
    broker_pid: int,
    device: InstalledDevice,
) -> dict[str, Any]:
    identity = Identity("127.0.0.1", stack.site.broker.port, device.ca, device.cert, device.key)
    report = stack.state_dir / f"flood-{rate:.0f}.json"
    args = ["-m", "benchmarks.flood", *identity.args(), "--site", stack.site.site]
    args += ["--device", device.device_id, "--room", device.room, "--report", str(report)]
    args += ["--rate", str(rate)]
    cwd = Path(__file__).resolve().parent.parent
    started = time.time()
    flooder = children.spawn(f"flooder-{rate:.0f}", args, cwd=cwd)
    time.sleep(1.0)  # the flood is on, and over budget, before the first press
    hub_pid = stack.pids()["hub"]
    before = {"hub": sample(hub_pid), "broker": sample(broker_pid), "flooder": sample(flooder.pid)}
    # Not from the flooder's own room: the broker drops what that room sends meanwhile.
    pressed = panic(stack, stream, presses, interval_s, skip=frozenset({device.room}))
    after = {"hub": sample(hub_pid), "broker": sample(broker_pid), "flooder": sample(flooder.pid)}
    children.stop(flooder)
    pressed["recorded"] = presses - len(_unrecorded(stack, pressed["not_seen"]))
    sent = json.loads(report.read_text()) if report.exists() else {"sent": None}
    cpu = {
        f"{name}_cpu_percent": round(cpu_percent(before[name], after[name]), 1) for name in before
    }
    cut_off = _cut_off_since(stack, device.device_id)
    return (
        pressed
        | cpu
        | {
            "flood": sent,
            "rate_per_s": rate or None,
            "cut_off_after_s": None if cut_off is None else round(cut_off - started, 2),
        }
    )


def _cut_off_since(stack: Stack, device_id: str) -> float | None:
    """When the hub asked for the flooder to be cut off at the broker, if it did."""
    alarms = stack.client.get("/api/status")["floods"]
    return next((a["since"] for a in alarms if a["device_id"] == device_id and "since" in a), None)


def _unrecorded(stack: Stack, event_ids: list[str], within_s: float = 30.0) -> set[str]:
    """The presses the console's stream did not show within the phase that the hub has
    not recorded either, once the flood is over: late is measured, lost is a failure."""
    missing, deadline = set(event_ids), time.monotonic() + within_s
    while missing and time.monotonic() < deadline:
        missing -= {alert["event_id"] for alert in stack.client.get("/api/alerts")["open"]}
        if missing:
            time.sleep(0.5)
    return missing


def _ratio(during: dict[str, Any], baseline: dict[str, Any]) -> float | None:
    with_p99, without_p99 = during["console_ms"]["p99"], baseline["console_ms"]["p99"]
    if not with_p99 or not without_p99:
        return None
    return round(float(with_p99) / float(without_p99), 2)


if __name__ == "__main__":
    sys.exit(child_main())
