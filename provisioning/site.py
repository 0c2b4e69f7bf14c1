"""The site directory: where each file lives, and the inventory that records rooms and devices.

Layout (every directory 0700, every key 0600)::

    <site>/site.json             inventory: site id, hub hosts, broker port, rooms, devices
    <site>/ca/ca.crt, ca.key      the site CA (the key can be kept offline between uses)
    <site>/broker/                everything Mosquitto reads, and nothing more:
        mosquitto.conf, acl, ca.crt, crl.pem, broker.crt, broker.key, data/,
        quarantine.json (devices cut off for flooding, while they are)
    <site>/hub/                   everything the hub service reads:
        hub.json, inventory.json, ca.crt, hub.crt, hub.key, signing.key, signing.pub,
        users.json
    <site>/devices/<id>.crt       the certificate of each issued device
    <site>/bundles/<site>-<id>.tar.gz   the bundle to install on each device

``broker/`` and ``hub/`` are self-contained so each can be handed to the service's own
user (``broker.user`` and ``hub.user`` in ``site.json``) without exposing the CA key.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import pwd
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from protocol.inventory import Room
from protocol.topics import InvalidName, check_level
from provisioning.errors import (
    InvalidIdError,
    InventoryError,
    ProvisioningError,
    SiteNotFoundError,
)
from provisioning.fsutil import Owner, write_json

INVENTORY_FORMAT = 1


def valid_id(kind: str, value: str) -> str:
    """``check_level`` with our error type, so the CLI reports it like every other mistake."""
    try:
        return check_level(kind, value)
    except InvalidName as exc:
        raise InvalidIdError(str(exc)) from exc


@dataclass(frozen=True)
class BrokerFiles:
    """What Mosquitto reads; self-contained so the directory can belong to the broker's user."""

    dir: Path

    @property
    def conf(self) -> Path:
        return self.dir / "mosquitto.conf"

    @property
    def acl(self) -> Path:
        return self.dir / "acl"

    @property
    def ca(self) -> Path:
        return self.dir / "ca.crt"

    @property
    def crl(self) -> Path:
        return self.dir / "crl.pem"

    @property
    def cert(self) -> Path:
        return self.dir / "broker.crt"

    @property
    def key(self) -> Path:
        return self.dir / "broker.key"

    @property
    def data(self) -> Path:
        return self.dir / "data"

    @property
    def quarantine(self) -> Path:
        """The devices cut off at the broker as last applied (provisioning.quarantine)."""
        return self.dir / "quarantine.json"


@dataclass(frozen=True)
class HubFiles:
    """What the hub service reads: its TLS identity, the directive signing key, the users."""

    dir: Path

    @property
    def config(self) -> Path:
        return self.dir / "hub.json"

    @property
    def ca(self) -> Path:
        return self.dir / "ca.crt"

    @property
    def cert(self) -> Path:
        return self.dir / "hub.crt"

    @property
    def key(self) -> Path:
        return self.dir / "hub.key"

    @property
    def signing_key(self) -> Path:
        return self.dir / "signing.key"

    @property
    def signing_pub(self) -> Path:
        return self.dir / "signing.pub"

    @property
    def users(self) -> Path:
        return self.dir / "users.json"

    @property
    def inventory(self) -> Path:
        """Rooms and active devices in the ``protocol.inventory`` format the hub loads."""
        return self.dir / "inventory.json"


@dataclass(frozen=True)
class SiteLayout:
    """Paths inside one site directory; the only place that knows the file names."""

    root: Path

    @property
    def inventory(self) -> Path:
        return self.root / "site.json"

    @property
    def lock(self) -> Path:
        return self.root / ".lock"

    @property
    def ca_dir(self) -> Path:
        return self.root / "ca"

    @property
    def ca_cert(self) -> Path:
        return self.ca_dir / "ca.crt"

    @property
    def ca_key(self) -> Path:
        return self.ca_dir / "ca.key"

    @property
    def broker(self) -> BrokerFiles:
        return BrokerFiles(self.root / "broker")

    @property
    def hub(self) -> HubFiles:
        return HubFiles(self.root / "hub")

    @property
    def devices_dir(self) -> Path:
        return self.root / "devices"

    @property
    def bundles_dir(self) -> Path:
        return self.root / "bundles"

    def device_cert(self, device_id: str) -> Path:
        return self.devices_dir / f"{device_id}.crt"

    def bundle(self, site: str, device_id: str) -> Path:
        return self.bundles_dir / f"{site}-{device_id}.tar.gz"


@dataclass
class DeviceRecord:
    """One issued device identity. The id survives certificate rotation; serials do not."""

    room: str
    serial: int
    not_after: datetime
    issued_at: datetime
    revoked_at: datetime | None = None
    previous_serials: list[int] = field(default_factory=list)

    @property
    def active(self) -> bool:
        return self.revoked_at is None


