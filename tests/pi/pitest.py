"""``make pi-test``: from a blank card to a classroom node, on arm64 under a real systemd.

Three card shapes, each booted on its own overlay of one cached root, with the broker and
hub on the host (tests/pi/nodes.py): bookworm customised by Raspberry Pi Imager, with the
first-boot fix-up (/boot -> /boot/firmware) replayed, which then goes through the node's
own checks (watchdog, a press, kill -9, a power cut); bookworm as flashed, the hook run by
``systemd.run=``; a cloud-init image, the hook run by cloud-init's ``runcmd`` from the
NoCloud seed on the boot partition. Then the hub's own install, ``systemd/install-hub.sh``,
in the same root (tests/pi/hubinstall.py). Everything is measured under emulation, not on
a Pi. ``ROOMCAST_PI_ONLY=plain,hub`` runs only those cases (while working on one).

Run as root: ``python -m tests.pi.pitest`` (``make pi-test``). Fails naming what to
install; never skips.
"""

from __future__ import annotations

import asyncio
import json
import os
import pwd
import shutil
import sqlite3
import subprocess
import sys
import time
import traceback
from dataclasses import dataclass
from pathlib import Path

from hub.config import load_hub_config
from hub.queries import alerts
from hub.service import HubService
from protocol.inventory import Room
from provisioning import init
from provisioning.create import broker_config
from provisioning.fsutil import write_json
from provisioning.rooms import apply_rooms
from roomcast.broker import MosquittoProcess, free_port
from tests.pi.cards import CLOUD_INIT, IMAGER, PLAIN, Card
from tests.pi.container import Pi, wait_until
from tests.pi.hubinstall import install_hub
from tests.pi.nodes import install_from_card, write_card
from tests.pi.rootfs import PiTestError, bookworm_root, check_tools, wheelhouse

WORK = Path(os.environ.get("ROOMCAST_PI_WORK", "/var/tmp/roomcast-pi-test"))
FIRST_BOOT_LOGS = ("roomcast-firstboot.log", "cloud-init-output.log", "cloud-init.log")
ONLY = set(os.environ.get("ROOMCAST_PI_ONLY", "imager,plain,cloud-init,hub").split(","))


class Results(dict[str, str]):
    """Measurements, printed as they come (a failure later keeps the earlier ones)."""

    def __setitem__(self, key: str, value: str) -> None:
        print(f"pi-test: {key}: {value}", flush=True)
        super().__setitem__(key, value)


def make_site(work: Path) -> Path:
    root = work / "site"
    user = pwd.getpwuid(os.geteuid()).pw_name
    init(root, "pitest", ["127.0.0.1"], broker_port=free_port(), broker_bind="127.0.0.1",
         broker_user=user, buildings=["main"])  # fmt: skip
    hub = json.loads((root / "hub" / "hub.json").read_text())
    write_json(root / "hub" / "hub.json", hub | {"http": {"host": "127.0.0.1", "port": 0},
                                                "heartbeat_s": 2.0})  # fmt: skip
    room = Room(id="101", building="main", floor="1", name="Science Lab")
    apply_rooms(root, [room], source=root / "rooms.csv", hardware={"101": "oled-4button"})
    return root


def outbox(upper: Path) -> set[str]:
    """The panics waiting in the node's outbox for their receipt (its faults wait there
    too: a container has no display)."""
    found = list((upper / "var" / "lib").glob("**/device.db"))
    if not found:
        return set()
    (db,) = found
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as connection:
        return {
            row[0] for row in connection.execute("SELECT event_id FROM outbox WHERE kind = 'panic'")
        }


async def watchdog_fed(pi: Pi) -> dict[str, str]:
    unit = await pi.unit(
        "Type", "ActiveState", "MainPID", "WatchdogUSec", "WatchdogTimestampMonotonic"
    )
    if unit["Type"] != "notify" or unit["ActiveState"] != "active":
        raise PiTestError(f"roomcast-device is {unit}, not an active Type=notify service")
    first = unit["WatchdogTimestampMonotonic"]
    deadline = time.monotonic() + 45
    while (await pi.unit("WatchdogTimestampMonotonic"))["WatchdogTimestampMonotonic"] == first:
        if time.monotonic() > deadline:
            raise PiTestError("the node did not feed its watchdog within 45 s")
        await asyncio.sleep(1)
    return unit


