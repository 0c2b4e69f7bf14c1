"""The district console's users: ``<district-dir>/users.json`` (0600), names, district
roles and scrypt password hashes, written the way a school's users file is
(provisioning.users: the same password rules, generator and writer).

No default passwords: a new user gets a generated password shown once, or one read from
standard input. The district service re-reads the file when it changes: a removed user or
a changed password ends that user's sessions at their next request.
"""

from __future__ import annotations

import fcntl
import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from protocol.accounts import hash_password
from protocol.district_accounts import DistrictRole
from protocol.factors import otpauth_uri
from provisioning.district import open_district
from provisioning.errors import UserError
from provisioning.second_factor import Enrolled, set_new_totp
from provisioning.users import _check_new, generate_password, load_users, now_text, save_users

USERS_FILE = "users.json"


def users_file(district_dir: Path | str) -> Path:
    """Where the district service reads its console users."""
    return Path(district_dir) / USERS_FILE


def _role(value: str) -> DistrictRole:
    try:
        return DistrictRole(value)
    except ValueError:
        roles = ", ".join(r.value for r in DistrictRole)
        raise UserError(f"unknown district role {value!r}; choose one of: {roles}") from None


@contextmanager
def _editing(district_dir: Path | str) -> Iterator[tuple[Path, dict[str, dict[str, Any]]]]:
    """The users table under a lock (two IT staff at once), written back 0600 on success."""
    layout, _ = open_district(district_dir)  # a district must exist: names it if not
    path = users_file(layout.root)
    fd = os.open(layout.root / ".users.lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        users = load_users(path, roles=DistrictRole)
        yield path, users
        save_users(path, users)  # 0600
    finally:
        os.close(fd)


def _record(role: DistrictRole, password: str) -> dict[str, Any]:
    return {"role": role.value, "scrypt": hash_password(password), "changed_at": now_text()}


def _existing(users: dict[str, dict[str, Any]], name: str, path: Path) -> dict[str, Any]:
    if name not in users:
        raise UserError(f"no district user {name!r} in {path}; `user add` creates one")
    return users[name]


def _keep_an_admin(users: dict[str, dict[str, Any]], name: str, path: Path) -> None:
    admin = DistrictRole.ADMIN.value
    if users.get(name, {}).get("role") == admin and not any(
        u["role"] == admin for n, u in users.items() if n != name
    ):
        raise UserError(f"{name!r} is the last district admin in {path}; add another first")


def add_user(district_dir: Path | str, name: str, role: str, password: str | None = None) -> str:
    """Add a district user; returns the password (generated when none is given)."""
    password = password or generate_password()
    _check_new(name, password)
    new_role = _role(role)
    with _editing(district_dir) as (path, users):
        if name in users:
            raise UserError(f"user {name!r} already exists in {path}; use `user passwd`")
        users[name] = _record(new_role, password)
    return password


def set_password(
    district_dir: Path | str, name: str, password: str | None = None, role: str | None = None
) -> str:
    """A new password (and role, if given); the user's open sessions end."""
    password = password or generate_password()
    _check_new(name, password)
    with _editing(district_dir) as (path, users):
        old = _existing(users, name, path)
        new_role = _role(role) if role is not None else DistrictRole(old["role"])
        if new_role is not DistrictRole.ADMIN:
            _keep_an_admin(users, name, path)
        kept = {key: old[key] for key in _KEPT if key in old}  # the factor is its own thing
        users[name] = _record(new_role, password) | kept
    return password


_KEPT = ("totp", "factor_epoch")


def set_role(district_dir: Path | str, name: str, role: str) -> None:
    """A new role, the same password; open sessions have it at their next request."""
    new_role = _role(role)
    with _editing(district_dir) as (path, users):
        old = _existing(users, name, path)
        if new_role is not DistrictRole.ADMIN:
            _keep_an_admin(users, name, path)
        users[name] = old | {"role": new_role.value, "changed_at": now_text()}


def remove_user(district_dir: Path | str, name: str) -> None:
    with _editing(district_dir) as (path, users):
        _existing(users, name, path)
        _keep_an_admin(users, name, path)
        del users[name]


def list_users(district_dir: Path | str) -> dict[str, DistrictRole]:
    layout, _ = open_district(district_dir)
    users = load_users(users_file(layout.root), roles=DistrictRole)
    return {name: DistrictRole(u["role"]) for name, u in sorted(users.items())}


def enrol_totp(district_dir: Path | str, name: str) -> Enrolled:
    """Give ``name`` a new TOTP secret and ten recovery codes (digests only are stored) and
    a new ``factor_epoch``: the old codes, a console enrolment and open sessions end."""
    with _editing(district_dir) as (path, users):
        secret, codes = set_new_totp(_existing(users, name, path), name)
    district = open_district(district_dir)[1].district
    uri = otpauth_uri(secret, name, f"district {district}")
    return Enrolled(user=name, secret=secret, uri=uri, recovery_codes=tuple(codes))


def clear_totp(district_dir: Path | str, name: str) -> None:
    """Remove the user's second factor (a new epoch too): their sessions end, and a role
    that needs one sets up a new one at the next console login."""
    with _editing(district_dir) as (path, users):
        record = _existing(users, name, path)
        record.pop("totp", None)
        record["factor_epoch"] = secrets.token_hex(8)
