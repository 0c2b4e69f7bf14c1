"""The site inventory: buildings, rooms and the devices bound to them.

Provisioning writes it, the hub reads it. The hub trusts the inventory, not what a device
claims, for which room a device is in.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from protocol.topics import check_level


class InventoryError(ValueError):
    """An inventory document that does not describe a valid site."""


@dataclass(frozen=True, kw_only=True)
class Room:
    id: str
    building: str
    floor: str = ""
    name: str = ""

    def __post_init__(self) -> None:
        check_level("room", self.id)
        check_level("building", self.building)

    @property
    def label(self) -> str:
        return self.name or self.id


@dataclass(frozen=True, kw_only=True)
class Inventory:
    site: str
    rooms: Mapping[str, Room] = field(default_factory=dict)
    devices: Mapping[str, str] = field(default_factory=dict)
    """Device id -> room id."""

    def __post_init__(self) -> None:
        check_level("site", self.site)
        for device_id, room in self.devices.items():
            check_level("device", device_id)
            if room not in self.rooms:
                raise InventoryError(f"device {device_id} is bound to unknown room {room!r}")

    @property
    def buildings(self) -> list[str]:
        return sorted({room.building for room in self.rooms.values()})

    def room_of(self, device_id: str) -> Room | None:
        room = self.devices.get(device_id)
        return None if room is None else self.rooms[room]

    def devices_in(self, room_id: str) -> list[str]:
        return list(self._by_room.get(room_id, ()))

    @cached_property
    def _by_room(self) -> dict[str, tuple[str, ...]]:
        """Room id -> its devices, sorted: a report walks every room, so O(1) each."""
        by_room: dict[str, list[str]] = {}
        for device_id, room in sorted(self.devices.items()):
            by_room.setdefault(room, []).append(device_id)
        return {room: tuple(ids) for room, ids in by_room.items()}

    def to_dict(self) -> dict[str, Any]:
        return {
            "site": self.site,
            "rooms": [
                {"id": r.id, "building": r.building, "floor": r.floor, "name": r.name}
                for r in sorted(self.rooms.values(), key=lambda r: (r.building, r.floor, r.id))
            ],
            "devices": [{"id": d, "room": r} for d, r in sorted(self.devices.items())],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Inventory:
        """Build from the JSON document; errors name the entry and the key."""
        try:
            rooms = {}
            for index, entry in enumerate(data.get("rooms", [])):
                room = Room(
                    id=str(entry["id"]),
                    building=str(entry["building"]),
                    floor=str(entry.get("floor", "")),
                    name=str(entry.get("name", "")),
                )
                if room.id in rooms:
                    raise InventoryError(f"rooms[{index}]: room {room.id!r} is listed twice")
                rooms[room.id] = room
            devices = {str(e["id"]): str(e["room"]) for e in data.get("devices", [])}
            return cls(site=str(data["site"]), rooms=rooms, devices=devices)
        except KeyError as error:
            raise InventoryError(f"inventory entry is missing the key {error}") from None
        except (TypeError, ValueError) as error:
            if isinstance(error, InventoryError):
                raise
            raise InventoryError(f"inventory is malformed: {error}") from None
