"""Who may do what at the hub: console users, sessions, roles, and the login rate limit.

Users and their scrypt hashes live in the site's ``users.json`` (written by ``roomcast
provision user``); the file is re-read when it changes, so adding or removing a user needs
no restart. A login creates a session: a bearer token for the command line, or a cookie
plus a CSRF token for the console. Only a hash of each token is stored.

A session is only as good as the user behind it: every request looks the user up in the
current file, so removing a user or changing their password ends their sessions at once,
and a changed role applies to the very next request.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import logging
import secrets
import threading
import time
from collections import defaultdict, deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

from hub.staff import Staff, staff_record
from hub.store import HubStore
from hub.user_language import DEFAULT, record_language
from protocol.accounts import DUMMY_HASH, BadHash, Role, check_password
from protocol.factors import Enrolment, valid_digest, valid_secret
from transport.settings import ConfigError, Settings

log = logging.getLogger(__name__)

USERS_FORMAT = 1


class Permission(StrEnum):
    READ = "read"
    ISSUE = "issue"
    RELEASE = "release"
    ACK_ALERT = "acknowledge alerts"
    AUDIT = "read the audit log"
    CONTROL = "take control of the console"
    MANAGE_DEVICES = "send commands to devices"
    TEST_RELAY = "send test messages to the relay's destinations"
    MANAGE_STAFF = "manage teachers' accounts and sessions"
    TEACH = "use the teacher's page for their rooms"


_OFFICE = frozenset(Permission) - {Permission.TEACH}


GRANTS: Mapping[Role, frozenset[Permission]] = {
    Role.ADMIN: _OFFICE,
    Role.OFFICE: _OFFICE
    - {Permission.MANAGE_DEVICES, Permission.TEST_RELAY, Permission.MANAGE_STAFF},
    Role.RESPONDER: frozenset(
        {Permission.READ, Permission.RELEASE, Permission.ACK_ALERT, Permission.CONTROL}
    ),
    Role.VIEWER: frozenset({Permission.READ}),
    Role.TEACHER: frozenset({Permission.TEACH}),
}
"""Only office and admin issue directives; responders may also release rooms (SRP) and
take console control to do it. Viewers (a wall screen, say) only read. Only admins (IT)
send commands to devices and test messages to dispatch (a test is set up with the centre),
and manage teachers. A teacher has only the teacher's page, for their own rooms."""

SESSION_TTL_S = {"cli": 90 * 86400, "console": 12 * 3600, "enrol": 600, "page": 320 * 86400}
"""A console session outlives a school day's Lockdown; each use extends it. An ``enrol``
session (right password, second factor still to set up) opens only the enrolment page. A
teacher's ``page`` session lasts a school year on the phone, never extended (hub.teacher)."""
LOGIN_KINDS = ("cli", "console", "page")

_TOKEN_FORMAT = "rc1"  # noqa: S105 - a format tag, not a secret
_FACTOR_MARK = "+2f"


@dataclass(frozen=True)
class Principal:
    user: str
    role: Role
    kind: str
    csrf: str
    session: str = ""
    """The stored hash of the session token: names the session server-side, never sent."""
    rooms: frozenset[str] = frozenset()
    """A teacher's rooms, as the users file has them now."""

    def may(self, permission: Permission) -> bool:
        return permission in GRANTS[self.role]


@dataclass(frozen=True)
class Account:
    """One console user as the users file has it now."""

    role: Role
    scrypt: Mapping[str, Any]
    totp: Enrolment | None = None
    """A second factor enrolled by IT (``roomcast provision user totp``)."""
    factor_epoch: str = ""
    """Changed by provisioning at every (re-)enrolment or reset: a console enrolment made
    under another epoch no longer counts, and the sessions made before it end."""
    staff: Staff | None = None
    """A teacher's rooms and one-time enrolment link (hub.staff)."""
    language: str = DEFAULT

    @property
    def rooms(self) -> frozenset[str]:
        return frozenset() if self.staff is None else self.staff.rooms

    @property
    def credential(self) -> str:
        """Names the current password (and second-factor epoch), so a session can tell
        they changed since login.

        Every new password has a new random salt; without the salt (only in the 0600 users
        file) this digest helps nobody guess the password.
        """
        named = dict(self.scrypt) | (
            {"factor_epoch": self.factor_epoch} if self.factor_epoch else {}
        )
        canonical = json.dumps(named, sort_keys=True).encode()
        return hashlib.sha256(canonical).hexdigest()[:16]


class UsersUnavailable(Exception):
    """The users file has never been readable since the hub started: nobody can log in."""


