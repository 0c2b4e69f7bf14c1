"""Console users of the hub: names, roles, and scrypt password hashes.

No default passwords: ``init`` creates the first admin with a generated password that is
shown once. Hashes use scrypt (memory-hard, in the standard library) with a random salt per
user; verification compares in constant time and does the same work for an unknown name,
so response time does not reveal which names exist.
"""

from __future__ import annotations

import json
import re
import secrets
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any

from protocol import accounts
from protocol.accounts import Role, hash_password
from provisioning.errors import InventoryError, UserError
from provisioning.fsutil import Owner, write_json
from provisioning.site import SiteLayout, hub_owner, locked, open_site

USERS_FORMAT = 1
MIN_PASSWORD = 12
_NAME = re.compile(r"^[a-z0-9][a-z0-9_.@-]{0,63}$")


def check_password(stored: dict[str, Any], password: str) -> bool:
    """Constant-time comparison of ``password`` against a stored hash."""
    try:
        return accounts.check_password(stored, password)
    except accounts.BadHash as error:
        raise InventoryError(str(error)) from None


_DUMMY = dict(accounts.DUMMY_HASH)


def generate_password() -> str:
    """A random password of about 128 bits, typeable from a printout."""
    return secrets.token_urlsafe(16)


def _check_new(name: str, password: str) -> None:
    if not _NAME.match(name):
        raise UserError(
            f"user name {name!r} must be 1-64 characters of a-z, 0-9, '_', '.', '@' or '-', "
            "starting with a letter or digit"
        )
    if len(password) < MIN_PASSWORD or len(password) > 1024:
        raise UserError(f"a password needs {MIN_PASSWORD} to 1024 characters")
    if password.lower() == name.lower():
        raise UserError("a password must not be the user name")


def _role(value: str) -> Role:
    try:
        return Role(value)
    except ValueError:
        roles = ", ".join(r.value for r in Role)
        raise UserError(f"unknown role {value!r}; choose one of: {roles}") from None


def load_users(path: Path, *, roles: type[StrEnum] = Role) -> dict[str, dict[str, Any]]:
    """The users table keyed by name; a damaged file names itself. ``roles``: the roles a
    user may have (a school's; the district's own for its console's users file)."""
    if not path.exists():
        return {}
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
        if raw.get("format") != USERS_FORMAT:
            raise ValueError(f"unknown format {raw.get('format')!r}")
        users: dict[str, dict[str, Any]] = raw["users"]
        for record in users.values():
            roles(record["role"])
        return users
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise InventoryError(f"{path} is damaged ({exc}); restore it from backup") from exc


def save_users(path: Path, users: dict[str, dict[str, Any]], owner: Owner = None) -> None:
    """Write the users file (0600, ``owner``: the hub's user, which must read it)."""
    write_json(path, {"format": USERS_FORMAT, "users": users}, private=True, owner=owner)


def now_text() -> str:
    return datetime.now(UTC).isoformat()


def _record(role: Role, password: str) -> dict[str, Any]:
    return {"role": role.value, "scrypt": hash_password(password), "changed_at": now_text()}


_KEPT = ("totp", "factor_epoch", "rooms", "name", "language", "language_set_at")
"""What a new password keeps: the second factor is a separate thing to have."""


def create_first_admin(path: Path, name: str = "admin", owner: Owner = None) -> str:
    """Write a users file holding one admin with a fresh password; return that password."""
    password = generate_password()
    _check_new(name, password)
    save_users(path, {name: _record(Role.ADMIN, password)}, owner)
    return password


def _users_path(site_dir: Path | str) -> tuple[SiteLayout, Path, Owner]:
    layout, inventory = open_site(site_dir)
    return layout, layout.hub.users, hub_owner(inventory)


def add_user(site_dir: Path | str, name: str, role: Role | str, password: str | None = None) -> str:
    """Add a console user; returns the password (generated when none is given)."""
    layout, path, owner = _users_path(site_dir)
    password = password or generate_password()
    _check_new(name, password)
    with locked(layout):
        users = load_users(path)
        if name in users:
            raise UserError(f"user {name!r} already exists in {path}; use `user passwd` instead")
        users[name] = _record(_role(str(role)), password)
        save_users(path, users, owner)
    return password


def set_password(
    site_dir: Path | str, name: str, password: str | None = None, role: Role | str | None = None
) -> str:
    """Change a user's password (and role, if given); returns the new password.

    The hub ends the user's open sessions at their next request.
    """
    layout, path, owner = _users_path(site_dir)
    password = password or generate_password()
    _check_new(name, password)
    with locked(layout):
        users = load_users(path)
        old = _existing(users, name, path)
        new_role = _role(str(role)) if role is not None else Role(old["role"])
        if old["role"] == Role.ADMIN and new_role is not Role.ADMIN:
            _keep_an_admin(users, name, path)
        kept = {key: old[key] for key in _KEPT if key in old}
        users[name] = kept | _record(new_role, password)
        save_users(path, users, owner)
    return password


def set_role(site_dir: Path | str, name: str, role: Role | str) -> None:
    """Change a user's role and keep the password; open sessions get the new role at once."""
    layout, path, owner = _users_path(site_dir)
    new_role = _role(str(role))
    with locked(layout):
        users = load_users(path)
        old = _existing(users, name, path)
        if old["role"] == Role.ADMIN and new_role is not Role.ADMIN:
            _keep_an_admin(users, name, path)
        users[name] = old | {"role": new_role.value, "changed_at": now_text()}
        save_users(path, users, owner)


def set_language(site_dir: Path | str, name: str, language: str) -> None:
    """The user's language on the console and the teacher's page (the hub: at once)."""
    if language not in accounts.CONSOLE_LANGUAGES:
        raise UserError(f"language must be one of {', '.join(accounts.CONSOLE_LANGUAGES)}")
    layout, path, owner = _users_path(site_dir)
    with locked(layout):
        users = load_users(path)
        # The stamp tells the hub that IT set it now: it replaces the user's own choice.
        _existing(users, name, path).update(language=language, language_set_at=now_text())
        save_users(path, users, owner)


def remove_user(site_dir: Path | str, name: str) -> None:
    """Remove a user; the last admin cannot be removed (nobody could manage users then).

    The hub ends the user's open sessions at their next request.
    """
    layout, path, owner = _users_path(site_dir)
    with locked(layout):
        users = load_users(path)
        if _existing(users, name, path)["role"] == Role.ADMIN:
            _keep_an_admin(users, name, path)
        del users[name]
        save_users(path, users, owner)


def _existing(users: dict[str, dict[str, Any]], name: str, path: Path) -> dict[str, Any]:
    if name not in users:
        raise UserError(f"no user {name!r} in {path}; `user add` creates one")
    return users[name]


def _keep_an_admin(users: dict[str, dict[str, Any]], name: str, path: Path) -> None:
    if not any(u["role"] == Role.ADMIN for n, u in users.items() if n != name):
        raise UserError(f"{name!r} is the last admin in {path}; add another admin first")


def list_users(site_dir: Path | str) -> dict[str, Role]:
    _, path, _ = _users_path(site_dir)
    return {name: Role(u["role"]) for name, u in sorted(load_users(path).items())}


def verify_password(site_dir: Path | str, name: str, password: str) -> Role | None:
    """The user's role if ``password`` is right, else None (unknown user included)."""
    _, path, _ = _users_path(site_dir)
    record = load_users(path).get(name)
    if record is None:
        check_password(_DUMMY, password)  # same cost as a real check
        return None
    return Role(record["role"]) if check_password(record["scrypt"], password) else None