async def panics(hub: HubService, count: int, within_s: float) -> None:
    await wait_until(lambda: len(alerts(hub.store)) >= count, within_s,
                     f"{count} panic alert(s) at the hub")  # fmt: skip


@dataclass(frozen=True)
class Rig:
    """What every card boots against: the cached root and wheelhouse, the site, and the
    broker and hub running on the host."""

    work: Path
    root: Path
    wheels: Path
    site: Path
    broker: MosquittoProcess
    hub: HubService


async def scenario(work: Path) -> Results:
    check_tools()
    root, wheels = bookworm_root(), wheelhouse()
    site = make_site(work)
    results = Results()
    broker = MosquittoProcess(broker_config(site), site / "broker")
    broker.start()
    hub = HubService(load_hub_config(site / "hub" / "hub.json"))
    hub_task = asyncio.create_task(hub.run())
    rig = Rig(work=work, root=root, wheels=wheels, site=site, broker=broker, hub=hub)
    try:
        for card in (IMAGER, PLAIN, CLOUD_INIT):
            if card.kind in ONLY:
                await boot_card(rig, card, results)
    finally:
        hub_task.cancel()
        await asyncio.gather(hub_task, return_exceptions=True)
        broker.stop()
    if "hub" in ONLY:  # after the host's broker and hub stopped (and on ports of its own)
        await install_hub(root, wheels, work, results)
    return results


async def boot_card(rig: Rig, card: Card, results: Results) -> None:
    """One card from blank to online on a fresh overlay; the Imager card then goes on
    through the node's own checks (they do not depend on how it was installed)."""
    upper = rig.work / f"upper-{card.kind}"
    boot, written = write_card(card, upper, rig.site, rig.wheels, rig.broker.pid)
    results[f"{card.kind} card: written by provision sdcard"] = f"{written:.0f} MB"
    pi = Pi(rig.root, upper, rig.work / f"console-{card.kind}.log")
    try:
        device_id = await install_from_card(pi, rig.hub, card, boot, results)
        if card is IMAGER:
            await node_checks(pi, rig.hub, rig.broker, device_id, results)
    except PiTestError as error:
        raise PiTestError(
            f"{card.kind} card: {error}\n{diagnosis(pi, rig.hub, rig.broker)}"
        ) from None
    finally:
        await pi.kill()


def diagnosis(pi: Pi, hub: HubService, broker: MosquittoProcess) -> str:
    """What a failure in CI needs to be read without the machine: the hub's view, the
    ends of the broker's log, of the node's console and of its first-boot logs."""

    def tail(path: Path, lines: int) -> str:
        text = path.read_text(errors="replace") if path.exists() else "(none)"
        return "\n".join(text.splitlines()[-lines:])

    devices = {d: (r.online, r.last_seen) for d, r in hub.engine.presence.devices.items()}
    logs = [pi.upper / "var/log" / name for name in FIRST_BOOT_LOGS]
    return (
        f"hub: connected={hub.connected.is_set()} devices={devices} "
        f"rejected={dict(hub.engine.rejected.counts)} outbox on the node={outbox(pi.upper)}\n"
        f"--- broker log ({broker.log_path}), last 30 lines:\n{tail(broker.log_path, 30)}\n"
        f"--- node console ({pi.log}), last 40 lines:\n{tail(pi.log, 40)}\n"
        + "".join(f"--- {log}, last 30 lines:\n{tail(log, 30)}\n" for log in logs if log.exists())
        + f"--- the node's journal, roomcast-device:\n{node_journal(pi.upper)}"
    )


