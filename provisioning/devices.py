"""Device identities: issuing, bundling and revoking the certificate of each classroom node.

A bundle is everything one node needs, in one ``tar.gz``: its key and certificate, the site
CA, the hub's public directive-signing key and a ``device.json`` naming its site, room and
broker, plus a manifest of all of them signed by the site CA (``provisioning.manifest``).
The device's private key exists only inside the bundle (mode 0600); the site keeps the
certificate, which is all that checking and revoking need.
"""

from __future__ import annotations

import io
import json
import secrets
import tarfile
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from protocol.topics import check_level
from provisioning.access import HUB_USERNAME, reload_broker, write_crl, write_derived
from provisioning.errors import DeviceError
from provisioning.fsutil import write_private, write_public
from provisioning.manifest import BUNDLE_FORMAT, SIGNATURE_MEMBERS, sign_manifest
from provisioning.pki import CLIENT_DAYS, Authority, cert_pem, issue, key_pem, load_authority
from provisioning.profiles import PROFILES_DIR, load_profiles, unknown_profile
from provisioning.site import (
    DeviceRecord,
    SiteLayout,
    SiteRecord,
    locked,
    open_site,
    save_inventory,
)
from provisioning.wording import bundle_wording

DEVICE_CONFIG = "device.json"
CA_CERT = "ca.crt"
DEVICE_CERT = "device.crt"
DEVICE_KEY = "device.key"
HUB_SIGNING_PUB = "hub-signing.pub"
BUNDLE_MEMBERS = {
    DEVICE_CONFIG: 0o644,
    CA_CERT: 0o644,
    DEVICE_CERT: 0o644,
    DEVICE_KEY: 0o600,
    HUB_SIGNING_PUB: 0o644,
}
"""The files installed on a node, with their modes."""
ARCHIVE_MODES = {**BUNDLE_MEMBERS, **dict.fromkeys(SIGNATURE_MEMBERS, 0o644)}
"""Every member of a bundle archive: the installed files and their signed manifest."""
ReloadTarget = int | Path | None


@dataclass(frozen=True)
class RevokeResult:
    """What a revocation did; ``reloaded_pid`` is None when no broker was signalled."""

    device_id: str
    serials: tuple[int, ...]
    reloaded_pid: int | None


def new_device_id(room: str, taken: set[str]) -> str:
    """``rc-<room>-<4 hex>``: readable in broker logs, unique even for two nodes in a room."""
    stem = f"rc-{room[:56]}"
    while True:
        candidate = check_level("device", f"{stem}-{secrets.token_hex(2)}")
        if candidate not in taken and candidate != HUB_USERNAME:
            return candidate


def room_hardware(layout: SiteLayout, inventory: SiteRecord, room: str) -> dict[str, Any]:
    """The hardware section of ``room``'s node, from the profile the rooms CSV names."""
    name = inventory.room_hardware.get(room)
    if name is None:
        raise DeviceError(
            f"room {room!r} has no hardware profile, so its node would not know its buttons "
            "or display; add a `hardware` column to the rooms CSV naming one of the site's "
            f"profiles ({', '.join(sorted(load_profiles(layout.root)))}; in "
            f"{layout.root / PROFILES_DIR}/) and run `provision rooms` again"
        )
    profiles = load_profiles(layout.root)
    if name not in profiles:
        raise DeviceError(f"room {room!r}: {unknown_profile(name, profiles)}")
    return profiles[name]


def device_config(
    inventory: SiteRecord,
    device_id: str,
    hardware: Mapping[str, Any],
    wording: Mapping[str, object] | None = None,
) -> dict[str, object]:
    """The ``device.json`` of a bundle; file paths in it are relative to its own directory.

    ``wording``: the site's ``wording.toml`` (:mod:`provisioning.wording`), carried inline.
    """
    room_id = inventory.devices[device_id].room
    room = inventory.rooms[room_id]
    extra: dict[str, object] = {} if wording is None else {"wording": dict(wording)}
    return extra | {
        "hardware": dict(hardware),
        "format": BUNDLE_FORMAT,
        "site": inventory.site,
        "device_id": device_id,
        "room": room_id,
        "building": room.building,
        "floor": room.floor,
        "room_name": room.name,
        "broker": {
            "host": inventory.hub_hosts[0],
            "port": inventory.broker_port,
            "tls": {"ca": CA_CERT, "cert": DEVICE_CERT, "key": DEVICE_KEY},
        },
        "hub_public_key": HUB_SIGNING_PUB,
    }


