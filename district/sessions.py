"""District console sessions: a cookie (with a CSRF token) for the console, a bearer token
for scripts reading the JSON API. Only a hash of each token is stored (console.db).

A session is only as good as the user behind it: every request looks the user up in the
current users file, so removing a user or changing their password or second factor ends
their sessions at once, and a changed role applies to the very next request.
"""

from __future__ import annotations

import hashlib
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass

from district.console_store import ConsoleStore
from district.users import GRANTS, DistrictAccount, DistrictUsers, Permission, UsersUnavailable
from protocol.district_accounts import DistrictRole

SESSION_TTL_S = {"console": 12 * 3600, "cli": 30 * 86400, "enrol": 600}
"""A console session outlives a long incident; each use extends it. An ``enrol`` session
(right password, second factor still to set up) opens only the enrolment page."""
KINDS = ("console", "cli")
"""What a login may ask for; an ``enrol`` session is only ever the server's answer."""
_FORMAT = "d1"
_FACTOR_MARK = "+2f"


@dataclass(frozen=True)
class DistrictPrincipal:
    user: str
    role: DistrictRole
    kind: str
    csrf: str
    session: str
    """The stored hash of the session token: names the session server-side, never sent."""

    def may(self, permission: Permission) -> bool:
        return permission in GRANTS[self.role]


class DistrictSessions:
    def __init__(
        self,
        store: ConsoleStore,
        users: DistrictUsers,
        *,
        factor_roles: frozenset[DistrictRole] = frozenset(),
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.store, self.users, self._now = store, users, clock
        self.factor_roles = factor_roles
        """Roles whose sessions must have passed a second factor (district.console.factors)."""

    def create(
        self, user: str, account: DistrictAccount, kind: str, *, second_factor: bool = False
    ) -> tuple[str, DistrictPrincipal]:
        # The token names the password it was made under and whether a second factor was
        # passed; the stored hash covers it all, so neither can be altered.
        mark = account.credential + (_FACTOR_MARK if second_factor else "")
        token = f"{_FORMAT}.{mark}.{secrets.token_urlsafe(32)}"
        principal = DistrictPrincipal(
            user=user, role=account.role, kind=kind, csrf=secrets.token_urlsafe(24),
            session=_digest(token),
        )  # fmt: skip
        self.store.save_session(
            principal.session, user=user, role=account.role.value, kind=kind,
            csrf=principal.csrf, expires_at=self._now() + SESSION_TTL_S[kind],
        )  # fmt: skip
        return token, principal

    def lookup(self, token: str, *, kind: str) -> DistrictPrincipal | None:
        """The session's user with the role the users file gives them now, or None.

        A session whose user was removed, or whose password or second factor IT changed
        since, is ended; so is one made without a second factor by a user whose role now
        needs one (promoted, or from before the district required it)."""
        digest = _digest(token)
        row = self.store.session(digest, now=self._now())
        if row is None or row["kind"] != kind:
            return None
        try:
            account = self.users.account(row["user"])
        except UsersUnavailable:
            return None
        mark = token.split(".")[1] if token.count(".") >= 2 else ""
        credential, factor, _ = mark.partition(_FACTOR_MARK)
        why = (
            "user removed" if account is None
            else "password changed" if credential != account.credential
            else "second factor now required"
            if kind != "enrol" and not factor and account.role in self.factor_roles
            else ""
        )  # fmt: skip
        if account is None or why:
            self.store.delete_session(digest)
            self.store.audit(
                at=self._now(), user=row["user"], action=f"session ended ({why})", detail={}
            )
            return None
        self.store.extend_session(digest, expires_at=self._now() + SESSION_TTL_S[kind])
        return DistrictPrincipal(
            user=row["user"], role=account.role, kind=kind, csrf=row["csrf"], session=digest
        )

    def end(self, token: str) -> None:
        self.store.delete_session(_digest(token))


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()
