"""``roomcast provision district user``: the district console's own users file (0600),
district roles only, a generated password shown once or one from stdin, the last district
admin kept, and a file the district service reads back."""

from __future__ import annotations

import io
import stat
from pathlib import Path

import pytest

from district.users import DistrictUsers
from protocol.district_accounts import DistrictRole
from provisioning.cli import main
from provisioning.district import init_district
from provisioning.district_config import NatsNode
from provisioning.district_users import add_user, list_users, users_file
from provisioning.errors import UserError


@pytest.fixture
def district_dir(tmp_path: Path) -> Path:
    node = NatsNode(name="n1", host="127.0.0.1", client_port=1, cluster_port=2, mqtt_port=3)
    return init_district(tmp_path / "district", "metro", [node]).root


def user(district_dir: Path, *argv: str) -> int:
    return main(["provision", "district", "user", *argv, "--district-dir", str(district_dir)])


def test_a_generated_password_is_shown_once_and_verifies_at_the_service(
    district_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert user(district_dir, "add", "kim", "--role", "safety-officer") == 0
    password = capsys.readouterr().out.split("password ")[1].split()[0]
    path = users_file(district_dir)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert password not in path.read_text()
    account = DistrictUsers(path).verify("kim", password)
    assert account is not None and account.role is DistrictRole.SAFETY_OFFICER
    assert DistrictUsers(path).verify("kim", "wrong password!!") is None


def test_roles_a_password_from_stdin_and_the_last_admin(
    district_dir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO("a chosen long password\n"))
    assert user(district_dir, "add", "ann", "--role", "district-admin", "--password-stdin") == 0
    assert "a chosen long password" not in capsys.readouterr().out
    assert DistrictUsers(users_file(district_dir)).verify("ann", "a chosen long password")
    assert user(district_dir, "add", "val", "--role", "viewer") == 0
    assert user(district_dir, "role", "val", "--role", "safety-officer") == 0
    assert list_users(district_dir) == {
        "ann": DistrictRole.ADMIN, "val": DistrictRole.SAFETY_OFFICER,
    }  # fmt: skip
    assert user(district_dir, "remove", "ann") == 2
    assert "'ann' is the last district admin" in capsys.readouterr().err
    assert user(district_dir, "role", "ann", "--role", "viewer") == 2
    assert "last district admin" in capsys.readouterr().err
    assert user(district_dir, "remove", "val") == 0
    assert list(list_users(district_dir)) == ["ann"]


def test_a_school_role_or_a_weak_password_is_refused(district_dir: Path) -> None:
    with pytest.raises(SystemExit):  # argparse: a school's role is not a district role
        user(district_dir, "add", "bob", "--role", "office")
    with pytest.raises(UserError, match="12 to 1024"):
        add_user(district_dir, "bob", "viewer", "short")
    assert user(district_dir, "add", "bob") == 2  # the role must be said
