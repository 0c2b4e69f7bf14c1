"""Who may do what at the hub: console users, sessions, roles, and the login rate limit.

Users and their scrypt hashes live in the site's ``users.json`` (written by ``roomcast
provision user``); the file is re-read when it changes, so adding or removing a user needs
no restart. A login creates a session: a bearer token for the command line, or a cookie
plus a CSRF token for the console. Only a hash of each token is stored.
"""

from __future__ import annotations

import hashlib
import json
import logging
import secrets
import time
from collections import defaultdict, deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

from hub.store import HubStore
from protocol.accounts import DUMMY_HASH, BadHash, Role, check_password

log = logging.getLogger(__name__)


class Permission(StrEnum):
    READ = "read"
    ISSUE = "issue"
    RELEASE = "release"
    ACK_ALERT = "acknowledge alerts"
    AUDIT = "read the audit log"
    CONTROL = "take control of the console"
    MANAGE_DEVICES = "send commands to devices"


GRANTS: Mapping[Role, frozenset[Permission]] = {
    Role.ADMIN: frozenset(Permission),
    Role.OFFICE: frozenset(Permission) - {Permission.MANAGE_DEVICES},
    Role.RESPONDER: frozenset(
        {Permission.READ, Permission.RELEASE, Permission.ACK_ALERT, Permission.CONTROL}
    ),
    Role.VIEWER: frozenset({Permission.READ}),
}
"""Only office and admin issue directives; responders may also release rooms (SRP) and
take console control to do it. Viewers (a wall screen, say) only read. Only admins (IT)
send commands to devices."""

SESSION_TTL_S = {"cli": 90 * 86400, "console": 12 * 3600}
"""A console session outlives a school day's Lockdown; each use extends it."""


@dataclass(frozen=True)
class Principal:
    user: str
    role: Role
    kind: str
    csrf: str
    session: str = ""
    """The stored hash of the session token: names the session server-side, never sent."""

    def may(self, permission: Permission) -> bool:
        return permission in GRANTS[self.role]


class Users:
    """The users file, re-read whenever its modification time changes."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._stamp: float | None = None
        self._users: dict[str, Any] = {}

    def _current(self) -> dict[str, Any]:
        try:
            stamp = self._path.stat().st_mtime
        except FileNotFoundError:
            log.error("users file %s is missing: nobody can log in", self._path)
            return {}
        if stamp != self._stamp:
            data = json.loads(self._path.read_text(encoding="utf-8"))
            self._users, self._stamp = dict(data.get("users", {})), stamp
        return self._users

    def verify(self, name: str, password: str) -> Role | None:
        """The user's role if the password is right. Unknown names cost the same time."""
        record = self._current().get(name)
        stored = record["scrypt"] if record else DUMMY_HASH
        try:
            good = check_password(stored, password)
        except BadHash as error:
            log.error("users file %s: %s: %s", self._path, name, error)
            return None
        return Role(record["role"]) if good and record else None


class LoginLimiter:
    """At most ``attempts`` failed logins per user name and per client address per window."""

    def __init__(
        self,
        *,
        attempts: int = 5,
        window_s: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._attempts, self._window, self._now = attempts, window_s, clock
        self._failures: dict[str, deque[float]] = defaultdict(deque)

    def blocked(self, *keys: str) -> bool:
        now = self._now()
        for key in keys:
            failures = self._failures[key]
            while failures and now - failures[0] > self._window:
                failures.popleft()
        return any(len(self._failures[key]) >= self._attempts for key in keys)

    def failed(self, *keys: str) -> None:
        for key in keys:
            self._failures[key].append(self._now())

    def succeeded(self, *keys: str) -> None:
        for key in keys:
            self._failures.pop(key, None)


class Sessions:
    def __init__(self, store: HubStore, *, clock: Callable[[], float] = time.time) -> None:
        self._store, self._now = store, clock

    def create(self, user: str, role: Role, kind: str) -> tuple[str, Principal]:
        token = secrets.token_urlsafe(32)
        principal = Principal(
            user=user,
            role=role,
            kind=kind,
            csrf=secrets.token_urlsafe(24),
            session=_digest(token),
        )
        self._store.save_session(
            _digest(token),
            user=user,
            role=role.value,
            kind=kind,
            csrf=principal.csrf,
            expires_at=self._now() + SESSION_TTL_S[kind],
        )
        return token, principal

    def lookup(self, token: str, *, kind: str) -> Principal | None:
        row = self._store.session(_digest(token), now=self._now())
        if row is None or row["kind"] != kind:
            return None
        self._store.extend_session(_digest(token), expires_at=self._now() + SESSION_TTL_S[kind])
        return Principal(
            user=row["user"],
            role=Role(row["role"]),
            kind=kind,
            csrf=row["csrf"],
            session=_digest(token),
        )

    def end(self, token: str) -> None:
        self._store.delete_session(_digest(token))


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()
