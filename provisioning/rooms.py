"""The room inventory, imported from a CSV that IT keeps (building, floor, room, name).

The CSV is the source of truth: importing it again is how rooms are added, renamed and
removed (reading and checking it is ``provisioning.rooms_csv``). Buildings are declared
once for the site (``provision buildings``): a row naming any other building is refused,
so a misspelt ``nrth`` cannot quietly become a building of its own.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from protocol.inventory import Room
from provisioning.access import write_derived
from provisioning.errors import RoomImportError
from provisioning.profiles import load_profiles
from provisioning.rooms_csv import read_rooms_csv, unknown_building
from provisioning.site import SiteRecord, locked, open_site, save_inventory, valid_id


@dataclass(frozen=True)
class RoomChanges:
    """What an import changed. ``stale_devices`` hold a bundle with an outdated room."""

    added: tuple[str, ...] = ()
    updated: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()
    stale_devices: tuple[str, ...] = ()

    @property
    def changed(self) -> bool:
        return bool(self.added or self.updated or self.removed)


def import_rooms(site_dir: Path | str, csv_path: Path | str) -> RoomChanges:
    """Make the site's rooms exactly those of the CSV; report what changed."""
    csv_path = Path(csv_path)
    layout, record = open_site(site_dir)
    rows = read_rooms_csv(csv_path, buildings=record.buildings, profiles=load_profiles(layout.root))
    return apply_rooms(site_dir, rows.rooms.values(), source=csv_path, hardware=rows.hardware)


def _diff(
    record: SiteRecord, rooms: dict[str, Room], hardware: Mapping[str, str], source: Path
) -> RoomChanges:
    """What replacing the rooms would change; refuses to orphan an active device."""
    old, active = record.rooms, record.active_devices()
    removed = sorted(set(old) - set(rooms))
    blocked = [
        f"0: room {d.room!r} is no longer listed but device {i} is still active "
        "there; keep the room or `provision revoke` the device first"
        for i, d in active.items()
        if d.room in removed
    ]
    if blocked:
        raise RoomImportError(source, blocked)
    updated = sorted(
        r
        for r in rooms
        if r in old and (old[r] != rooms[r] or record.room_hardware.get(r) != hardware.get(r))
    )
    return RoomChanges(
        added=tuple(sorted(set(rooms) - set(old))),
        updated=tuple(updated),
        removed=tuple(removed),
        stale_devices=tuple(i for i, d in active.items() if d.room in updated),
    )


def apply_rooms(
    site_dir: Path | str,
    rooms: Iterable[Room],
    *,
    source: Path,
    hardware: Mapping[str, str] | None = None,
) -> RoomChanges:
    """Replace the site's room list with ``rooms`` (the CSV import, or generated rooms).

    ``hardware`` maps rooms to their hardware profile. Every building must be declared. A
    room that still has an active device cannot be removed: its display would point at a
    room the office no longer sees. Revoke the device first.
    """
    by_id: dict[str, Room] = {}
    for room in rooms:
        if valid_id("room", room.id) in by_id:
            raise RoomImportError(source, [f"0: room {room.id!r} is listed twice"])
        valid_id("building", room.building)
        by_id[room.id] = room
    profiles = {r: p for r, p in (hardware or {}).items() if r in by_id}
    layout, _ = open_site(site_dir)
    with locked(layout):
        _, record = open_site(site_dir)
        undeclared = sorted({r.building for r in by_id.values()} - set(record.buildings))
        if undeclared:
            raise RoomImportError(
                source, [f"0: {unknown_building(b, record.buildings)}" for b in undeclared]
            )
        changes = _diff(record, by_id, profiles, source)
        if changes.changed:
            record.rooms = dict(sorted(by_id.items()))
            record.room_hardware = dict(sorted(profiles.items()))
            write_derived(layout, record)
            save_inventory(layout, record)
    return changes


def declare_buildings(site_dir: Path | str, buildings: Iterable[str]) -> tuple[str, ...]:
    """Add buildings to the site's declared list; returns the ones that were new."""
    names = [valid_id("building", b) for b in buildings]
    layout, _ = open_site(site_dir)
    with locked(layout):
        _, record = open_site(site_dir)
        new = tuple(sorted(set(names) - set(record.buildings)))
        if new:
            record.buildings = sorted({*record.buildings, *new})
            save_inventory(layout, record)
    return new
