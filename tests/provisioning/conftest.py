"""Fixtures for the provisioning tests: a fresh site, and a real Mosquitto run from its config.

The broker fixture renders the site's own config through ``broker_config`` (the same
generator ``init`` used for ``broker/mosquitto.conf``), changing only the listener to a free
loopback port, the persistence directory, and the ``user`` so a root test run can still
re-read the site's files on SIGHUP.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from prov_helpers import SITE_ID, WAIT, Broker, Connector, free_port

from protocol.inventory import Room
from provisioning import broker_config, init, issue_all
from provisioning.rooms import apply_rooms
from provisioning.site import SiteLayout

MOSQUITTO = Path("/usr/sbin/mosquitto")
ROOMS = [
    Room(id="101", building="main", floor="1", name="Science Lab"),
    Room(id="102", building="main", floor="1", name="Art"),
    Room(id="gym", building="annex", floor="0", name="Gymnasium"),
]

BUILDINGS = ("main", "annex")
HARDWARE = {"101": "oled-4button", "102": "oled-4button", "gym": "sign-and-strobe"}
"""The hardware profile of each room (the examples ``init`` writes)."""


@pytest.fixture
def site(tmp_path: Path) -> SiteLayout:
    """A site with three rooms and no devices; the broker's files stay with the test user."""
    result = init(
        tmp_path / "site",
        SITE_ID,
        ["hub.lincoln.example", "10.20.0.5"],
        broker_user=None,
        buildings=BUILDINGS,
    )
    apply_rooms(result.layout.root, ROOMS, source=tmp_path / "rooms.csv", hardware=HARDWARE)
    return result.layout


@pytest.fixture
def equipped_site(site: SiteLayout) -> SiteLayout:
    """The site with one device issued per room."""
    issue_all(site.root)
    return site


def _wait_listening(proc: subprocess.Popen[bytes], port: int, log: Path) -> None:
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"mosquitto exited with {proc.returncode}:\n{log.read_text()}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.02)
    pytest.fail(f"mosquitto did not listen on {port} within {WAIT}s:\n{log.read_text()}")


@contextlib.contextmanager
def running_mosquitto(conf: Path, port: int, log: Path) -> Iterator[Broker]:
    """Run ``mosquitto -c conf`` until the block ends; fail loudly if it cannot start."""
    if not MOSQUITTO.exists():
        pytest.fail(f"{MOSQUITTO} is missing: install the Debian package `mosquitto`")
    with log.open("wb") as out:
        proc = subprocess.Popen([str(MOSQUITTO), "-c", str(conf)], stdout=out, stderr=out)
    try:
        _wait_listening(proc, port, log)
        yield Broker(process=proc, port=port, log=log)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=WAIT)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=WAIT)


@pytest.fixture
def mosquitto(equipped_site: SiteLayout, tmp_path: Path) -> Iterator[Broker]:
    """A real Mosquitto from the site's generated config, on a free loopback port.

    Only the listener address, the persistence directory and the run-as user differ from
    ``broker/mosquitto.conf``: TLS, client certificates, ACL and CRL are the site's own.
    """
    port = free_port()
    data = tmp_path / "broker-data"
    data.mkdir(mode=0o700)
    config = broker_config(
        equipped_site.root,
        host="127.0.0.1",
        port=port,
        data_dir=data,
        user=pwd.getpwuid(os.geteuid()).pw_name,
    )
    conf = tmp_path / "mosquitto-test.conf"
    conf.write_text(config.render())
    with running_mosquitto(conf, port, tmp_path / "mosquitto.log") as broker:
        yield broker


RunMosquitto = Callable[[Path, int, Path], contextlib.AbstractContextManager[Broker]]


@pytest.fixture
def run_mosquitto() -> RunMosquitto:
    """``running_mosquitto`` for a test that brings its own config file."""
    return running_mosquitto


@pytest.fixture
def mqtt_clients(mosquitto: Broker) -> Iterator[Connector]:
    """Connect test clients to the broker; all are disconnected at teardown."""
    connector = Connector(mosquitto)
    try:
        yield connector
    finally:
        connector.close_all()
