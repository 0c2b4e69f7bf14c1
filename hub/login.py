"""``POST /api/login`` and ``POST /api/enrol``: password, then the second factor.

The password is checked here (rate-limited, audited; teachers only on their own page);
what a login whose role needs a second factor does next is hub.factor_login's, shared
with the district console: a code checked once, or an ``enrol`` session that opens only
the enrolment page (hub.console.enrol); the command line and the teacher's page are
refused, with what the user and IT do.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from hub.access import error, json_body, refusal_response
from hub.auth import (
    LOGIN_KINDS,
    SESSION_TTL_S,
    Account,
    LoginLimiter,
    Principal,
    Sessions,
    Users,
    UsersUnavailable,
)
from hub.config import HubConfig
from hub.errors import Invalid, Refused
from hub.factor_login import FactorLogin
from hub.second_factor import FactorStore, SecondFactor
from hub.store import HubStore
from protocol.accounts import Role

USERS_DAMAGED = (
    "nobody can log in: the hub's users file is damaged; IT must fix it "
    "(the hub's log names the file and the entry)"
)
NOT_ENROLLED = (
    "{user} must set up a second factor before using the command line: log in to the "
    "console once (it shows a QR code to scan), or ask IT to run "
    "`roomcast provision user totp {user}`"
)
PAGE_NOT_ENROLLED = (
    "{user} must log in with a second factor at this school, and the teacher's page cannot "
    "set one up: ask IT to run `roomcast provision user totp {user}` (it gives a QR code to "
    "scan with an authenticator app), then log in here with your password and the 6-digit code"
)
PAGE_NOT_ENROLLED = (
    "{user} must log in with a second factor at this school, and the teacher's page cannot "
    "set one up: ask IT to run `roomcast provision user totp {user}` (it gives a QR code to "
    "scan with an authenticator app), then log in here with your password and the 6-digit code"
)
WRONG_DOOR = (
    "teachers log in on the teacher's page (/teacher/login) and only there; office staff "
    "on the console (/login)"
)


@dataclass(frozen=True)
class LoginRequest:
    user: str
    password: str
    kind: str
    otp: str | None


def parse_login(body: dict[str, Any]) -> LoginRequest:
    name, password, kind = body.get("user"), body.get("password"), body.get("kind", "cli")
    otp = body.get("otp")
    if not isinstance(name, str) or not isinstance(password, str) or kind not in LOGIN_KINDS:
        raise Invalid('send {"user": ..., "password": ..., "kind": "cli", "console" or "page"}')
    if otp is not None and (not isinstance(otp, str) or len(otp) > 64):
        raise Invalid('"otp" must be the code as a string')
    return LoginRequest(user=name, password=password, kind=kind, otp=otp or None)


class Logins(FactorLogin[Account, Principal]):
    def __init__(
        self,
        *,
        config: HubConfig,
        store: HubStore,
        users: Users,
        sessions: Sessions,
        limiter: LoginLimiter,
    ) -> None:
        factors = SecondFactor(
            FactorStore(config.state_dir / "second-factor.db"), config.totp_required_for
        )
        super().__init__(
            accounts=users,
            sessions=sessions,
            limiter=limiter,
            factors=factors,
            audit=store,
            session_ttl_s=SESSION_TTL_S,
            not_enrolled={"cli": NOT_ENROLLED, "page": PAGE_NOT_ENROLLED},
        )
        self.users, self.sessions = users, sessions  # the hub's own types (hub.console)

    async def login(self, request: Request) -> Response:
        try:
            asked = parse_login(await json_body(request))
        except Refused as refusal:
            return refusal_response(refusal)
        name, client = asked.user, _client(request)
        if self.limiter.blocked(name, client):
            self._audit(name, "login refused (rate limit)", {"from": client})
            return error("too many failed logins; wait a minute and try again", 429)
        try:
            account = await asyncio.to_thread(self.users.verify, name, asked.password)
        except UsersUnavailable:
            self._audit(name, "login refused (users file damaged)", {"from": client})
            return error(USERS_DAMAGED, 401)
        if account is None:
            self.limiter.failed(name, client)
            self._audit(name, "login failed", {"from": client})
            return error("wrong user name or password", 401)
        if (account.role is Role.TEACHER) != (asked.kind == "page"):
            self._audit(name, "login refused (teacher's page only for teachers)", {"from": client})
            return error(WRONG_DOOR, 403)
        return self.after_password(request, name, account, asked.kind, asked.otp)


def _client(request: Request) -> str:
    return request.client.host if request.client else "unknown"
