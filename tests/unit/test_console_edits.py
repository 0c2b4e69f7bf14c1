"""The hub's view of users: IT's users.json with the console's changes (a real SQLite file in
the state directory) laid over it, by the rules hub.accounts states: users.json's names
and later changes win, console links and languages hold until IT changes the account, a
revoke or removal ends what the console made, and a restart (a new view) keeps it all."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from hub.accounts import FROM_CONSOLE, FROM_FILE, Users
from hub.console_edits import FILE_NAME, ConsoleEdits
from hub.errors import Conflict, Invalid, NotFound
from hub.staff import link_digest
from protocol.accounts import hash_password

ROOMS = {"101", "102", "103"}
HASH = hash_password("correct horse battery staple")


@pytest.fixture
def users_file(tmp_path: Path) -> Path:
    path = tmp_path / "site" / "users.json"
    path.parent.mkdir()
    write(path, {"office": {"role": "office", "scrypt": HASH}})
    return path


def write(path: Path, users: dict[str, Any]) -> None:
    path.write_text(json.dumps({"format": 1, "users": users}), encoding="utf-8")


def view(users_file: Path, tmp_path: Path) -> Users:
    """The hub's view as it starts: a new connection to the state directory's file."""
    return Users(users_file, ConsoleEdits(tmp_path / "state" / FILE_NAME))


def test_a_console_teacher_is_a_teacher_at_once_and_after_a_restart(
    users_file: Path, tmp_path: Path
) -> None:
    users = view(users_file, tmp_path)
    user, token = users.add_teacher(
        user=" Sub@School.example ", name="Sam Sub", rooms=["102"], known_rooms=ROOMS, by="ana"
    )
    assert user == "sub@school.example"
    for hub in (users, view(users_file, tmp_path)):
        account = hub.teachers()[user]
        assert (account.source, account.added_by, account.rooms) == (FROM_CONSOLE, "ana", {"102"})
        assert account.staff is not None and account.staff.link_digest == link_digest(token)
        assert hub.verify(user, "") is None  # no password: the link only
    assert (tmp_path / "state" / FILE_NAME).stat().st_mode & 0o777 == 0o600
    assert json.loads(users_file.read_text())["users"].keys() == {"office"}


def test_a_name_users_json_has_is_refused_and_later_hides_the_console_one(
    users_file: Path, tmp_path: Path
) -> None:
    users = view(users_file, tmp_path)
    with pytest.raises(Conflict, match=r"has an account in the site's users.json \(role office"):
        users.add_teacher(user="office", name="O", rooms=["101"], known_rooms=ROOMS, by="ana")
    with pytest.raises(Invalid, match="unknown: \\['9z'\\]"):
        users.add_teacher(user="dee", name="Dee", rooms=["9z"], known_rooms=ROOMS, by="ana")
    users.add_teacher(user="cy", name="Cy", rooms=["101"], known_rooms=ROOMS, by="ana")
    with pytest.raises(Conflict, match="already added in the console"):
        users.add_teacher(user="cy", name="Cy", rooms=["101"], known_rooms=ROOMS, by="ana")
    before = users.teachers()["cy"].credential
    viewer = {"role": "viewer", "scrypt": HASH}
    write(users_file, {"office": {"role": "office", "scrypt": HASH}, "cy": viewer})
    account = users.account("cy")
    assert account is not None and account.source == FROM_FILE and account.role == "viewer"
    assert account.credential != before  # the console teacher's sessions end
    assert users.hidden_console_teachers() == ["cy"]
    assert users.remove("cy") is False  # the hidden one goes; users.json's stays
    assert users.hidden_console_teachers() == [] and users.account("cy") is not None


def test_a_console_link_holds_until_it_makes_a_new_one(users_file: Path, tmp_path: Path) -> None:
    teacher = {"role": "teacher", "scrypt": HASH, "rooms": ["103"]}
    file_link = {"digest": link_digest("from-it-1"), "expires_at": 2e9}
    write(users_file, {"ben": teacher | {"link": file_link}})
    users = view(users_file, tmp_path)
    token = users.new_link("ben", by="ana")
    staff = users.teachers()["ben"].staff
    assert staff is not None and staff.link_digest == link_digest(token)
    assert view(users_file, tmp_path).teachers()["ben"].staff == staff  # after a restart
    newer = {"digest": link_digest("from-it-2"), "expires_at": 2e9}
    write(users_file, {"ben": teacher | {"link": newer}})  # `provision staff link`, later
    staff = users.teachers()["ben"].staff
    assert staff is not None and staff.link_digest == newer["digest"]
    write(users_file, {"ben": teacher | {"link": file_link}})  # the old one does not return
    staff = users.teachers()["ben"].staff
    assert staff is not None and staff.link_digest == file_link["digest"]
    with pytest.raises(NotFound):
        users.new_link("nobody", by="ana")


def test_a_revoke_withdraws_the_link_and_a_console_teacher_gets_a_new_epoch(
    users_file: Path, tmp_path: Path
) -> None:
    file_link = {"digest": link_digest("from-it"), "expires_at": 2e9}
    ben = {"role": "teacher", "scrypt": HASH, "rooms": ["103"], "link": file_link}
    write(users_file, {"office": {"role": "office", "scrypt": HASH}, "ben": ben})
    users = view(users_file, tmp_path)
    users.revoke("ben", by="ana")
    staff = users.teachers()["ben"].staff
    assert staff is not None and staff.link_digest == ""
    users.add_teacher(user="cy", name="Cy", rooms=["101"], known_rooms=ROOMS, by="ana")
    before = users.teachers()["cy"]
    users.revoke("cy", by="ana")
    after = users.teachers()["cy"]
    assert after.credential != before.credential and after.factor_epoch != before.factor_epoch
    assert after.staff is not None and after.staff.link_digest == ""
    with pytest.raises(NotFound):
        users.revoke("office", by="ana")  # not a teacher


def test_removing_works_for_console_teachers_only(users_file: Path, tmp_path: Path) -> None:
    write(users_file, {"ben": {"role": "teacher", "scrypt": HASH, "rooms": ["103"]}})
    users = view(users_file, tmp_path)
    users.add_teacher(user="cy", name="Cy", rooms=["101"], known_rooms=ROOMS, by="ana")
    users.choose_language("cy", "es")
    assert users.remove("cy") is True
    assert users.account("cy") is None
    users.add_teacher(user="cy", name="Cy", rooms=["101"], known_rooms=ROOMS, by="ana")
    account = users.account("cy")
    assert account is not None and account.language == "en"  # nothing of the removed one
    with pytest.raises(Conflict, match="roomcast provision user remove ben"):
        users.remove("ben")
    with pytest.raises(NotFound):
        users.remove("nobody")


def test_a_language_choice_holds_until_it_sets_the_language(
    users_file: Path, tmp_path: Path
) -> None:
    office = {"role": "office", "scrypt": HASH}
    users = view(users_file, tmp_path)
    users.choose_language("office", "es")
    other = view(users_file, tmp_path)  # another connection sees it (and after a restart)
    for hub in (users, other):
        account = hub.account("office")
        assert account is not None and account.language == "es"
    write(users_file, {"office": office | {"language": "en", "language_set_at": "t1"}})
    account = users.account("office")
    assert account is not None and account.language == "en"  # IT, later: wins
    users.choose_language("office", "es")
    account = users.account("office")
    assert account is not None and account.language == "es"
    with pytest.raises(Invalid, match="one of en, es"):
        users.choose_language("office", "fr")
    with pytest.raises(NotFound):
        users.choose_language("nobody", "es")
