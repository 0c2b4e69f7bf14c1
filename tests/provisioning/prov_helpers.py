"""Helpers for the provisioning tests: the test site's id, MQTT clients (paho-mqtt 2.x).

Every wait is bounded by ``WAIT`` and waits on an event or a queue, never on a sleep.
"""

from __future__ import annotations

import queue
import socket
import ssl
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

WAIT = 10.0  # upper bound for every wait on the broker
SITE_ID = "lincoln"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class Broker:
    """A running Mosquitto and what a test needs to reach and signal it."""

    process: subprocess.Popen[bytes]
    port: int
    log: Path

    @property
    def pid(self) -> int:
        return self.process.pid

    def log_text(self) -> str:
        return self.log.read_text(errors="replace")


@dataclass
class TlsIdentity:
    ca: Path
    cert: Path | None = None
    key: Path | None = None


@dataclass
class Session:
    """A connected paho client whose received messages land in a queue."""

    client: mqtt.Client
    messages: queue.Queue[tuple[str, bytes]] = field(default_factory=queue.Queue)
    closed: bool = False

    def subscribe(self, *topics: str) -> list[int]:
        """Subscribe and wait for the SUBACK; returns the granted codes (128 = refused)."""
        done = threading.Event()
        granted: list[int] = []

        def on_subscribe(_c: object, _u: object, _m: int, codes: list[object], _p: object) -> None:
            granted.extend(int(getattr(c, "value", c)) for c in codes)
            done.set()

        self.client.on_subscribe = on_subscribe
        self.client.subscribe([(t, 1) for t in topics])
        assert done.wait(WAIT), "no SUBACK"
        return granted

    def publish(self, topic: str, payload: bytes) -> None:
        info = self.client.publish(topic, payload, qos=1)
        info.wait_for_publish(timeout=WAIT)
        assert info.is_published(), f"no PUBACK for {topic}"

    def expect(self, topic: str, payload: bytes) -> list[tuple[str, bytes]]:
        """Wait for one message; return everything received before it."""
        before = []
        deadline = time.monotonic() + WAIT
        while True:
            remaining = deadline - time.monotonic()
            assert remaining > 0, f"{topic} {payload!r} never arrived; got {before}"
            try:
                got = self.messages.get(timeout=remaining)
            except queue.Empty:
                continue
            if got == (topic, payload):
                return before
            before.append(got)

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self.client.disconnect()
            self.client.loop_stop()


def connect(port: int, client_id: str, identity: TlsIdentity) -> Session | str:
    """Connect over TLS; a Session on CONNACK success, else a string saying why it failed."""
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv311)
    certfile = str(identity.cert) if identity.cert else None
    keyfile = str(identity.key) if identity.key else None
    client.tls_set(ca_certs=str(identity.ca), certfile=certfile, keyfile=keyfile)
    session = Session(client)
    outcome: list[str] = []
    done = threading.Event()

    def on_connect(_c: object, _u: object, _f: object, rc: object, _p: object) -> None:
        outcome.append(str(rc))
        done.set()

    def on_disconnect(_c: object, _u: object, _f: object, rc: object, _p: object) -> None:
        outcome.append(f"disconnected: {rc}")
        done.set()

    client.on_connect, client.on_disconnect = on_connect, on_disconnect
    client.on_message = lambda _c, _u, m: session.messages.put((m.topic, m.payload))
    try:
        client.connect("127.0.0.1", port, keepalive=30)
    except (ssl.SSLError, OSError) as exc:
        return f"refused during handshake: {exc}"
    client.loop_start()
    arrived = done.wait(WAIT)
    if arrived and outcome[0] == "Success":
        return session
    client.disconnect()
    client.loop_stop()
    return outcome[0] if outcome else "no answer"


class Connector:
    """Opens sessions to one broker and closes whatever is still open at teardown."""

    def __init__(self, broker: Broker) -> None:
        self.broker = broker
        self.sessions: list[Session] = []

    def attempt(self, client_id: str, identity: TlsIdentity) -> Session | str:
        result = connect(self.broker.port, client_id, identity)
        if isinstance(result, Session):
            self.sessions.append(result)
        return result

    def session(self, client_id: str, identity: TlsIdentity) -> Session:
        result = self.attempt(client_id, identity)
        assert isinstance(result, Session), (
            f"{client_id} refused: {result}\n{self.broker.log_text()}"
        )
        return result

    def close_all(self) -> None:
        for session in self.sessions:
            session.close()
