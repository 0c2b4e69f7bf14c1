"""A classroom node whose clock is hours or days off still works: a real ``roomcast device``
process under libfaketime, against the real TLS Mosquitto and a real hub on the true clock.

For each offset the node connects (TLS: its certificate checks run on its wrong clock),
shows the current directive (its ack reaches the hub), refuses a command that expired on
the hub's clock and obeys a fresh one, and the hub lists the skew as a fault.

libfaketime (Debian package ``faketime``) fakes ``time()``/``clock_gettime(REALTIME)`` for
the node's Python and OpenSSL alike. ``FAKETIME_DONT_FAKE_MONOTONIC=1`` leaves the
monotonic clock alone, as a real Pi's wrong wall clock would: the node's staleness and
the hub-clock estimate run on it. What the node does is read from its log lines.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from hub.clocks import describe_skew
from hub.directives import DirectiveRequest
from hub.queries import trouble
from hub.service import HubService
from protocol.codec import encode
from protocol.messages import Command, CommandKind
from protocol.signing import sign
from protocol.srp import Action
from protocol.topics import DeviceChannel, Topics
from provisioning.throwaway import ThrowawaySite
from roomcast.broker import MosquittoProcess
from tests.conftest import WAIT, eventually, mqtt_as

pytestmark = pytest.mark.slow

OFFSETS = {"+3h": 3 * 3600.0, "-3h": -3 * 3600.0, "+2d": 2 * 86400.0, "-2d": -2 * 86400.0}


def faketime(offset: str) -> dict[str, str]:
    """The environment that runs a process ``offset`` off the true clock; fails if
    libfaketime is not installed. The library is preloaded directly rather than through
    the ``faketime`` wrapper, which forks: a SIGTERM would stop the wrapper, not the node."""
    found = sorted(Path("/usr/lib").glob("*/faketime/libfaketimeMT.so.1"))
    if shutil.which("faketime") is None or not found:
        pytest.fail(
            "faketime is missing: apt-get install faketime (libfaketime runs the node "
            "with a wrong clock; see .ci/run)",
            pytrace=False,
        )
    return os.environ | {
        "LD_PRELOAD": str(found[0]),  # the multi-threaded build: the node runs threads
        "FAKETIME": offset,
        "FAKETIME_DONT_FAKE_MONOTONIC": "1",
    }


class NodeLog:
    """The node's log lines as they arrive, and a bounded wait for one."""

    def __init__(self, stream: asyncio.StreamReader) -> None:
        self.lines: list[str] = []
        self._stream = stream
        self._more = asyncio.Event()

    async def read(self) -> None:
        while line := await self._stream.readline():
            self.lines.append(line.decode(errors="replace").rstrip())
            self._more.set()

    async def wait_for(self, text: str, *, within_s: float = WAIT) -> str:
        try:
            async with asyncio.timeout(within_s):
                while not (found := [line for line in self.lines if text in line]):
                    self._more.clear()
                    await self._more.wait()
        except TimeoutError:
            tail = "\n".join(self.lines[-20:])
            pytest.fail(f"no node log line with {text!r} in {within_s} s; last lines:\n{tail}")
        return found[0]


@contextlib.asynccontextmanager
async def node_process(offset: str, config: Path) -> AsyncIterator[NodeLog]:
    """``roomcast device`` with its wall clock ``offset`` off (libfaketime), until the end
    of the block; then SIGTERM, and it must stop cleanly."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "roomcast",
        "device",
        "--config",
        str(config),
        env=faketime(offset),
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    assert process.stderr is not None
    log = NodeLog(process.stderr)
    reader = asyncio.create_task(log.read())
    try:
        yield log
    finally:
        if process.returncode is None:
            process.terminate()
        try:
            async with asyncio.timeout(WAIT):
                await process.wait()
                await reader
        except TimeoutError:
            process.kill()
            await process.wait()
            pytest.fail("the node did not stop within its bound after SIGTERM")
    assert process.returncode == 0, "\n".join(log.lines[-20:])


def stale_command(hub: HubService, device_id: str) -> Command:
    """A command, genuinely signed, that expired two minutes ago on the hub's clock: what
    the broker would hand a node that was away (the hub's own seq, so only time refuses it)."""
    now = hub._now()
    command = Command(
        seq=hub.store.next_command_seq(),
        device_id=device_id,
        kind=CommandKind.IDENTIFY,
        issued_at=now - 180,
        expires_at=now - 120,
        issued_by="it",
    )
    return sign(command, hub.config.signing_key)


@pytest.mark.parametrize("offset", list(OFFSETS))
async def test_a_node_with_a_wrong_clock_connects_shows_obeys_and_is_flagged_at_the_office(
    offset: str, site: ThrowawaySite, mosquitto: MosquittoProcess, hub: HubService
) -> None:
    device = site.devices[0]
    lockdown = hub.engine.directives.issue(
        DirectiveRequest(action=Action.LOCKDOWN, drill=True), user="t"
    )
    async with node_process(offset, device.config) as log:
        # Connected and drawn: the ack is sent only after the frame. It also proves the
        # node has heard hub/state: subscribed first, its retained copy precedes the
        # directive's.
        await eventually(
            lambda: device.device_id in hub.engine.acks.of(lockdown.seq),
            hub,
            what=f"the ack of the Lockdown from the node {offset}",
        )
        await eventually(
            lambda: "clock" in hub.engine.presence.devices[device.device_id].faults,
            hub,
            what="the clock fault at the hub",
        )
        skew = OFFSETS[offset]
        stated = hub.engine.presence.devices[device.device_id].faults["clock"]
        assert stated in {describe_skew(skew + d) for d in (-1.0, 0.0, 1.0)}
        assert any(f"{device.device_id}: clock: " in t for t in trouble(hub.engine)["faults"])

        stale = stale_command(hub, device.device_id)
        topic = Topics(site.site).device(device.device_id, DeviceChannel.COMMAND)
        async with mqtt_as(site, mosquitto, "hub") as broker_queue:
            await broker_queue.publish(topic, encode(stale), qos=1)
        refused = await log.wait_for("expired command")
        assert f"seq {stale.seq} expired" in refused

        fresh = hub.send_command(device.device_id, CommandKind.IDENTIFY, user="it-garcia")
        await log.wait_for(f"command #{fresh.seq} identify from it-garcia")
    assert not any("Traceback" in line for line in log.lines)


def test_libfaketime_reaches_openssls_certificate_checks(
    site: ThrowawaySite, mosquitto: MosquittoProcess
) -> None:
    """So the tests above are not vacuous: thirty years on, the same handshake the node
    makes fails because the broker's certificate has expired, by the faked clock."""
    device = site.devices[0]
    handshake = (
        "import socket, ssl, sys\n"
        "ctx = ssl.create_default_context(cafile=sys.argv[1])\n"
        "ctx.load_cert_chain(sys.argv[2], sys.argv[3])\n"
        "with socket.create_connection(('127.0.0.1', int(sys.argv[4])), timeout=10) as raw:\n"
        "    ctx.wrap_socket(raw, server_hostname='127.0.0.1').close()\n"
        "print('handshake ok')\n"
    )
    files = [str(device.target_dir / name) for name in ("ca.crt", "device.crt", "device.key")]
    argv = [sys.executable, "-c", handshake, *files, str(mosquitto.port)]
    now = subprocess.run(argv, capture_output=True, text=True, timeout=30, check=False)
    assert "handshake ok" in now.stdout, now.stderr
    later = subprocess.run(
        argv,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
        env=faketime("+30y"),
    )
    assert "certificate has expired" in later.stderr, later.stdout + later.stderr
