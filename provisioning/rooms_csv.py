"""Reading the rooms CSV that IT keeps: building, floor, room, name, and the hardware profile.

Every row is checked before anything is written and every problem is reported with its
line number in one go, so a 300-row sheet is fixed in one pass, not 300. Spreadsheets save
CSV in more than one encoding: UTF-8 with or without Excel's BOM is read as it is; any
other encoding (Windows-1252 from "CSV (Comma delimited)" on Windows, UTF-16 from "Unicode
Text") is refused at the first line that is not UTF-8, with what it would say in
Windows-1252 and how to save the sheet instead: a room's name is shown on its screen,
and guessing an encoding could put "CafÃ©" there.
"""

from __future__ import annotations

import csv
import difflib
import io
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from protocol.inventory import Room
from protocol.topics import InvalidName, check_level
from provisioning.errors import RoomImportError

COLUMNS = ("building", "floor", "room", "name")
OPTIONAL = ("hardware",)
MAX_NAME = 100
MAX_FLOOR = 32
SAVE_AS = 'save it from the spreadsheet as "CSV UTF-8 (Comma delimited) (*.csv)" and import again'
_Row = dict[str | None, str | list[str] | None]


@dataclass(frozen=True)
class RoomRows:
    """The rooms of a clean CSV, and the hardware profile each names (if the column exists)."""

    rooms: dict[str, Room] = field(default_factory=dict)
    hardware: dict[str, str] = field(default_factory=dict)


def decode_csv(csv_path: Path, data: bytes) -> str:
    """The text of the file, or a refusal naming the line that is not UTF-8."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise RoomImportError(csv_path, [f"1: the file is UTF-16 (Unicode Text); {SAVE_AS}"])
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        start = data.rfind(b"\n", 0, exc.start) + 1
        end = data.find(b"\n", exc.start)
        raw = data[start : None if end < 0 else end].rstrip(b"\r")
        shown = raw.decode("cp1252", errors="replace")
        raise RoomImportError(
            csv_path,
            [
                f"{line}: not UTF-8 (byte 0x{data[exc.start]:02x} at column "
                f"{exc.start - start + 1}); in Windows-1252 this line reads {shown!r}. "
                f"The sheet was saved in a Windows encoding: {SAVE_AS}"
            ],
        ) from None


def read_rooms_csv(
    csv_path: Path, *, buildings: Collection[str], profiles: Collection[str] | None = None
) -> RoomRows:
    """Parse and validate the whole CSV; raise one error listing every problem.

    ``buildings`` are the site's declared buildings and ``profiles`` its hardware profiles
    (None: no check, for callers that only read).
    """
    try:
        text = decode_csv(csv_path, csv_path.read_bytes())
        reader = csv.DictReader(io.StringIO(text, newline=""), skipinitialspace=True)
        problems = _check_header(reader.fieldnames)
        if problems:
            raise RoomImportError(csv_path, problems)
        reader.fieldnames = [f.strip() for f in reader.fieldnames or []]
        rows, problems = _collect(reader, _Known(buildings, profiles))
    except (OSError, csv.Error) as exc:
        raise RoomImportError(csv_path, [f"1: cannot read the file: {exc}"]) from exc
    if not rows.rooms and not problems:
        problems.append("2: no rooms listed; a site needs at least one room")
    if problems:
        raise RoomImportError(csv_path, problems)
    return rows


@dataclass(frozen=True)
class _Known:
    buildings: Collection[str]
    profiles: Collection[str] | None

    def problems(self, building: str, profile: str | None) -> list[str]:
        found = []
        if building not in self.buildings:
            found.append(unknown_building(building, self.buildings))
        if profile and self.profiles is not None and profile not in self.profiles:
            close = _nearest(profile, self.profiles)
            found.append(
                f"hardware profile {profile!r} is not defined ({close}profiles: "
                f"{', '.join(sorted(self.profiles))})"
            )
        return found


def _nearest(name: str, known: Collection[str]) -> str:
    close = difflib.get_close_matches(name, list(known), n=1)
    return f"did you mean {close[0]!r}? " if close else ""


def unknown_building(building: str, declared: Collection[str]) -> str:
    """The message for a room whose building the site never declared."""
    listed = ", ".join(sorted(declared)) or "none yet"
    return (
        f"building {building!r} is not declared ({_nearest(building, declared)}declared: "
        f"{listed}); fix the row, or declare it with `roomcast provision buildings`"
    )


def _row_problems(row: _Row) -> list[str]:
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
    expected = ", ".join((*COLUMNS, *OPTIONAL))
    problems = [f"1: header lacks column {c!r}" for c in COLUMNS if c not in names]
    problems += [
        f"1: unknown column {n!r} (expected {expected})"
        for n in names
        if n not in COLUMNS + OPTIONAL
    ]
    return problems


def _collect(reader: csv.DictReader[str], known: _Known) -> tuple[RoomRows, list[str]]:
    rows = RoomRows()
    first_seen: dict[str, int] = {}
    problems: list[str] = []
    for row in reader:
        line = reader.line_num
        row_problems = _row_problems(row)
        if not row_problems:
            profile = (row.get("hardware") or "").strip() or None
            row_problems = known.problems(row["building"].strip(), profile)
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
        rows.rooms[room_id] = Room(
            id=room_id,
            building=row["building"].strip(),
            floor=row["floor"].strip(),
            name=row["name"].strip(),
        )
        if profile:
            rows.hardware[room_id] = profile
    return rows, problems
