"""Who may do what at the district console: its users file, roles and permissions.

The users and their scrypt hashes live in the district's own ``users.json`` (0600, written
by ``roomcast provision district user``); it is re-read when it changes, so adding or
removing a user needs no restart. A user's second factor set up by IT (``roomcast
provision district user totp``) is in the same file: the secret and the recovery codes'
digests (district.console.factors checks them). A school's users never log in here, nor
the reverse.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

from protocol.accounts import DUMMY_HASH, BadHash, check_password
from protocol.district_accounts import DISTRICT_USERS_FORMAT, DistrictRole
from protocol.factors import Enrolment, valid_digest, valid_secret
from transport.settings import ConfigError, Settings

log = logging.getLogger(__name__)


class Permission(StrEnum):
    READ = "read the board"
    SEND = "send district directives"
    CONTROL = "take control of the console"
    AUDIT = "read the audit log"
    GROUPS = "manage groups of schools"


GRANTS: Mapping[DistrictRole, frozenset[Permission]] = {
    DistrictRole.ADMIN: frozenset(Permission),
    DistrictRole.SAFETY_OFFICER: frozenset({Permission.READ, Permission.SEND, Permission.CONTROL}),
    DistrictRole.VIEWER: frozenset({Permission.READ}),
}
"""Viewers read; safety officers also send directives and take control to do it; the
district admin also reads the audit log and manages the named groups of schools."""


@dataclass(frozen=True)
class DistrictAccount:
    role: DistrictRole
    scrypt: Mapping[str, Any]
    totp: Enrolment | None = None
    """A second factor enrolled by IT (``roomcast provision district user totp``)."""
    factor_epoch: str = ""
    """New at every enrolment or reset by IT: a console enrolment made under another epoch
    no longer counts (hub.second_factor), and the sessions made before it end."""

    @property
    def credential(self) -> str:
        """Names the current password (every new one has a new salt) and second-factor
        epoch, so a session made under older ones can tell; without the salt this digest
        helps nobody guess."""
        named = dict(self.scrypt) | (
            {"factor_epoch": self.factor_epoch} if self.factor_epoch else {}
        )
        canonical = json.dumps(named, sort_keys=True).encode()
        return hashlib.sha256(canonical).hexdigest()[:16]


def load_accounts(path: Path) -> dict[str, DistrictAccount]:
    """Read and check the district's users file; a problem names the file and key."""
    hint = "create users with `roomcast provision district user add`"
    settings = Settings.load(path, missing_hint=hint)
    if settings.get("format", int) != DISTRICT_USERS_FORMAT:
        raise settings.fail("format", f"must be {DISTRICT_USERS_FORMAT} ({hint})")
    accounts = {}
    for name, record in settings.get("users", dict).items():
        key = f"users.{name}"
        if not isinstance(record, dict):
            raise settings.fail(key, "must be an object")
        try:
            role = DistrictRole(str(record.get("role")))
        except ValueError:
            roles = ", ".join(r.value for r in DistrictRole)
            raise settings.fail(f"{key}.role", f"must be one of {roles}") from None
        scrypt = record.get("scrypt")
        if not isinstance(scrypt, dict):
            raise settings.fail(f"{key}.scrypt", "missing or not an object")
        epoch = record.get("factor_epoch", "")
        if not isinstance(epoch, str):
            raise settings.fail(f"{key}.factor_epoch", "must be a string")
        totp = _enrolment(settings, f"{key}.totp", record.get("totp"))
        accounts[name] = DistrictAccount(
            role=role, scrypt=dict(scrypt), totp=totp, factor_epoch=epoch
        )
    return accounts


def _enrolment(settings: Settings, key: str, record: Any) -> Enrolment | None:
    """IT's second factor for one user (``provision district user totp``), checked as a
    school's users file checks its own."""
    if record is None:
        return None
    if not isinstance(record, dict):
        raise settings.fail(key, "must be an object")
    if not valid_secret(record.get("secret")):
        raise settings.fail(f"{key}.secret", "must be base32 text of at least 128 bits")
    recovery = record.get("recovery", [])
    if not isinstance(recovery, list) or not all(valid_digest(d) for d in recovery):
        raise settings.fail(f"{key}.recovery", "must be a list of SHA-256 hex digests")
    return Enrolment(secret=record["secret"], recovery=frozenset(recovery))


class UsersUnavailable(Exception):
    """The users file was never readable since the service started: nobody can log in."""


class DistrictUsers:
    """The users file, re-read whenever it changes; a damaged file is logged and the last
    good copy kept, so a bad edit during an emergency locks nobody out."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._stamp: tuple[int, int, int] | None = None
        self._accounts: dict[str, DistrictAccount] | None = None
        self._lock = threading.Lock()  # logins verify on a worker thread

    def _current(self) -> dict[str, DistrictAccount]:
        try:
            info = self.path.stat()
            stamp = (info.st_mtime_ns, info.st_ino, info.st_size)
        except OSError:
            stamp = (-1, -1, -1)
        with self._lock:
            if stamp != self._stamp:
                self._stamp = stamp
                try:
                    self._accounts = load_accounts(self.path)
                except ConfigError as error:
                    kept = "keeping the last good copy" if self._accounts else "nobody can log in"
                    log.error("district users file: %s; %s until it is fixed", error, kept)
            if self._accounts is None:
                raise UsersUnavailable(str(self.path))
            return self._accounts

    def account(self, name: str) -> DistrictAccount | None:
        return self._current().get(name)

    def verify(self, name: str, password: str) -> DistrictAccount | None:
        """The user if the password is right; an unknown name costs the same time."""
        record = self._current().get(name)
        try:
            good = check_password(record.scrypt if record else DUMMY_HASH, password)
        except BadHash as error:
            log.error("district users file %s: users.%s.scrypt: %s", self.path, name, error)
            return None
        return record if good and record is not None else None
