"""A complete, disposable site on loopback for the demo, the simulator and integration tests.

It goes through exactly the production steps (init, rooms, issue, install), so what the demo
runs is what a school runs; only the addresses are loopback and the rooms are generated.
"""

from __future__ import annotations

import json
import os
import pwd
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from protocol.factors import current_code
from protocol.inventory import Room
from provisioning.broker import BrokerConfig
from provisioning.create import broker_config, init
from provisioning.devices import issue_all
from provisioning.fsutil import make_private_dir, write_json
from provisioning.install import InstalledDevice, install, read_bundle
from provisioning.profiles import SIMULATED
from provisioning.rooms import apply_rooms
from provisioning.second_factor import enrol
from provisioning.site import HubFiles, SiteLayout
from provisioning.wording import WORDING_FILE

NODES_DIR = "nodes"
DEMO_BUILDINGS = ("main", "north")


@dataclass(frozen=True)
class ThrowawaySite:
    """Paths of a ready site: the broker config to run, the hub's files, one dir per node."""

    layout: SiteLayout
    site: str
    broker: BrokerConfig
    hub: HubFiles
    devices: tuple[InstalledDevice, ...]
    admin_user: str
    admin_password: str
    admin_totp_secret: str
    """The admin's second factor: enrolled here, as ``roomcast provision user add`` does."""
    admin_recovery_codes: tuple[str, ...]

    def admin_code(self, at: float | None = None) -> str:
        """The admin's TOTP code now (or at ``at``), as their authenticator app shows it.

        The hub accepts each code once: a second login in the same 30 s needs the next one
        (``at=time.time() + 30``, within the hub's skew window) or a recovery code.
        """
        return current_code(self.admin_totp_secret, time.time() if at is None else at)


def demo_rooms(count: int, *, per_floor: int = 10) -> list[Room]:
    """``count`` rooms numbered as schools number them: 101-110, 201-210, ... with the
    odd floors in the main building and the even ones in the north wing."""
    rooms = []
    for index in range(count):
        floor, number = divmod(index, per_floor)
        room_id = f"{floor + 1}{number + 1:02d}"
        building = DEMO_BUILDINGS[floor % 2]
        rooms.append(
            Room(id=room_id, building=building, floor=str(floor + 1), name=f"Room {room_id}")
        )
    return rooms


def create_throwaway_site(
    site_dir: Path | str,
    *,
    rooms: int,
    broker_port: int,
    site_id: str = "demo",
    http_port: int = 0,
    heartbeat_s: float = 5.0,
    wording: Path | None = None,
) -> ThrowawaySite:
    """Build (replacing) a site in ``site_dir`` with ``rooms`` rooms, one installed node each.

    The broker binds 127.0.0.1:``broker_port``; each node's files are installed under
    ``<site_dir>/nodes/<device id>/`` as they would be under ``/etc/roomcast``. Start the
    broker with ``mosquitto -c <result.broker conf>`` after writing ``result.broker.render()``
    (``layout.broker.conf`` already holds it). ``wording``: a ``wording.toml`` for the
    site's languages, copied beside ``hub.json`` before the bundles are issued.
    """
    created = init(
        site_dir,
        site_id,
        ["127.0.0.1"],
        force=True,
        broker_port=broker_port,
        broker_bind="127.0.0.1",
        broker_user=pwd.getpwuid(os.geteuid()).pw_name,
        buildings=DEMO_BUILDINGS,
    )
    layout = created.layout
    admin = enrol(layout.root, created.admin_user)
    _set_hub_options(layout, http_port=http_port, heartbeat_s=heartbeat_s)
    if wording is not None:
        (layout.hub.dir / WORDING_FILE).write_bytes(wording.read_bytes())
    generated = demo_rooms(rooms)
    apply_rooms(
        layout.root,
        generated,
        source=layout.root / "generated",
        hardware=dict.fromkeys((r.id for r in generated), SIMULATED),  # never a real room
    )
    devices = []
    make_private_dir(layout.root / NODES_DIR)
    for bundle in issue_all(layout.root):
        config, _ = read_bundle(bundle)
        devices.append(install(bundle, layout.root / NODES_DIR / config["device_id"]))
    return ThrowawaySite(
        layout=layout,
        site=site_id,
        broker=broker_config(layout.root),
        hub=layout.hub,
        devices=tuple(devices),
        admin_user=created.admin_user,
        admin_password=created.admin_password,
        admin_totp_secret=admin.secret,
        admin_recovery_codes=admin.recovery_codes,
    )


def _set_hub_options(layout: SiteLayout, *, http_port: int, heartbeat_s: float) -> None:
    """Loopback API on the given port (0: any free one) and the demo's heartbeat. The hub
    runs as the broker's user here, so it applies its own cut-offs (hub.quarantine) and
    reloads the broker through the pid file roomcast.broker.MosquittoProcess writes."""
    path = layout.hub.config
    config = json.loads(path.read_text(encoding="utf-8"))
    config["http"] = {"host": "127.0.0.1", "port": http_port}
    config["heartbeat_s"] = heartbeat_s
    # "{request}" and "{confirmation}" are the hub's own files (hub.quarantine fills them in).
    config["quarantine"] = {
        "command": [
            sys.executable, "-m", "provisioning.quarantine",
            "--site-dir", str(layout.root.resolve()), "--request", "{request}",
            "--pid-file", str((layout.broker.dir / "mosquitto.pid").resolve()),
            "--confirmation", "{confirmation}",
        ]
    }  # fmt: skip
    write_json(path, config)
