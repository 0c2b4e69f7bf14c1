"""Room CSV import: line-numbered errors that change nothing, idempotent re-import."""

from __future__ import annotations

from pathlib import Path

import pytest

from protocol.inventory import Room
from provisioning import import_rooms, issue_device
from provisioning.errors import RoomImportError
from provisioning.site import SiteLayout, open_site

GOOD = """building,floor,room,name,hardware
main,1,101,Science Lab,oled-4button
main,1,102,Art,oled-4button
annex,0,gym,Gymnasium,sign-and-strobe
"""


def _csv(tmp_path: Path, text: str, name: str = "rooms.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_reimporting_the_same_csv_changes_nothing(site: SiteLayout, tmp_path: Path) -> None:
    changes = import_rooms(site.root, _csv(tmp_path, GOOD))
    assert not changes.changed  # the fixture's rooms are exactly these
    before = site.inventory.read_bytes()
    assert not import_rooms(site.root, _csv(tmp_path, GOOD)).changed
    assert site.inventory.read_bytes() == before


def test_import_reports_added_updated_removed(site: SiteLayout, tmp_path: Path) -> None:
    edited = """building,floor,room,name,hardware
main,1,101,Chemistry Lab,oled-4button
annex,0,gym,Gymnasium,sign-and-strobe
annex,2,201,Library,oled-4button
"""
    changes = import_rooms(site.root, _csv(tmp_path, edited))
    assert (changes.added, changes.updated, changes.removed) == (("201",), ("101",), ("102",))
    rooms = open_site(site.root)[1].rooms
    assert rooms["101"] == Room(id="101", building="main", floor="1", name="Chemistry Lab")
    assert set(rooms) == {"101", "201", "gym"}
    assert not import_rooms(site.root, _csv(tmp_path, edited)).changed


def test_header_order_whitespace_and_excel_bom_are_accepted(
    site: SiteLayout, tmp_path: Path
) -> None:
    text = (
        "\ufeffroom, name ,building,floor, hardware\n101, Science Lab ,main,1,oled-4button\n"
        "102,Art,main,1,oled-4button\ngym,Gymnasium,annex,0,sign-and-strobe\n"
    )
    assert not import_rooms(site.root, _csv(tmp_path, text)).changed


def test_every_bad_row_is_reported_with_its_line_and_nothing_changes(
    site: SiteLayout, tmp_path: Path
) -> None:
    bad = """building,floor,room,name
main,1,101,Science Lab
main,1,Room 7,Music
,1,103,Drama
main,1,101,Again
main,1,104,
main,1,105,Extra,field
"""
    before = site.inventory.read_bytes()
    with pytest.raises(RoomImportError) as caught:
        import_rooms(site.root, _csv(tmp_path, bad))
    message = str(caught.value)
    assert "rooms.csv:3: room id 'Room 7'" in message
    assert "rooms.csv:4: building id ''" in message
    assert "rooms.csv:5: room '101' is already listed on line 2" in message
    assert "rooms.csv:6: name must be 1-100 characters" in message
    assert "rooms.csv:7: more fields than the header has columns" in message
    assert len(caught.value.problems) == 5
    assert "nothing was imported" in message
    assert site.inventory.read_bytes() == before


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", "1: the file is empty"),
        ("building,room,name\nmain,101,Lab\n", "1: header lacks column 'floor'"),
        ("building,floor,room,name,colour\n", "1: unknown column 'colour'"),
        ("building,floor,room,name\n", "2: no rooms listed"),
        ("main,1,101,Science Lab\n", "1: header lacks column 'building'"),
    ],
)
def test_header_problems(site: SiteLayout, tmp_path: Path, text: str, expected: str) -> None:
    before = site.inventory.read_bytes()
    with pytest.raises(RoomImportError, match=expected):
        import_rooms(site.root, _csv(tmp_path, text))
    assert site.inventory.read_bytes() == before


def test_a_room_with_an_active_device_cannot_be_removed(site: SiteLayout, tmp_path: Path) -> None:
    issue_device(site.root, "102")
    before = site.inventory.read_bytes()
    without_102 = "building,floor,room,name\nmain,1,101,Science Lab\nannex,0,gym,Gymnasium\n"
    with pytest.raises(RoomImportError, match=r"device rc-102-[0-9a-f]{4} is still active"):
        import_rooms(site.root, _csv(tmp_path, without_102))
    assert site.inventory.read_bytes() == before


def test_renaming_an_equipped_room_flags_its_stale_bundle(site: SiteLayout, tmp_path: Path) -> None:
    bundle = issue_device(site.root, "101")
    changes = import_rooms(site.root, _csv(tmp_path, GOOD.replace("Science Lab", "Physics")))
    assert changes.updated == ("101",)
    assert len(changes.stale_devices) == 1
    assert bundle.name.endswith(f"{changes.stale_devices[0]}.tar.gz")


def test_unreadable_csv_is_reported(site: SiteLayout, tmp_path: Path) -> None:
    with pytest.raises(RoomImportError, match="cannot read the file"):
        import_rooms(site.root, tmp_path / "missing.csv")
    binary = tmp_path / "rooms.xlsx"
    binary.write_bytes(b"PK\x03\x04\xff\xfe\x00binary")
    with pytest.raises(RoomImportError):
        import_rooms(site.root, binary)