def load_accounts(path: Path) -> dict[str, Account]:
    """Read and check ``users.json``; a problem raises ConfigError naming the file and key."""
    settings = Settings.load(path, missing_hint="create users with `roomcast provision user`")
    if settings.get("format", int) != USERS_FORMAT:
        raise settings.fail("format", f"must be {USERS_FORMAT} (written by `roomcast provision`)")
    records = settings.get("users", dict)
    return {name: _account(settings, name, record) for name, record in records.items()}


def _account(settings: Settings, name: str, record: Any) -> Account:
    key = f"users.{name}"
    if not isinstance(record, dict):
        raise settings.fail(key, f"must be an object, not {type(record).__name__}")
    try:
        role = Role(str(record.get("role")))
    except ValueError:
        roles = ", ".join(r.value for r in Role)
        raise settings.fail(f"{key}.role", f"must be one of {roles}") from None
    scrypt = record.get("scrypt")
    if not isinstance(scrypt, dict):
        raise settings.fail(f"{key}.scrypt", "missing or not an object")
    for field in ("n", "r", "p"):
        value = scrypt.get(field)
        if not isinstance(value, int) or isinstance(value, bool):
            raise settings.fail(f"{key}.scrypt.{field}", "must be an integer")
    for field in ("salt", "hash"):
        if not _is_base64(scrypt.get(field)):
            raise settings.fail(f"{key}.scrypt.{field}", "must be base64 text")
    epoch = record.get("factor_epoch", "")
    if not isinstance(epoch, str):
        raise settings.fail(f"{key}.factor_epoch", "must be a string")
    totp = _enrolment(settings, f"{key}.totp", record.get("totp"))
    staff = staff_record(settings, key, record) if role is Role.TEACHER else None
    lang = record_language(settings, key, record)
    return Account(
        role=role, scrypt=dict(scrypt), totp=totp, factor_epoch=epoch, staff=staff, language=lang
    )


def _enrolment(settings: Settings, key: str, record: Any) -> Enrolment | None:
    if record is None:
        return None
    if not isinstance(record, dict):
        raise settings.fail(key, f"must be an object, not {type(record).__name__}")
    if not valid_secret(record.get("secret")):
        raise settings.fail(f"{key}.secret", "must be base32 text of at least 128 bits")
    recovery = record.get("recovery", [])
    if not isinstance(recovery, list) or not all(valid_digest(d) for d in recovery):
        raise settings.fail(f"{key}.recovery", "must be a list of SHA-256 hex digests")
    return Enrolment(secret=record["secret"], recovery=frozenset(recovery))


def _is_base64(value: Any) -> bool:
    if not isinstance(value, str) or not value:
        return False
    try:
        base64.b64decode(value, validate=True)
    except (ValueError, binascii.Error):
        return False
    return True


def validate_users_file(path: Path) -> None:
    """Refuse to start on a damaged users file: raises ConfigError naming the file and key."""
    load_accounts(path)


class Users:
    """The users file, re-read whenever it changes.

    A damaged or missing file is logged (file and key) and the last good copy stays in use,
    so a bad edit during an emergency does not lock the office out. If there never was a
    good copy, nobody can log in (:class:`UsersUnavailable`).
    """

    def __init__(self, path: Path) -> None:
        self._path = path
        self._stamp: tuple[int, int, int] | None = None
        self._accounts: dict[str, Account] | None = None
        self._lock = threading.Lock()  # logins verify on a worker thread

    def _current(self) -> dict[str, Account]:
        try:
            info = self._path.stat()
            stamp = (info.st_mtime_ns, info.st_ino, info.st_size)
        except OSError:
            stamp = (-1, -1, -1)
        with self._lock:
            if stamp != self._stamp:
                self._stamp = stamp
                self._reload()
            if self._accounts is None:
                raise UsersUnavailable(str(self._path))
            return self._accounts

    def _reload(self) -> None:
        try:
            self._accounts = load_accounts(self._path)
        except ConfigError as error:
            kept = "keeping the last good copy" if self._accounts else "nobody can log in"
            log.error("users file: %s; %s until it is fixed", error, kept)

    def account(self, name: str) -> Account | None:
        """The user as the file has it now; None if there is no such user."""
        return self._current().get(name)

    def teachers(self) -> dict[str, Account]:
        return {name: a for name, a in self._current().items() if a.role is Role.TEACHER}

    def verify(self, name: str, password: str) -> Account | None:
        """The user if the password is right. Unknown names cost the same time."""
        record = self._current().get(name)
        stored = record.scrypt if record else DUMMY_HASH
        try:
            good = check_password(stored, password)
        except BadHash as error:
            log.error("users file %s: users.%s.scrypt: %s", self._path, name, error)
            return None
        return record if good else None