@dataclass
class SiteRecord:
    """The contents of ``site.json``: what exists at the site and what was issued."""

    site: str
    hub_hosts: list[str]
    broker_port: int
    broker_bind: str
    broker_user: str | None = None
    hub_user: str | None = None
    rooms: dict[str, Room] = field(default_factory=dict)
    devices: dict[str, DeviceRecord] = field(default_factory=dict)
    crl_number: int = 1
    buildings: list[str] = field(default_factory=list)
    """Declared once (``provision buildings``); a room naming any other is refused, so a
    misspelt ``nrth`` cannot quietly become a building of its own."""
    room_hardware: dict[str, str] = field(default_factory=dict)
    """Room id -> the hardware profile its node has (the rooms CSV's ``hardware`` column)."""

    def active_devices(self) -> dict[str, DeviceRecord]:
        return {k: d for k, d in sorted(self.devices.items()) if d.active}

    def to_json(self) -> dict[str, Any]:
        return {
            "format": INVENTORY_FORMAT,
            "site": self.site,
            "hub_hosts": self.hub_hosts,
            "broker": {
                "port": self.broker_port,
                "bind": self.broker_bind,
                "user": self.broker_user,
            },
            "hub": {"user": self.hub_user},
            "crl_number": self.crl_number,
            "buildings": self.buildings,
            "rooms": {k: self._room_json(k, r) for k, r in self.rooms.items()},
            "devices": {k: _device_to_json(d) for k, d in self.devices.items()},
        }

    def _room_json(self, room_id: str, room: Room) -> dict[str, str]:
        entry = {"building": room.building, "floor": room.floor, "name": room.name}
        if room_id in self.room_hardware:
            entry["hardware"] = self.room_hardware[room_id]
        return entry


def _device_to_json(d: DeviceRecord) -> dict[str, Any]:
    return {
        "room": d.room,
        "serial": f"{d.serial:x}",
        "not_after": d.not_after.isoformat(),
        "issued_at": d.issued_at.isoformat(),
        "revoked_at": d.revoked_at.isoformat() if d.revoked_at else None,
        "previous_serials": [f"{s:x}" for s in d.previous_serials],
    }


def _device_from_json(raw: dict[str, Any]) -> DeviceRecord:
    revoked = raw.get("revoked_at")
    return DeviceRecord(
        room=str(raw["room"]),
        serial=int(raw["serial"], 16),
        not_after=datetime.fromisoformat(raw["not_after"]),
        issued_at=datetime.fromisoformat(raw["issued_at"]),
        revoked_at=datetime.fromisoformat(revoked) if revoked else None,
        previous_serials=[int(s, 16) for s in raw.get("previous_serials", [])],
    )


def _inventory_from_json(raw: dict[str, Any]) -> SiteRecord:
    if raw.get("format") != INVENTORY_FORMAT:
        raise ValueError(f"unknown format {raw.get('format')!r}, expected {INVENTORY_FORMAT}")
    inv = SiteRecord(
        site=check_level("site", raw["site"]),
        hub_hosts=[str(h) for h in raw["hub_hosts"]],
        broker_port=int(raw["broker"]["port"]),
        broker_bind=str(raw["broker"]["bind"]),
        broker_user=raw["broker"].get("user"),
        hub_user=raw.get("hub", {}).get("user"),  # absent in sites made before hub.user
        crl_number=int(raw["crl_number"]),
    )
    for room_id, room in raw["rooms"].items():
        fields = dict(room)
        if "hardware" in fields:
            inv.room_hardware[room_id] = check_level("hardware profile", fields.pop("hardware"))
        inv.rooms[room_id] = Room(id=room_id, **fields)
    # Sites made before buildings were declared: the buildings their rooms already use.
    declared = raw.get("buildings", sorted({r.building for r in inv.rooms.values()}))
    inv.buildings = [check_level("building", str(b)) for b in declared]
    for device_id, device in raw["devices"].items():
        inv.devices[check_level("device", device_id)] = _device_from_json(device)
    return inv


def open_site(site_dir: Path | str) -> tuple[SiteLayout, SiteRecord]:
    """Load a site; a missing or damaged inventory becomes an error naming the file."""
    layout = SiteLayout(Path(site_dir))
    if not layout.inventory.is_file():
        raise SiteNotFoundError(layout.root)
    try:
        raw = json.loads(layout.inventory.read_text(encoding="utf-8"))
        return layout, _inventory_from_json(raw)
    except (OSError, ValueError, KeyError, TypeError, InvalidName) as exc:
        raise InventoryError(
            f"{layout.inventory} is damaged ({type(exc).__name__}: {exc}); restore it from "
            "your backup of the site directory"
        ) from exc


def save_inventory(layout: SiteLayout, inventory: SiteRecord) -> None:
    write_json(layout.inventory, inventory.to_json())


@contextlib.contextmanager
def locked(layout: SiteLayout) -> Iterator[None]:
    """Serialise changes to one site, so two IT staff cannot issue the same serial state."""
    fd = os.open(layout.lock, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def broker_owner(inventory: SiteRecord) -> Owner:
    """The (uid, gid) that must own ``broker/``, or None when no hand-over is needed.

    Mosquitto started as root drops to its ``user`` after opening its listeners, and it
    re-reads the ACL, CRL and certificates on SIGHUP as that user. Root-owned 0600 files
    would make every reload, and so every revocation, fail. Only root can hand files over;
    a non-root run (tests, a developer's demo) runs the broker as itself.
    """
    return _owner(
        inventory.broker_user, "broker.user", "install the Debian package `mosquitto` first"
    )


def hub_owner(inventory: SiteRecord) -> Owner:
    """The (uid, gid) that must own ``hub/``, or None when no hand-over is needed.

    The hub service runs as its own user (``User=roomcast``) and must read its key, its
    signing key and ``users.json``, all 0600; every later write there (users, inventory,
    a renewed certificate) keeps that owner.
    """
    return _owner(
        inventory.hub_user,
        "hub.user",
        f"create it (useradd --system --user-group --home-dir /var/lib/roomcast-hub "
        f"--shell /usr/sbin/nologin {inventory.hub_user})",
    )


def _owner(user: str | None, key: str, hint: str) -> Owner:
    if user is None or os.geteuid() != 0:
        return None
    try:
        entry = pwd.getpwnam(user)
    except KeyError:
        raise ProvisioningError(
            f"the user {user!r} (key {key} in site.json) does not exist; {hint}"
        ) from None
    return entry.pw_uid, entry.pw_gid
