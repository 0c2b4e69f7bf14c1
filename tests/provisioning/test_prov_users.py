"""Console users: scrypt hashes, verification, roles, and the first admin from init."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest
from prov_helpers import SITE_ID

from protocol.accounts import SCRYPT_N
from provisioning import (
    Role,
    add_user,
    init,
    remove_user,
    set_password,
    set_role,
    verify_password,
)
from provisioning.cli import main
from provisioning.errors import UserError
from provisioning.site import SiteLayout
from provisioning.users import list_users, set_language


def test_init_creates_an_admin_whose_generated_password_verifies(tmp_path: Path) -> None:
    created = init(tmp_path / "site", SITE_ID, ["127.0.0.1"], broker_user=None)
    site = created.layout.root
    assert len(created.admin_password) >= 16
    assert verify_password(site, created.admin_user, created.admin_password) is Role.ADMIN
    assert verify_password(site, created.admin_user, created.admin_password + "x") is None
    stored = created.layout.hub.users.read_text()
    assert created.admin_password not in stored
    assert stat.S_IMODE(created.layout.hub.users.stat().st_mode) == 0o600


def test_hash_format_is_scrypt_with_a_random_salt(site: SiteLayout) -> None:
    add_user(site.root, "ana", "office", "correct horse battery")
    add_user(site.root, "ben", "office", "correct horse battery")
    users = json.loads(site.hub.users.read_text())["users"]
    ana, ben = users["ana"]["scrypt"], users["ben"]["scrypt"]
    assert (ana["n"], ana["r"], ana["p"]) == (SCRYPT_N, 8, 1) == (2**15, 8, 1)
    assert ana["salt"] != ben["salt"] and ana["hash"] != ben["hash"]


def test_roles_passwords_and_removal(site: SiteLayout) -> None:
    generated = add_user(site.root, "sro.jones", Role.RESPONDER)
    assert verify_password(site.root, "sro.jones", generated) is Role.RESPONDER
    add_user(site.root, "front-desk", "viewer", "a long enough password")
    assert verify_password(site.root, "front-desk", "wrong password!!") is None
    assert verify_password(site.root, "nobody", "a long enough password") is None
    set_password(site.root, "front-desk", "a brand new password", role="office")
    assert verify_password(site.root, "front-desk", "a long enough password") is None
    assert verify_password(site.root, "front-desk", "a brand new password") is Role.OFFICE
    assert list_users(site.root) == {
        "admin": Role.ADMIN,
        "front-desk": Role.OFFICE,
        "sro.jones": Role.RESPONDER,
    }
    remove_user(site.root, "front-desk")
    assert verify_password(site.root, "front-desk", "a brand new password") is None


@pytest.mark.parametrize(
    ("name", "role", "password", "message"),
    [
        ("ana", "janitor", "a long enough password", "unknown role 'janitor'"),
        ("ana", "office", "short", "12 to 1024 characters"),
        ("Ana Smith", "office", "a long enough password", "user name 'Ana Smith'"),
        ("admin", "office", "a long enough password", "already exists"),
        ("password1234", "office", "password1234", "must not be the user name"),
    ],
)
def test_bad_user_requests_are_refused(
    site: SiteLayout, name: str, role: str, password: str, message: str
) -> None:
    before = site.hub.users.read_bytes()
    with pytest.raises(UserError, match=message):
        add_user(site.root, name, role, password)
    assert site.hub.users.read_bytes() == before


def test_a_role_change_keeps_the_password(site: SiteLayout) -> None:
    """So the hub keeps the user's sessions open, with the new role's rights."""
    add_user(site.root, "ana", "office", "a long enough password")
    before = json.loads(site.hub.users.read_text())["users"]["ana"]
    set_role(site.root, "ana", "viewer")
    after = json.loads(site.hub.users.read_text())["users"]["ana"]
    assert after["scrypt"] == before["scrypt"] and after["changed_at"] >= before["changed_at"]
    assert verify_password(site.root, "ana", "a long enough password") is Role.VIEWER
    with pytest.raises(UserError, match="unknown role 'janitor'"):
        set_role(site.root, "ana", "janitor")
    with pytest.raises(UserError, match="no user 'ben'"):
        set_role(site.root, "ben", "viewer")


def test_the_last_admin_cannot_be_removed_or_demoted(site: SiteLayout) -> None:
    with pytest.raises(UserError, match="last admin"):
        remove_user(site.root, "admin")
    with pytest.raises(UserError, match="last admin"):
        set_password(site.root, "admin", "a long enough password", role="viewer")
    with pytest.raises(UserError, match="last admin"):
        set_role(site.root, "admin", "office")
    add_user(site.root, "deputy", "admin", "a long enough password")
    remove_user(site.root, "admin")
    assert list_users(site.root) == {"deputy": Role.ADMIN}
    with pytest.raises(UserError, match="no user 'admin'"):
        set_password(site.root, "admin", "a long enough password")


def test_a_users_language_is_set_kept_across_a_new_password_and_checked(
    site: SiteLayout, capsys: pytest.CaptureFixture[str]
) -> None:
    add_user(site.root, "ana", "office", "a long enough password")
    argv = ["provision", "user", "--site-dir", str(site.root), "language", "ana"]
    assert main([*argv, "--language", "es"]) == 0
    assert "ana: console and teacher's page in es" in capsys.readouterr().out
    set_password(site.root, "ana", "another long password")
    assert json.loads(site.hub.users.read_text())["users"]["ana"]["language"] == "es"
    with pytest.raises(UserError, match="language must be one of en, es"):
        set_language(site.root, "ana", "fr")
