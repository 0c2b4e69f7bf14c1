"""``POST /api/login`` and ``POST /api/enrol``: password, then the second factor.

A login whose password is right but whose role needs a second factor goes one of three ways:

- enrolled, and a code sent: the code is checked (TOTP once per window, or a recovery code
  once ever); a wrong one counts against the rate limit like a wrong password;
- enrolled, no code: 401 with ``"second_factor": "totp"``, so the client asks for one;
- not enrolled: a console gets a short ``enrol`` session that opens only the enrolment page
  (hub.console.enrol) and ``POST /api/enrol``; the command line and the teacher's page are
  refused, with what the user and IT do.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from hub.access import SESSION_COOKIE, error, json_body, refusal_response, same_origin
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
from hub.second_factor import CodeLimiter, FactorStore, Outcome, PendingEnrolments, SecondFactor
from hub.store import HubStore
from protocol.accounts import Role
from protocol.factors import Enrolment

USERS_DAMAGED = (
    "nobody can log in: the hub's users file is damaged; IT must fix it "
    "(the hub's log names the file and the entry)"
)
CODE_NEEDED = "this account needs a second-factor code: the 6 digits from the authenticator app"
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
WRONG_DOOR = (
    "teachers log in on the teacher's page (/teacher/login) and only there; office staff "
    "on the console (/login)"
)
TOO_MANY_CODES = (
    "too many wrong codes for this user; wait 15 minutes. If that was not you, someone has "
    "your password: tell IT"
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


class Logins:
    def __init__(
        self,
        *,
        config: HubConfig,
        store: HubStore,
        users: Users,
        sessions: Sessions,
        limiter: LoginLimiter,
    ) -> None:
        self.users, self.sessions, self.limiter, self._store = users, sessions, limiter, store
        self.factors = SecondFactor(
            FactorStore(config.state_dir / "second-factor.db"), config.totp_required_for
        )
        self.codes = CodeLimiter()
        self.pending = PendingEnrolments(ttl_s=SESSION_TTL_S["enrol"])

    def _audit(self, user: str, action: str, detail: dict[str, Any]) -> None:
        self._store.audit(at=time.time(), user=user, action=action, detail=detail)

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
        enrolment = self.factors.enrolment(name, account)
        if not self.factors.required(account, enrolment):
            return self.session_response(
                request, *self._open(request, name, account, asked.kind, {})
            )
        if enrolment is None:
            return self._not_enrolled(request, name, account, asked.kind)
        if asked.otp is None:
            return error(CODE_NEEDED, 401, second_factor="totp")
        return self._second_factor(request, asked, account, enrolment)

    def _second_factor(
        self, request: Request, asked: LoginRequest, account: Account, enrolment: Enrolment
    ) -> Response:
        name, client = asked.user, _client(request)
        assert asked.otp is not None
        if self.codes.blocked(name):
            self._audit(name, "second factor refused (too many wrong codes)", {"from": client})
            return error(TOO_MANY_CODES, 429)
        checked = self.factors.check(name, enrolment, asked.otp)
        if not checked.ok:
            self.limiter.failed(name, client)
            self.codes.failed(name)
            self._audit(name, "second factor failed", {"from": client, "why": checked.outcome})
            hint = " (wait for the next one)" if checked.outcome is Outcome.REPLAYED else ""
            return error(f"{checked.outcome}{hint}", 401)
        if checked.outcome is Outcome.RECOVERY:
            left = {"from": client, "recovery_codes_left": checked.recovery_left}
            self._audit(name, "recovery code used", left)
        opened = self._open(request, name, account, asked.kind, {"second_factor": checked.outcome})
        return self.session_response(request, *opened)

    def _not_enrolled(self, request: Request, name: str, account: Account, kind: str) -> Response:
        client = _client(request)
        if kind in ("cli", "page"):  # only the console has an enrolment page
            self._audit(name, "login refused (second factor not set up)", {"from": client})
            told = NOT_ENROLLED if kind == "cli" else PAGE_NOT_ENROLLED
            return error(told.format(user=name), 403)
        self.limiter.succeeded(name, client)
        token, principal = self.sessions.create(name, account, "enrol")
        self._audit(name, "login (second factor enrolment)", {"from": client})
        return self.session_response(request, token, principal, enrol=True)

    def _open(
        self, request: Request, name: str, account: Account, kind: str, detail: dict[str, Any]
    ) -> tuple[str, Principal]:
        """A new session for a user who passed every check (token, principal)."""
        client = _client(request)
        self.limiter.succeeded(name, client)
        passed = "second_factor" in detail  # checked, or just set up
        token, principal = self.sessions.create(name, account, kind, second_factor=passed)
        detail = {"from": client, "role": account.role.value} | detail
        self._audit(name, f"login ({kind})", detail)
        return token, principal

    def session_response(
        self, request: Request, token: str, principal: Principal, **extra: Any
    ) -> Response:
        body = {"user": principal.user, "role": principal.role.value, "csrf": principal.csrf}
        if principal.kind == "cli":
            return JSONResponse(body | {"token": token})
        response = JSONResponse(body | extra)
        response.set_cookie(
            SESSION_COOKIE,
            token,
            max_age=SESSION_TTL_S[principal.kind],
            httponly=True,
            samesite="strict",
            secure=request.url.scheme == "https",
            path="/",
        )
        return response

    def enrolling(self, request: Request) -> tuple[str, Principal] | None:
        """The caller's enrolment session (token, principal), CSRF-checked if it changes."""
        token = request.cookies.get(SESSION_COOKIE, "")
        principal = self.sessions.lookup(token, kind="enrol") if token else None
        if principal is None or not same_origin(request, principal):
            return None
        return token, principal

    async def enrol(self, request: Request) -> Response:
        """Confirm the secret shown on the enrolment page with a code from the app."""
        found = self.enrolling(request)
        if found is None:
            return error("log in again to set up the second factor", 401)
        token, principal = found
        name, client = principal.user, _client(request)
        try:
            code = (await json_body(request)).get("code")
        except Refused as refusal:
            return refusal_response(refusal)
        account = self.users.account(name)
        if not isinstance(code, str) or account is None:
            return error('send {"code": "123456"}', 400)
        if self.factors.enrolment(name, account) is not None:
            return error("a second factor is already set up for you; log in again", 409)
        if self.limiter.blocked(name, client) or self.codes.blocked(name):
            return error("too many wrong codes; wait a minute and try again", 429)
        secret = self.pending.secret(principal.session)
        codes = self.factors.confirm(name, account, secret, code)
        if codes is None:
            self.limiter.failed(name, client)
            self.codes.failed(name)
            self._audit(name, "second factor failed", {"from": client, "why": "enrolment code"})
            return error("wrong code: type the 6 digits the app shows now", 401)
        self.pending.forget(principal.session)
        self.sessions.end(token)
        self._audit(name, "second factor enrolled (console)", {"from": client})
        enrolled = {"second_factor": "enrolled"}
        token, principal = self._open(request, name, account, "console", enrolled)
        return self.session_response(request, token, principal, recovery_codes=codes)


def _client(request: Request) -> str:
    return request.client.host if request.client else "unknown"
