"""The floor: the same fan-out with bare MQTT clients and no Roomcast code.

``python -m benchmarks.floor ...`` is one child process holding K bare paho-mqtt clients
(one selector loop, like one asyncio loop holds K device services in the simulator),
each subscribed at QoS 1 to one retained topic and answering every message with a QoS 1
"ack" of its own. :class:`FloorFleet` (the harness side) starts P such processes, publishes
a retained message R times and measures, on the one machine clock, the time from publish
to the last client receiving it (one way) and to the last answer arriving back (the round
trip that Roomcast's issue-to-ack also makes).

All clients connect over the site's TLS listener as the hub identity: the ACL lets a device
certificate read only its own topics, and the hub's may read and write the whole site.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import queue
import selectors
import signal
import socket
import ssl
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion

from benchmarks.procs import BenchError, Child, Children
from protocol.topics import DeviceChannel, ScopeKind, Topics

NO_DELAY = (socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
"""The floor is the best a bare client can do: small packets are sent at once."""

PAYLOAD_BYTES = 300
"""About the size of an encoded, signed site-wide directive."""

FLOOR_ID = "bench-floor"
"""The floor publishes on a room's directive topic and answers on a device's ack topic,
as Roomcast does; no such room or device exists, and the floor runs before the hub starts
and clears its retained message when it is done."""


@dataclass(frozen=True)
class Identity:
    host: str
    port: int
    ca: Path
    cert: Path
    key: Path

    def context(self) -> ssl.SSLContext:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        context.load_verify_locations(str(self.ca))
        context.load_cert_chain(str(self.cert), str(self.key))
        return context

    def args(self) -> list[str]:
        return [
            *("--host", self.host, "--port", str(self.port)),
            *("--ca", str(self.ca), "--cert", str(self.cert), "--key", str(self.key)),
        ]


def new_client(client_id: str, identity: Identity, context: ssl.SSLContext) -> mqtt.Client:
    client = mqtt.Client(
        CallbackAPIVersion.VERSION2,
        client_id=client_id,
        clean_session=True,
        protocol=MQTTProtocolVersion.MQTTv311,
    )
    client.tls_set_context(context)
    return client


# -- the child: K bare clients on one selector loop ---------------------------------------


class _Holder:
    """K clients, their receive times per message seq, and the loop that drives them."""

    def __init__(self, name: str, count: int, identity: Identity, topic: str, ack: str) -> None:
        self.topic, self.ack_topic = topic, ack
        self.subscribed = 0
        self.received: dict[int, list[float]] = {}
        self.running = True
        context = identity.context()
        self.clients = [
            new_client(f"bench-floor-{name}-{i}", identity, context) for i in range(count)
        ]
        for client in self.clients:
            client.on_connect = self._on_connect
            client.on_subscribe = self._on_subscribe
            client.on_message = self._on_message
        self.identity = identity
        self.count = count
        self.selector = selectors.DefaultSelector()

    def _on_connect(self, client: mqtt.Client, _u: Any, _f: Any, code: Any, _p: Any) -> None:
        if not code.is_failure:
            client.subscribe(self.topic, qos=1)

    def _on_subscribe(self, client: mqtt.Client, _u: Any, _m: Any, _c: Any, _p: Any) -> None:
        self.subscribed += 1

    def _on_message(self, client: mqtt.Client, _u: Any, message: mqtt.MQTTMessage) -> None:
        now = time.time()
        if not message.payload:
            return
        seq = int(json.loads(message.payload)["seq"])
        self.received.setdefault(seq, []).append(now)
        client.publish(self.ack_topic, json.dumps({"seq": seq}).encode(), qos=1)
        if len(self.received[seq]) == self.count:
            _emit({"seq": seq, "received": self.received.pop(seq)})

    def connect_all(self) -> None:
        for client in self.clients:
            client.connect(self.identity.host, self.identity.port, keepalive=60)
            sock = client.socket()
            assert isinstance(sock, ssl.SSLSocket)
            sock.setsockopt(*NO_DELAY)
            self.selector.register(sock, selectors.EVENT_READ, client)
            self._pump(0.0)  # keep earlier clients' CONNACKs moving

    def run(self, *, ready_within_s: float) -> None:
        deadline = time.monotonic() + ready_within_s
        while self.subscribed < self.count:
            if time.monotonic() > deadline:
                raise SystemExit(f"only {self.subscribed}/{self.count} subscribed in time")
            self._pump(0.05)
        _emit({"ready": self.count})
        last_misc = time.monotonic()
        while self.running:
            self._pump(0.2)
            if time.monotonic() - last_misc > 1.0:
                for client in self.clients:
                    client.loop_misc()  # keepalive pings
                last_misc = time.monotonic()
        for client in self.clients:
            client.disconnect()

    def _pump(self, timeout: float) -> None:
        for key, _ in self.selector.select(timeout):
            client: mqtt.Client = key.data
            sock = key.fileobj
            client.loop_read()
            # TLS may hold whole records already decrypted: select() cannot see those.
            while isinstance(sock, ssl.SSLSocket) and sock.pending():
                client.loop_read()
            if client.want_write():
                client.loop_write()


def _emit(line: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(line) + "\n")
    sys.stdout.flush()


def child_main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.floor")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--ca", type=Path, required=True)
    parser.add_argument("--cert", type=Path, required=True)
    parser.add_argument("--key", type=Path, required=True)
    parser.add_argument("--clients", type=int, required=True)
    parser.add_argument("--topic", required=True)
    parser.add_argument("--ack-topic", required=True)
    parser.add_argument("--name", required=True)
    args = parser.parse_args(argv)
    identity = Identity(args.host, args.port, args.ca, args.cert, args.key)
    holder = _Holder(args.name, args.clients, identity, args.topic, args.ack_topic)

    def stop(signum: int, frame: FrameType | None) -> None:
        holder.running = False

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    holder.connect_all()
    holder.run(ready_within_s=60.0)
    return 0


# -- the harness side ----------------------------------------------------------------------


@dataclass
class FloorRep:
    sent: float
    received: list[float] = field(default_factory=list)
    acks: list[float] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        return {
            "clients": len(self.received),
            "one_way_ms": [round((t - self.sent) * 1000, 2) for t in self.received],
            "last_ms": round((max(self.received) - self.sent) * 1000, 2),
            "round_trip_last_ms": round((max(self.acks) - self.sent) * 1000, 2),
        }


class FloorFleet:
    """P child processes with ``clients`` bare clients in all, and a publisher here."""

    def __init__(self, children: Children, identity: Identity, site: str) -> None:
        self.children, self.identity = children, identity
        topics = Topics(site)
        self.topic = topics.directive(ScopeKind.ROOM, FLOOR_ID)
        self.ack_topic = topics.device(FLOOR_ID, DeviceChannel.ACK)
        self.lines: queue.Queue[tuple[str, dict[str, Any]]] = queue.Queue()
        self._procs: list[Child] = []
        self._acks: list[float] = []
        self._lock = threading.Lock()

    def run(self, split: list[int], reps: int, *, within_s: float = 60.0) -> list[FloorRep]:
        publisher = self._publisher()
        try:
            self._retain(publisher, b"")  # a subscriber must not get an old one at once
            for index, count in enumerate(split):
                self._start(f"floor-{index}", count)
            self._wait_ready(len(split), within_s)
            results = [self._rep(publisher, seq, sum(split)) for seq in range(1, reps + 1)]
            self._retain(publisher, b"")
            return results
        finally:
            for proc in self._procs:
                self.children.stop(proc)
            publisher.disconnect()
            publisher.loop_stop()

    def _publisher(self) -> mqtt.Client:
        client = new_client("bench-floor-publisher", self.identity, self.identity.context())
        subscribed = threading.Event()
        client.on_connect = lambda c, _u, _f, _rc, _p: c.subscribe(self.ack_topic, qos=1)
        client.on_subscribe = lambda _c, _u, _m, _rc, _p: subscribed.set()
        client.on_message = self._on_ack
        client.connect(self.identity.host, self.identity.port, keepalive=60)
        sock = client.socket()
        assert isinstance(sock, ssl.SSLSocket)
        sock.setsockopt(*NO_DELAY)
        client.loop_start()
        if not subscribed.wait(10):
            raise BenchError("the floor publisher could not subscribe to its ack topic")
        return client

    def _on_ack(self, _c: mqtt.Client, _u: Any, message: mqtt.MQTTMessage) -> None:
        now = time.time()
        with self._lock:
            self._acks.append(now)

    def _retain(self, client: mqtt.Client, payload: bytes) -> None:
        client.publish(self.topic, payload, qos=1, retain=True).wait_for_publish(10)

    def _start(self, name: str, count: int) -> None:
        args = ["-m", "benchmarks.floor", *self.identity.args(), "--clients", str(count)]
        args += ["--topic", self.topic, "--ack-topic", self.ack_topic, "--name", name]
        cwd = Path(__file__).resolve().parent.parent
        proc = self.children.spawn(name, args, stdout=subprocess.PIPE, cwd=cwd)
        self._procs.append(proc)
        threading.Thread(target=self._read, args=(proc,), daemon=True).start()

    def _read(self, proc: Child) -> None:
        assert proc.process.stdout is not None
        with contextlib.suppress(ValueError, OSError):
            for raw in proc.process.stdout:
                with contextlib.suppress(json.JSONDecodeError):
                    self.lines.put((proc.name, json.loads(raw)))

    def _next(self, deadline: float) -> dict[str, Any]:
        while True:
            for proc in self._procs:
                proc.check()
            try:
                return self.lines.get(timeout=min(0.5, max(0.01, deadline - time.monotonic())))[1]
            except queue.Empty:
                if time.monotonic() > deadline:
                    raise BenchError("the floor clients did not answer in time") from None

    def _wait_ready(self, processes: int, within_s: float) -> None:
        deadline, ready = time.monotonic() + within_s, 0
        while ready < processes:
            if "ready" in self._next(deadline):
                ready += 1

    def _rep(self, publisher: mqtt.Client, seq: int, clients: int) -> FloorRep:
        time.sleep(0.3)  # let the last rep's traffic drain
        with self._lock:
            self._acks.clear()
        body = json.dumps({"seq": seq, "pad": ""}).encode()
        payload = body[:-2] + b"x" * max(0, PAYLOAD_BYTES - len(body)) + b'"}'
        rep = FloorRep(sent=time.time())
        publisher.publish(self.topic, payload, qos=1, retain=True)
        deadline = time.monotonic() + 30
        while len(rep.received) < clients:
            line = self._next(deadline)
            if line.get("seq") == seq:
                rep.received += line["received"]
        while time.monotonic() < deadline:
            with self._lock:
                if len(self._acks) >= clients:
                    rep.acks = list(self._acks)
                    return rep
            time.sleep(0.005)
        raise BenchError(f"floor rep {seq}: only {len(self._acks)}/{clients} answers came back")


if __name__ == "__main__":
    sys.exit(child_main())
