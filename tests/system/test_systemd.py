"""The systemd side: unit files that verify, and services that speak the notify protocol."""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from provisioning.cli import SITE_DIR, add_parser
from provisioning.install import DEFAULT_TARGET
from provisioning.sdcard import HARDWARE_GROUPS, SERVICE_USER
from provisioning.site import SiteLayout
from provisioning.throwaway import ThrowawaySite
from roomcast.broker import MosquittoProcess

UNITS = Path(__file__).resolve().parents[2] / "systemd"


def test_unit_files_pass_systemd_analyze_verify(tmp_path: Path) -> None:
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.fail("systemd-analyze is missing: install the Debian package systemd")
    venv_bin = Path(sys.executable).parent
    units = sorted([*UNITS.glob("*.service"), *UNITS.glob("*.path")])
    assert "roomcast-quarantine.path" in {unit.name for unit in units}
    for unit in units:  # all first: a .path unit is verified with the service it starts
        # The units name the production venv; point them at this checkout's.
        text = unit.read_text().replace("/opt/roomcast/venv/bin/", f"{venv_bin}/")
        (tmp_path / unit.name).write_text(text)
    for unit in units:
        result = subprocess.run(
            [analyze, "verify", str(tmp_path / unit.name)],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        problems = [line for line in result.stderr.splitlines() if unit.name in line]
        assert problems == [], problems


def test_device_unit_keeps_the_hardware_reachable() -> None:
    text = (UNITS / "roomcast-device.service").read_text()
    assert "\nPrivateDevices=" not in text  # it would hide /dev/gpiochip*, i2c, spidev, ttys
    assert "SupplementaryGroups=gpio i2c spi dialout" in text
    for key in ("Type=notify", "WatchdogSec=", "Restart=always", "StateDirectory="):
        assert key in text


def _setting(unit: str, key: str) -> str:
    """The last ``key=`` value in a unit file of this checkout."""
    values = [
        line.partition("=")[2]
        for line in (UNITS / unit).read_text().splitlines()
        if line.startswith(f"{key}=")
    ]
    return values[-1]


def test_units_read_the_files_provisioning_writes() -> None:
    """One site path for units, provisioning and docs; services run as the users that own
    their files."""
    layout = SiteLayout(Path(SITE_DIR))
    hub = _setting("roomcast-hub.service", "ExecStart").split()
    assert hub[hub.index("--config") + 1] == str(layout.hub.config)
    broker = _setting("mosquitto.service.d/roomcast.conf", "ExecStart").split()
    assert broker[broker.index("-c") + 1] == str(layout.broker.conf)
    device = _setting("roomcast-device.service", "ExecStart").split()
    assert device[device.index("--config") + 1] == str(DEFAULT_TARGET / "device.json")

    init = _parse("provision", "init", "--site", "lincoln")
    if "ROOMCAST_SITE_DIR" not in os.environ:
        assert init.site_dir == layout.root
    assert _setting("roomcast-hub.service", "User") == init.hub_user
    assert _setting("roomcast-device.service", "User") == SERVICE_USER
    groups = _setting("roomcast-device.service", "SupplementaryGroups").split()
    assert groups == list(HARDWARE_GROUPS)
    docs = (UNITS.parent / "docs" / "provisioning.md").read_text()
    assert f"--site-dir {layout.root} " in docs and "/var/lib/roomcast/site" not in docs


def _parse(*argv: str) -> argparse.Namespace:
    """The ``roomcast`` command line as ``roomcast provision`` builds it."""
    parser = argparse.ArgumentParser(prog="roomcast")
    add_parser(parser.add_subparsers(dest="command", required=True))
    return parser.parse_args(argv)


def _receive(sock: socket.socket, wanted: str, *, within_s: float = 15.0) -> list[str]:
    """Datagrams from the service until one carries ``wanted``."""
    sock.settimeout(within_s)
    seen: list[str] = []
    while not any(wanted in message for message in seen):
        seen.append(sock.recv(4096).decode())
    return seen


def test_hub_says_ready_pets_the_watchdog_and_says_stopping(
    site: ThrowawaySite, mosquitto: MosquittoProcess, tmp_path: Path
) -> None:
    address = str(tmp_path / "notify.sock")
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.bind(address)
        env = os.environ | {"NOTIFY_SOCKET": address, "WATCHDOG_USEC": "400000"}
        hub = subprocess.Popen(
            [sys.executable, "-m", "roomcast", "hub", "--config", str(site.hub.config)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        try:
            assert any("READY=1" in m for m in _receive(sock, "READY=1"))
            _receive(sock, "WATCHDOG=1")
            hub.send_signal(signal.SIGTERM)
            _receive(sock, "STOPPING=1")
            _, errors = hub.communicate(timeout=15)
        finally:
            if hub.poll() is None:
                hub.kill()
                hub.communicate()
        assert hub.returncode == 0, errors