class LoginLimiter:
    """At most ``attempts`` failed logins per window from one client address, and per user
    name from one address.

    Failures are never counted per user name alone: anyone on the LAN could then lock the
    principal out of the console during an emergency by typing wrong passwords for her.
    """

    def __init__(
        self,
        *,
        attempts: int = 5,
        window_s: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._attempts, self._window, self._now = attempts, window_s, clock
        self._failures: dict[tuple[str, ...], deque[float]] = defaultdict(deque)

    @staticmethod
    def _keys(user: str, address: str) -> tuple[tuple[str, ...], ...]:
        return (("addr", address), ("user", user, address))

    def blocked(self, user: str, address: str) -> bool:
        return any(self._recent(key) >= self._attempts for key in self._keys(user, address))

    def _recent(self, key: tuple[str, ...]) -> int:
        """Failures under ``key`` within the window; older ones (and empty keys) are dropped."""
        failures = self._failures.get(key)
        if failures is None:
            return 0
        now = self._now()
        while failures and now - failures[0] > self._window:
            failures.popleft()
        if not failures:
            del self._failures[key]
        return len(failures)

    def failed(self, user: str, address: str) -> None:
        for key in self._keys(user, address):
            self._failures[key].append(self._now())

    def succeeded(self, user: str, address: str) -> None:
        """A right password clears that user's failures from that address, not the address's
        count: guessing across many names stays limited."""
        self._failures.pop(("user", user, address), None)


class Sessions:
    def __init__(
        self,
        store: HubStore,
        users: Users,
        *,
        factor_roles: frozenset[Role] = frozenset(),
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._store, self._users, self._now = store, users, clock
        self._factor_roles = factor_roles
        """Roles whose sessions must have passed a second factor (hub.second_factor)."""

    def create(
        self, user: str, account: Account, kind: str, *, second_factor: bool = False
    ) -> tuple[str, Principal]:
        # The token names the password it was created under, and whether a second factor
        # was passed; the stored hash covers the whole token, so neither can be altered.
        mark = account.credential + (_FACTOR_MARK if second_factor else "")
        token = f"{_TOKEN_FORMAT}.{mark}.{secrets.token_urlsafe(32)}"
        principal = Principal(
            user=user,
            role=account.role,
            kind=kind,
            csrf=secrets.token_urlsafe(24),
            session=_digest(token),
            rooms=account.rooms,
        )
        self._store.save_session(
            _digest(token),
            user=user,
            role=account.role.value,
            kind=kind,
            csrf=principal.csrf,
            expires_at=self._now() + SESSION_TTL_S[kind],
        )
        return token, principal

    def lookup(self, token: str, *, kind: str) -> Principal | None:
        """The session's user with the role the users file gives them now, or None.

        A session whose user was removed, or whose password changed since login, is ended;
        so is one made without a second factor by a user whose role now needs one (promoted,
        or sessions from before the site required it).
        """
        digest = _digest(token)
        row = self._store.session(digest, now=self._now())
        if row is None or row["kind"] != kind:
            return None
        try:
            account = self._users.account(row["user"])
        except UsersUnavailable:
            return None
        needs_factor = (
            kind != "enrol" and account is not None and account.role in self._factor_roles
        )
        why = _stale(token, account, needs_factor=needs_factor)
        if account is None or why:
            self._store.delete_session(digest)
            self._store.audit(
                at=self._now(), user=row["user"], action=f"session ended ({why})", detail={}
            )
            return None
        if kind != "page":  # a teacher's phone enrols once a school year
            self._store.extend_session(digest, expires_at=self._now() + SESSION_TTL_S[kind])
        return Principal(
            user=row["user"],
            role=account.role,
            kind=kind,
            csrf=row["csrf"],
            session=digest,
            rooms=account.rooms,
        )

    def end(self, token: str) -> None:
        self._store.delete_session(_digest(token))


def _stale(token: str, account: Account | None, *, needs_factor: bool) -> str:
    """Why a session may no longer be used ("" if it may)."""
    if account is None:
        return "user removed"
    version, _, rest = token.partition(".")
    if version != _TOKEN_FORMAT:
        return "created by an older hub; log in again"
    mark, _, _ = rest.partition(".")
    credential, factor, _ = mark.partition(_FACTOR_MARK)
    if credential != account.credential:  # not a secret: the token hash already matched
        return "password changed"
    if needs_factor and not factor:
        return "second factor now required"
    return ""


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()
