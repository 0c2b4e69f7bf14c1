"""A throw-away site for the demo and the tests: keys, inventory, hub and device configs.

Rooms are numbered as schools number them (101, 102, ... 201, ...), ten to a floor, in
two buildings. The files have the same shape as a provisioned site's, so the hub and the
devices load them exactly as they would in a school.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from protocol.inventory import Inventory, Room

ROOMS_PER_FLOOR = 10


@dataclass(frozen=True)
class DemoSite:
    root: Path
    inventory: Inventory

    @property
    def hub_config(self) -> Path:
        return self.root / "hub" / "hub.json"

    def device_config(self, device_id: str) -> Path:
        return self.root / "devices" / device_id / "device.json"

    @property
    def device_ids(self) -> list[str]:
        return sorted(self.inventory.devices)


def demo_inventory(site: str, rooms: int) -> Inventory:
    entries = {}
    for index in range(rooms):
        floor, number = divmod(index, ROOMS_PER_FLOOR)
        building = "main" if floor % 2 == 0 else "north"
        room_id = f"{floor + 1}{number + 1:02d}"
        entries[room_id] = Room(
            id=room_id, building=building, floor=str(floor + 1), name=f"Room {room_id}"
        )
    devices = {f"rc-{room_id}": room_id for room_id in entries}
    return Inventory(site=site, rooms=entries, devices=devices)


def write_secret(path: Path, data: bytes) -> None:
    """Create a private file with mode 0600 from the first byte."""
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "wb") as file:
        file.write(data)


def _write_json(path: Path, data: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")


def create_demo_site(
    root: Path,
    *,
    rooms: int,
    broker_port: int,
    http_port: int = 0,
    site: str = "demo",
    heartbeat_s: float = 2.0,
) -> DemoSite:
    inventory = demo_inventory(site, rooms)
    key = Ed25519PrivateKey.generate()
    write_secret(
        root / "hub" / "hub-signing.key",
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ),
    )
    public = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    broker = {"host": "127.0.0.1", "port": broker_port}
    _write_json(root / "hub" / "inventory.json", inventory.to_dict())
    _write_json(
        root / "hub" / "hub.json",
        {
            "site": site,
            "broker": broker,
            "signing_key": "hub-signing.key",
            "inventory": "inventory.json",
            "state_dir": "state",
            "http": {"host": "127.0.0.1", "port": http_port},
            "heartbeat_s": heartbeat_s,
        },
    )
    for device_id, room_id in inventory.devices.items():
        room = inventory.rooms[room_id]
        folder = root / "devices" / device_id
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "hub-signing.pub").write_bytes(public)
        _write_json(
            folder / "device.json",
            {
                "site": site,
                "device_id": device_id,
                "room": room.id,
                "building": room.building,
                "room_name": room.label,
                "broker": broker,
                "hub_public_key": "hub-signing.pub",
                "state_dir": "state",
            },
        )
    return DemoSite(root, inventory)