def node_journal(upper: Path) -> str:
    journal = upper / "var/log/journal"
    if not journal.is_dir() or shutil.which("journalctl") is None:
        return f"(no persistent journal in {journal}, or no journalctl on this host)"
    shown = subprocess.run(
        ["journalctl", f"--directory={journal}", "--unit=roomcast-device", "--lines=60",
         "--no-pager", "--output=short-monotonic"],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    return shown.stdout[-8000:] + shown.stderr[-2000:]


async def node_checks(
    pi: Pi, hub: HubService, broker: MosquittoProcess, device_id: str, results: Results
) -> None:
    """The installed node: its size, watchdog and RSS; a press; kill -9; a power cut with
    a press queued."""
    venv = pi.upper / "opt/roomcast/venv"
    size = sum(p.stat().st_size for p in venv.rglob("*") if p.is_file()) / 1e6
    results["installed venv"] = f"{size:.0f} MB"
    unit = await watchdog_fed(pi)
    status = await pi.run("cat", f"/proc/{unit['MainPID']}/status")
    rss = next(line.split()[1] for line in status.splitlines() if line.startswith("VmRSS"))
    results["node RSS (incl. qemu-user)"] = f"{int(rss) / 1024:.0f} MB"
    await pi.run("sh", "-c", f"kill -USR1 {unit['MainPID']}")
    await panics(hub, 1, 60)
    await pi.run("sh", "-c", f"kill -9 {unit['MainPID']}")
    await restarted(pi, unit["MainPID"])
    results["kill -9"] = "restarted by systemd"
    await outbox_survives_power_cut(pi, hub, broker, device_id)
    results["container killed with an event in the outbox"] = "delivered after reboot"


async def restarted(pi: Pi, old_pid: str) -> None:
    deadline = time.monotonic() + 90
    while True:
        unit = await pi.unit("MainPID", "ActiveState", "NRestarts")
        if unit["MainPID"] not in ("0", old_pid) and unit["ActiveState"] == "active":
            return
        if time.monotonic() > deadline:
            raise PiTestError(f"systemd did not restart the node after kill -9: {unit}")
        await asyncio.sleep(1)


async def outbox_survives_power_cut(
    pi: Pi, hub: HubService, broker: MosquittoProcess, device_id: str
) -> None:
    broker.stop()  # the event cannot leave the node
    pid = (await pi.unit("MainPID"))["MainPID"]
    # The first panic may still wait in the outbox too: kill -9 can come between the
    # hub's receipt and the node's reading of it (it is resent, and receipted as a
    # duplicate). The power cut must wait for this press, the one the hub has not seen.
    known = {alert["event_id"] for alert in alerts(hub.store)}
    await pi.run("sh", "-c", f"kill -USR1 {pid}")
    await wait_until(lambda: outbox(pi.upper) - known, 60, "the new panic in the node's outbox")
    await pi.kill()  # mid-write, as far as the node knows: no shutdown at all
    seen = hub.engine.presence.devices[device_id].last_seen or 0.0
    broker.start()
    await pi.boot()
    await wait_until(lambda: (hub.engine.presence.devices[device_id].last_seen or 0.0) > seen, 300,
                     "the node to reach the hub again after the power cut")  # fmt: skip
    await panics(hub, 2, 60)


def main() -> int:
    if os.geteuid() != 0:
        print("pi-test: run as root (systemd-nspawn, binfmt_misc)", file=sys.stderr)
        return 2
    shutil.rmtree(WORK, ignore_errors=True)
    WORK.mkdir(parents=True)
    began = time.monotonic()
    try:
        results = asyncio.run(scenario(WORK))
    except (PiTestError, AssertionError) as error:
        traceback.print_exc()
        print(f"pi-test FAILED: {error!r}\n(consoles: {WORK}/console-*.log)", file=sys.stderr)
        return 1
    print("pi-test results (EMULATED: arm64 under qemu-user on x86, not a Pi):")
    for what, value in results.items():
        print(f"  {what}: {value}")
    print(f"pi-test: 1 passed, 0 failed in {time.monotonic() - began:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
