"""A district on loopback: three real ``nats-server`` nodes (JetStream, MQTT, TLS) from the
config ``roomcast provision district`` writes, and schools bridged to it."""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import socket
import ssl
import subprocess
import time
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import aiomqtt
import pytest

from provisioning.district import DistrictLayout, init_district, open_district
from provisioning.district_config import BridgeFiles, NatsNode
from provisioning.throwaway_district import loopback_nodes
from roomcast.broker import free_port

NODES = 3
READY_S = 30.0


def nats_server() -> str:
    found = shutil.which("nats-server") or shutil.which("nats-server", path="/usr/sbin")
    if found is None:
        pytest.fail("nats-server is missing: apt-get install -y nats-server", pytrace=False)
    return found


class NatsCluster:
    """The district broker's nodes as processes a test can kill and restart."""

    def __init__(self, layout: DistrictLayout) -> None:
        self.layout = layout
        _, record = open_district(layout.root)
        self.nodes = record.nodes
        self._processes: dict[str, subprocess.Popen[bytes]] = {}

    def start(self, name: str) -> None:
        files = self.layout.node(name)
        with (files.dir / "nats.log").open("ab") as log:
            self._processes[name] = subprocess.Popen(
                [nats_server(), "-c", str(files.conf)], stdout=log, stderr=log
            )
        node = next(n for n in self.nodes if n.name == name)
        _wait_listening(node.mqtt_port, f"NATS node {name}'s MQTT port", files.dir / "nats.log")

    def kill(self, name: str) -> None:
        """kill -9: the node gets no chance to hand anything over."""
        process = self._processes.pop(name)
        process.kill()
        process.wait()

    def restart_each(self) -> None:
        """Restart the nodes one at a time, as IT does after adding or removing a school.
        Not a SIGHUP reload: nats-server 2.9 (Debian's 2.9.10) can panic reloading its
        authorization while retained messages exist (nats-io/nats-server#7596)."""
        for name in list(self._processes):
            process = self._processes.pop(name)
            process.terminate()
            process.wait(timeout=30)
            self.start(name)

    def stop(self) -> None:
        for process in self._processes.values():
            process.terminate()
        for process in self._processes.values():
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        self._processes.clear()


def _wait_listening(port: int, what: str, log: Path) -> None:
    deadline = time.monotonic() + READY_S
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.5):
            return
        time.sleep(0.05)
    tail = log.read_text(errors="replace")[-2000:] if log.exists() else "(no log)"
    pytest.fail(f"{what} did not listen within {READY_S} s:\n{tail}")


def distinct_ports(count: int) -> list[int]:
    """``count`` free ports, all different: the OS may hand the same free port out twice
    in a row (a node then fails with "address already in use" on one of its own ports)."""
    ports: set[int] = set()
    for _ in range(100 * count):
        ports.add(free_port())
        if len(ports) == count:
            return sorted(ports)
    pytest.fail(f"could not find {count} distinct free ports on loopback")


@pytest.fixture
def district(tmp_path: Path) -> DistrictLayout:
    """The nodes on loopback as the district demo has them (provisioning.throwaway_district)."""
    return init_district(tmp_path / "district", "metro", loopback_nodes(NODES))


@pytest.fixture
def cluster(district: DistrictLayout) -> Iterator[NatsCluster]:
    """Started after the schools are added (a node reads its authorization at start)."""
    running = NatsCluster(district)
    try:
        yield running
    finally:
        running.stop()


@contextlib.asynccontextmanager
async def district_client(
    identity: BridgeFiles, node: NatsNode, *, name: str
) -> AsyncIterator[aiomqtt.Client]:
    """An MQTT client of the district broker with a certificate from the district CA.

    NATS answers MQTT only once JetStream has a meta leader: a client that connects in the
    first seconds of a cluster is refused, so connecting is retried, bounded."""
    tls = aiomqtt.TLSParameters(
        ca_certs=str(identity.ca),
        certfile=str(identity.cert),
        keyfile=str(identity.key),
        cert_reqs=ssl.CERT_REQUIRED,
        tls_version=ssl.PROTOCOL_TLS_CLIENT,
    )
    client = await _connected(
        lambda: aiomqtt.Client("127.0.0.1", node.mqtt_port, identifier=name, tls_params=tls)
    )
    try:
        yield client
    finally:
        await client.__aexit__(None, None, None)


async def _connected(make: Callable[[], aiomqtt.Client]) -> aiomqtt.Client:
    deadline = time.monotonic() + READY_S
    while True:
        client = make()
        try:
            await client.__aenter__()
        except aiomqtt.MqttError as error:
            refused = isinstance(error, aiomqtt.MqttCodeError) and "authori" in str(error)
            if refused or time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.2)  # JetStream is electing its leader: not an event we see
        else:
            return client
