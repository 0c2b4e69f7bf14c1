"""The rooms sheet as IT really saves it (encodings), declared buildings, hardware profiles
in bundles and across rotation, and the command's counts instead of walls of ids."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from bundle_helpers import config_of, read_members

from provisioning import import_rooms, issue_all, issue_device, rotate
from provisioning.cli import main
from provisioning.errors import DeviceError, ProfileError, RoomImportError
from provisioning.install import install
from provisioning.profiles import EXAMPLES
from provisioning.rooms import declare_buildings
from provisioning.site import SiteLayout, open_site

HEADER = "building,floor,room,name,hardware\n"


def _write(tmp_path: Path, data: bytes) -> Path:
    path = tmp_path / "rooms.csv"
    path.write_bytes(data)
    return path


def test_a_windows_1252_sheet_is_refused_with_its_line_and_the_fix(
    site: SiteLayout, tmp_path: Path
) -> None:
    text = HEADER + "main,1,101,Science Lab,oled-4button\nmain,1,102,Café,oled-4button\n"
    before = site.inventory.read_bytes()
    with pytest.raises(RoomImportError) as caught:
        import_rooms(site.root, _write(tmp_path, text.encode("cp1252")))
    message = str(caught.value)
    assert "rooms.csv:3: not UTF-8 (byte 0xe9 at column 15)" in message
    assert "'main,1,102,Café,oled-4button'" in message  # what the line says in Windows-1252
    assert '"CSV UTF-8 (Comma delimited) (*.csv)"' in message
    assert "line 0" not in message and "position" not in message
    assert site.inventory.read_bytes() == before


def test_utf8_with_bom_is_read_and_utf16_is_refused(site: SiteLayout, tmp_path: Path) -> None:
    text = HEADER + "main,1,101,Café,oled-4button\nmain,1,102,Art,oled-4button\n"
    text += "annex,0,gym,Gymnasium,sign-and-strobe\n"
    changes = import_rooms(site.root, _write(tmp_path, "\ufeff".encode() + text.encode()))
    assert changes.updated == ("101",)
    assert open_site(site.root)[1].rooms["101"].name == "Café"
    with pytest.raises(RoomImportError, match=r"rooms.csv:1: the file is UTF-16"):
        import_rooms(site.root, _write(tmp_path, text.encode("utf-16")))


def test_a_misspelt_building_is_refused_with_its_line_and_a_suggestion(
    site: SiteLayout, tmp_path: Path
) -> None:
    text = HEADER + "main,1,101,Lab,oled-4button\nmian,1,102,Art,oled-4button\n"
    before = site.inventory.read_bytes()
    with pytest.raises(RoomImportError) as caught:
        import_rooms(site.root, _write(tmp_path, text.encode()))
    assert "rooms.csv:3: building 'mian' is not declared (did you mean 'main'?" in str(caught.value)
    assert "roomcast provision buildings" in str(caught.value)
    assert site.inventory.read_bytes() == before
    assert declare_buildings(site.root, ["mian", "main"]) == ("mian",)
    assert "mian" in open_site(site.root)[1].buildings
    assert import_rooms(site.root, _write(tmp_path, text.encode())).changed


def test_an_unknown_profile_is_refused_with_its_line(site: SiteLayout, tmp_path: Path) -> None:
    text = HEADER + "main,1,101,Lab,oled-4buton\n"
    with pytest.raises(RoomImportError, match=r"rooms.csv:2: hardware profile 'oled-4buton' .*"
                       r"did you mean 'oled-4button'"):  # fmt: skip
        import_rooms(site.root, _write(tmp_path, text.encode()))


def test_a_bundle_carries_its_rooms_hardware_and_rotation_keeps_it(
    site: SiteLayout, tmp_path: Path
) -> None:
    bundle = issue_device(site.root, "gym")
    config = config_of(read_members(bundle))
    assert config["hardware"] == EXAMPLES["sign-and-strobe"]
    node = install(bundle, tmp_path / "node")
    assert json.loads(node.config.read_text())["hardware"] == EXAMPLES["sign-and-strobe"]
    later = datetime.now(UTC) + timedelta(days=800)
    rotated = rotate(site.root, now=later).devices[node.device_id]
    install(rotated, tmp_path / "node")
    assert json.loads(node.config.read_text())["hardware"] == EXAMPLES["sign-and-strobe"]


def test_a_room_without_a_profile_gets_no_bundle(site: SiteLayout, tmp_path: Path) -> None:
    text = "building,floor,room,name\nmain,1,101,Lab\n"
    import_rooms(site.root, _write(tmp_path, text.encode()))
    with pytest.raises(DeviceError, match=r"room '101' has no hardware profile.*`hardware` column"):
        issue_device(site.root, "101")
    assert not list(site.bundles_dir.iterdir())


def test_a_broken_profile_is_refused_with_its_file_and_key(
    site: SiteLayout, tmp_path: Path
) -> None:
    profile = site.root / "profiles" / "oled-4button.json"
    section = json.loads(profile.read_text())
    section["buttons"][0]["pin"] = 3  # the display's SCL
    profile.write_text(json.dumps(section))
    with pytest.raises(ProfileError, match=r"oled-4button.json: hardware.buttons\[0\].pin"):
        issue_device(site.root, "101")


def test_the_commands_print_counts_not_walls_of_ids(
    site: SiteLayout, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rows = "".join(f"main,1,{100 + n},Room {n},oled-4button\n" for n in range(1, 13))
    csv = _write(tmp_path, (HEADER + rows).encode())
    assert main(["provision", "rooms", "--site-dir", str(site.root), str(csv)]) == 0
    out = capsys.readouterr().out
    assert "added 10 rooms: 103, 104, 105, 106, 107, ... and 5 more" in out
    assert "updated 2 rooms: 101, 102" in out and "removed 1 room: gym" in out
    assert main(["provision", "device", "--site-dir", str(site.root), "--all"]) == 0
    out = capsys.readouterr().out
    assert "issued 12 bundles: lincoln-rc-101-" in out and "... and 7 more in " in out
    assert len(out.splitlines()) == 3  # the count, the CA fingerprint, the reload hint
    assert main(["provision", "rooms", "--site-dir", str(site.root), str(csv)]) == 0
    assert "nothing changed" in capsys.readouterr().out
    assert main(["provision", "buildings", "--site-dir", str(site.root)]) == 0
    assert "the site has 2 buildings: annex, main" in capsys.readouterr().out


def test_issue_all_refuses_every_room_before_writing_any_key(
    site: SiteLayout, tmp_path: Path
) -> None:
    """One room without a profile among several: nothing issued, not the rooms before it."""
    text = "building,floor,room,name,hardware\nmain,1,101,Lab,oled-4button\nmain,1,102,Art,\n"
    import_rooms(site.root, _write(tmp_path, text.encode()))
    with pytest.raises(DeviceError, match=r"nothing issued: room '102' has no hardware profile"):
        issue_all(site.root)
    assert not list(site.bundles_dir.iterdir())
    assert not list(site.devices_dir.iterdir())