def _bundle_bytes(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size, info.mode, info.mtime = len(data), ARCHIVE_MODES[name], int(time.time())
            info.uname = info.gname = "root"
            archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def _issue(
    layout: SiteLayout, inventory: SiteRecord, ca: Authority, device_id: str, room: str, days: int
) -> Path:
    """Sign a certificate for ``device_id`` (new or rotated) and write its bundle."""
    hardware = room_hardware(layout, inventory, room)  # refused before anything is signed
    wording = bundle_wording(layout.hub.dir)  # and a broken wording file too
    leaf = issue(ca, common_name=device_id, site=inventory.site, days=days)
    old = inventory.devices.get(device_id)
    inventory.devices[device_id] = DeviceRecord(
        room=room,
        serial=leaf.cert.serial_number,
        not_after=leaf.cert.not_valid_after_utc,
        issued_at=datetime.now(UTC),
        previous_serials=[*old.previous_serials, old.serial] if old else [],
    )
    write_public(layout.device_cert(device_id), cert_pem(leaf.cert))
    config = device_config(inventory, device_id, hardware, wording)
    files = {
        DEVICE_CONFIG: (json.dumps(config, indent=2, sort_keys=True) + "\n").encode(),
        CA_CERT: cert_pem(ca.cert),
        DEVICE_CERT: cert_pem(leaf.cert),
        DEVICE_KEY: key_pem(leaf.key),
        HUB_SIGNING_PUB: layout.hub.signing_pub.read_bytes(),
    }
    bundle = layout.bundle(inventory.site, device_id)
    write_private(bundle, _bundle_bytes({**files, **sign_manifest(ca, config, files)}))
    return bundle


def _new_device(
    layout: SiteLayout, inventory: SiteRecord, ca: Authority, room: str, days: int
) -> Path:
    if room not in inventory.rooms:
        known = ", ".join(sorted(inventory.rooms)[:10]) or "none yet"
        raise DeviceError(
            f"no room {room!r} in {layout.inventory} (rooms: {known}); "
            "add it to the rooms CSV and `provision rooms` it first"
        )
    device_id = new_device_id(room, set(inventory.devices))
    return _issue(layout, inventory, ca, device_id, room, days)


def _commit(layout: SiteLayout, inventory: SiteRecord, reload_pid: ReloadTarget) -> int | None:
    """Write ACL and hub inventory, then site.json, then reload: a crash is re-runnable."""
    write_derived(layout, inventory)
    save_inventory(layout, inventory)
    return reload_broker(reload_pid) if reload_pid is not None else None


def issue_device(
    site_dir: Path | str,
    room: str,
    *,
    validity_days: int = CLIENT_DAYS,
    reload_pid: ReloadTarget = None,
) -> Path:
    """Issue a new device for ``room`` and return its bundle path.

    A room may hold several nodes; each call adds one. Pass ``reload_pid`` (a pid or a pid
    file) so the running broker picks up the new ACL entry, otherwise reload it yourself.
    """
    layout, _ = open_site(site_dir)
    with locked(layout):
        _, inventory = open_site(site_dir)
        ca = load_authority(layout.ca_cert, layout.ca_key)
        bundle = _new_device(layout, inventory, ca, room, validity_days)
        _commit(layout, inventory, reload_pid)
    return bundle


def issue_all(
    site_dir: Path | str, *, validity_days: int = CLIENT_DAYS, reload_pid: ReloadTarget = None
) -> list[Path]:
    """Issue one device for every room that has no active device; idempotent."""
    layout, _ = open_site(site_dir)
    with locked(layout):
        _, inventory = open_site(site_dir)
        equipped = {d.room for d in inventory.active_devices().values()}
        missing = [r for r in sorted(inventory.rooms) if r not in equipped]
        if not missing:
            return []
        _check_hardware(layout, inventory, missing)  # all refused, or none issued
        ca = load_authority(layout.ca_cert, layout.ca_key)
        bundles = [_new_device(layout, inventory, ca, r, validity_days) for r in missing]
        _commit(layout, inventory, reload_pid)
    return bundles


def _check_hardware(layout: SiteLayout, inventory: SiteRecord, rooms: list[str]) -> None:
    """Every room's hardware profile, checked before the first key is written: a refusal
    half-way would leave bundles (private keys) on disk that the site does not record."""
    refused: dict[str, str] = {}
    for room in rooms:
        try:
            room_hardware(layout, inventory, room)
        except DeviceError as error:
            refused[room] = str(error)
    if refused:
        first, *others = refused
        also = f"; the same check refused {', '.join(others)}" if others else ""
        raise DeviceError(f"nothing issued: {refused[first]}{also}")


def reissue(
    layout: SiteLayout,
    inventory: SiteRecord,
    ca: Authority,
    device_id: str,
    days: int = CLIENT_DAYS,
) -> Path:
    """A new key and certificate for an existing device, keeping its id (for rotation)."""
    return _issue(layout, inventory, ca, device_id, inventory.devices[device_id].room, days)


def revoke(
    site_dir: Path | str, device_id: str, *, reload_pid: ReloadTarget = None
) -> RevokeResult:
    """Shut a device out: CRL entry (every serial it held), ACL block removed, bundle deleted.

    Running it again for a revoked device rewrites the CRL and ACL, which repairs a site
    where an earlier run was interrupted.
    """
    layout, _ = open_site(site_dir)
    with locked(layout):
        _, inventory = open_site(site_dir)
        record = inventory.devices.get(device_id)
        if record is None:
            raise DeviceError(
                f"no device {device_id!r} in {layout.inventory}; "
                "`provision check` lists the issued devices"
            )
        record.revoked_at = record.revoked_at or datetime.now(UTC)
        write_crl(layout, inventory, load_authority(layout.ca_cert, layout.ca_key))
        layout.bundle(inventory.site, device_id).unlink(missing_ok=True)
        pid = _commit(layout, inventory, reload_pid)
    return RevokeResult(device_id, (record.serial, *record.previous_serials), pid)
