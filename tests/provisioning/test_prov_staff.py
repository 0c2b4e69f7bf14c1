"""Teachers from the staff CSV: every bad row reported with its line and the fix, nothing
half-applied; one-time links stored as digests; re-import keeps passwords; revoke."""

from __future__ import annotations

import hashlib
import json
import stat
from pathlib import Path

import pytest

from provisioning import add_user, verify_password
from provisioning.cli import main
from provisioning.errors import RoomImportError
from provisioning.site import SiteLayout
from provisioning.staff import enrolment_sheet, import_staff, new_link, revoke
from provisioning.users import set_password

PASSWORD = "correct horse battery staple"


def write_csv(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "staff.csv"
    path.write_text(text, encoding="utf-8")
    return path


def users(site: SiteLayout) -> dict[str, dict[str, object]]:
    data: dict[str, dict[str, object]] = json.loads(site.hub.users.read_text())["users"]
    return data


def test_every_bad_row_is_reported_with_its_line_and_nothing_is_written(
    site: SiteLayout, tmp_path: Path
) -> None:
    add_user(site.root, "boss@school.example", "office", PASSWORD)
    before = site.hub.users.read_bytes()
    sheet = write_csv(
        tmp_path,
        "name,email,rooms\n"
        "Ana Lima,ana@school.example,101;102\n"  # good, and still not written
        "Ben Ode,ben@school.example,1O1\n"
        "Cy Roe,ana@school.example,102\n"
        ",dee@school.example,gym\n"
        "Eve Tan,Eve Tan,gym\n"
        "Fay Ng,fay@school.example,\n"
        "Boss,boss@school.example,101\n",
    )
    with pytest.raises(RoomImportError) as raised:
        import_staff(site.root, sheet)
    problems = raised.value.problems
    assert problems == (
        "3: room '1o1' is not in the site's inventory (did you mean 101?)",
        "4: ana@school.example is also on line 2; one row per teacher",
        "5: the name is empty; write the teacher's name",
        "6: user name 'eve tan' must be 1-64 characters of a-z, 0-9, '_', '.', '@' or '-', "
        "starting with a letter or digit",
        "7: no rooms; list the teacher's rooms separated by ';' (101;102)",
        "8: boss@school.example is already a console user (office); give the teacher another "
        "user name",
    )
    assert "nothing was imported" in str(raised.value)
    assert site.hub.users.read_bytes() == before


def test_a_header_without_the_columns_says_which(site: SiteLayout, tmp_path: Path) -> None:
    with pytest.raises(RoomImportError) as raised:
        import_staff(site.root, write_csv(tmp_path, "teacher,room\nAna,101\n"))
    assert raised.value.problems == (
        "1: the header lacks name, rooms, username or email; the columns are name, "
        "username (or email) and rooms",
    )


def test_new_teachers_get_a_one_time_link_and_a_reimport_keeps_their_password(
    site: SiteLayout, tmp_path: Path
) -> None:
    sheet = write_csv(tmp_path, "name,username,rooms\nAna Lima,ana,101; 102\n")
    done = import_staff(site.root, sheet)
    (link,) = done.added
    record = users(site)["ana"]
    assert (record["role"], record["rooms"], record["name"]) == (
        "teacher",
        ["101", "102"],
        "Ana Lima",
    )
    assert record["link"]["digest"] == hashlib.sha256(link.token.encode()).hexdigest()  # type: ignore[index]
    assert link.token not in site.hub.users.read_text()
    set_password(site.root, "ana", PASSWORD)
    again = import_staff(site.root, write_csv(tmp_path, "name,username,rooms\nAna L.,ana,gym\n"))
    assert (again.added, again.updated) == ([], ["ana"])
    assert verify_password(site.root, "ana", PASSWORD) is not None
    assert (users(site)["ana"]["rooms"], users(site)["ana"]["name"]) == (["gym"], "Ana L.")
    fresh = new_link(site.root, "ana")
    assert fresh.token != link.token
    page = enrolment_sheet([fresh], "https://hub.example", "lincoln")
    assert "<svg" in page and "Ana L." in page
    revoke(site.root, "ana")
    assert "link" not in users(site)["ana"]
    assert users(site)["ana"]["factor_epoch"]


def test_the_command_writes_a_private_sheet_of_links(site: SiteLayout, tmp_path: Path) -> None:
    sheet = write_csv(tmp_path, "name,email,rooms\nAna Lima,ana@school.example,101\n")
    out = tmp_path / "enrol.html"
    argv = ["provision", "staff", "--site-dir", str(site.root), "import", str(sheet)]
    assert main([*argv, "--hub-url", "https://hub.example", "--sheet", str(out)]) == 0
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    text = out.read_text()
    assert text.count("<svg") == 1 and "User name: ana@school.example" in text
    bad = write_csv(tmp_path, "name,email,rooms\nBen,ben@school.example,nowhere\n")
    assert main(["provision", "staff", "--site-dir", str(site.root), "import", str(bad)]) == 2
    assert main([*argv[:4], "import", str(bad), "--hub-url", "https://hub.example"]) == 2
    assert "ben@school.example" not in site.hub.users.read_text()  # refused, nothing written
