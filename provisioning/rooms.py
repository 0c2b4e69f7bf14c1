"""The room inventory, imported from a CSV that IT keeps (building, floor, room, name).

The CSV is the source of truth: importing it again is how rooms are added, renamed and
removed. Every row is checked before anything is written, and every problem is reported
with its line number in one go, so a 300-row sheet is fixed in one pass, not 300.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from protocol.inventory import Room
from protocol.topics import InvalidName, check_level
from provisioning.access import write_derived
from provisioning.errors import RoomImportError
from provisioning.site import SiteRecord, locked, open_site, save_inventory, valid_id

COLUMNS = ("building", "floor", "room", "name")
MAX_NAME = 100
MAX_FLOOR = 32


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


def _row_problems(row: dict[str | None, str | list[str] | None]) -> list[str]:
    problems = []
    if None in row:
        problems.append("more fields than the header has columns")
    for column in COLUMNS:
        if row.get(column) is None:
            problems.append(f"column {column!r} is missing")
    for kind in ("building", "room"):
        value = row.get(kind)
        if isinstance(value, str):
            try:
                check_level(kind, value.strip())
            except InvalidName as exc:
                problems.append(str(exc))
    name, floor = row.get("name"), row.get("floor")
    if isinstance(name, str) and not 0 < len(name.strip()) <= MAX_NAME:
        problems.append(f"name must be 1-{MAX_NAME} characters")
    if isinstance(floor, str) and len(floor.strip()) > MAX_FLOOR:
        problems.append(f"floor must be at most {MAX_FLOOR} characters")
    return problems


def _check_header(fields: Sequence[str] | None) -> list[str]:
    if not fields:
        return [f"1: the file is empty; the first line must be the header {','.join(COLUMNS)}"]
    names = [f.strip() for f in fields]
    problems = [f"1: header lacks column {c!r}" for c in COLUMNS if c not in names]
    problems += [
        f"1: unknown column {n!r} (expected {', '.join(COLUMNS)})"
        for n in names
        if n not in COLUMNS
    ]
    return problems


def read_rooms_csv(csv_path: Path) -> dict[str, Room]:
    """Parse and validate the whole CSV; raise one error listing every problem."""
    try:
        with csv_path.open(encoding="utf-8-sig", newline="") as handle:
            reader = csv.DictReader(handle, skipinitialspace=True)
            problems = _check_header(reader.fieldnames)
            if problems:
                raise RoomImportError(csv_path, problems)
            reader.fieldnames = [f.strip() for f in reader.fieldnames or []]
            rooms, problems = _collect(reader)
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise RoomImportError(csv_path, [f"0: cannot read the file: {exc}"]) from exc
    if not rooms and not problems:
        problems.append("2: no rooms listed; a site needs at least one room")
    if problems:
        raise RoomImportError(csv_path, problems)
    return rooms


def _collect(reader: csv.DictReader[str]) -> tuple[dict[str, Room], list[str]]:
    rooms: dict[str, Room] = {}
    first_seen: dict[str, int] = {}
    problems: list[str] = []
    for row in reader:
        line = reader.line_num
        row_problems = _row_problems(row)
        problems += [f"{line}: {p}" for p in row_problems]
        if row_problems:
            continue
        room_id = row["room"].strip()
        if room_id in first_seen:
            problems.append(
                f"{line}: room {room_id!r} is already listed on line {first_seen[room_id]}"
            )
            continue
        first_seen[room_id] = line
        rooms[room_id] = Room(
            id=room_id,
            building=row["building"].strip(),
            floor=row["floor"].strip(),
            name=row["name"].strip(),
        )
    return rooms, problems


def import_rooms(site_dir: Path | str, csv_path: Path | str) -> RoomChanges:
    """Make the site's rooms exactly those of the CSV; report what changed."""
    csv_path = Path(csv_path)
    return apply_rooms(site_dir, read_rooms_csv(csv_path).values(), source=csv_path)


def _diff(record: SiteRecord, rooms: dict[str, Room], source: Path) -> RoomChanges:
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
    updated = sorted(r for r in rooms if r in old and old[r] != rooms[r])
    return RoomChanges(
        added=tuple(sorted(set(rooms) - set(old))),
        updated=tuple(updated),
        removed=tuple(removed),
        stale_devices=tuple(i for i, d in active.items() if d.room in updated),
    )


def apply_rooms(site_dir: Path | str, rooms: Iterable[Room], *, source: Path) -> RoomChanges:
    """Replace the site's room list with ``rooms`` (the CSV import, or generated rooms).

    A room that still has an active device cannot be removed: its display would point at a
    room the office no longer sees. Revoke the device first.
    """
    by_id: dict[str, Room] = {}
    for room in rooms:
        if valid_id("room", room.id) in by_id:
            raise RoomImportError(source, [f"0: room {room.id!r} is listed twice"])
        valid_id("building", room.building)
        by_id[room.id] = room
    layout, _ = open_site(site_dir)
    with locked(layout):
        _, record = open_site(site_dir)
        changes = _diff(record, by_id, source)
        if changes.changed:
            record.rooms = dict(sorted(by_id.items()))
            write_derived(layout, record)
            save_inventory(layout, record)
    return changes
