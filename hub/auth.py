"""Who may do what at the hub: roles, sessions, and the login rate limit.

Who the users are is :mod:`hub.accounts` (IT's ``users.json`` with the console's changes
laid over it). A login creates a session: a bearer token for the command line, or a cookie
plus a CSRF token for the console. Only a hash of each token is stored.

A session is only as good as the user behind it: every request looks the user up as the
hub has them now, so removing a user or changing their password ends their sessions at
once, and a changed role applies to the very next request.
"""

from __future__ import annotations

import hashlib
import secrets
import time
from collections import defaultdict, deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum

from hub.accounts import Account, Users, UsersUnavailable, validate_users_file
from hub.store import HubStore
from protocol.accounts import Role

__all__ = [
    "GRANTS",
    "LOGIN_KINDS",
    "SESSION_TTL_S",
    "Account",
    "LoginLimiter",
    "Permission",
    "Principal",
    "Sessions",
    "Users",
    "UsersUnavailable",
    "validate_users_file",
]


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
    """A teacher's rooms, as the hub has them now (hub.accounts)."""

    def may(self, permission: Permission) -> bool:
        return permission in GRANTS[self.role]


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

    @property
    def users(self) -> Users:
        """The hub's one view of its users, shared by every part of the web side."""
        return self._users

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
        """The session's user with the role they have now (hub.accounts), or None.

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
