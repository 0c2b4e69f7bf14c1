"""What a console login does after the right password, where the role needs a second factor:
check the code, or open an enrolment session, and ``POST /api/enrol`` to confirm one.

Shared by the school's console (hub.login) and the district's (district.console.factors):
the same rules for both, each with its own users, sessions, audit log and wording.

- enrolled, and a code sent: the code is checked (TOTP once per window, or a recovery code
  once ever); a wrong one counts against the rate limit like a wrong password;
- enrolled, no code: 401 with ``"second_factor": "totp"``, so the client asks for one;
- not enrolled: a console gets a short ``enrol`` session that opens only the enrolment page
  and ``POST /api/enrol``; the command line (and a teacher's page) is refused, with what
  the user and IT do.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from enum import StrEnum
from typing import Any, Generic, Protocol, TypeVar

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from hub.access import SESSION_COOKIE, error, json_body, refusal_response, same_origin
from hub.auth import LoginLimiter
from hub.errors import Refused
from hub.second_factor import CodeLimiter, FactorAccount, Outcome, PendingEnrolments, SecondFactor
from protocol.factors import Enrolment

CODE_NEEDED = "this account needs a second-factor code: the 6 digits from the authenticator app"
TOO_MANY_CODES = (
    "too many wrong codes for this user; wait 15 minutes. If that was not you, someone has "
    "your password: tell IT"
)


class SessionHolder(Protocol):
    """A console session's principal, at the school (hub.auth) or the district."""

    @property
    def user(self) -> str: ...
    @property
    def role(self) -> StrEnum: ...
    @property
    def kind(self) -> str: ...
    @property
    def csrf(self) -> str: ...
    @property
    def session(self) -> str: ...


A = TypeVar("A", bound=FactorAccount)
P = TypeVar("P", bound=SessionHolder)
A_in = TypeVar("A_in", bound=FactorAccount, contravariant=True)
A_out = TypeVar("A_out", bound=FactorAccount, covariant=True)
P_out = TypeVar("P_out", bound=SessionHolder, covariant=True)


class AccountLookup(Protocol[A_out]):
    def account(self, name: str) -> A_out | None: ...


class SessionMaker(Protocol[A_in, P_out]):
    def create(
        self, user: str, account: A_in, kind: str, *, second_factor: bool = False
    ) -> tuple[str, P_out]: ...
    def lookup(self, token: str, *, kind: str) -> P_out | None: ...
    def end(self, token: str) -> None: ...


class AuditLog(Protocol):
    def audit(self, *, at: float, user: str, action: str, detail: dict[str, Any]) -> None: ...


class FactorLogin(Generic[A, P]):
    def __init__(
        self,
        *,
        accounts: AccountLookup[A],
        sessions: SessionMaker[A, P],
        limiter: LoginLimiter,
        factors: SecondFactor,
        audit: AuditLog,
        session_ttl_s: Mapping[str, int],
        not_enrolled: Mapping[str, str],
    ) -> None:
        """``not_enrolled``: the session kinds with no enrolment page (the command line,
        a teacher's phone) and what a user of each who has no second factor is told to do
        (``{user}`` is their name); ``session_ttl_s``: each session kind's cookie life."""
        self._accounts, self._sessions, self.limiter = accounts, sessions, limiter
        self.factors, self._audit_log, self._ttl = factors, audit, session_ttl_s
        self._not_enrolled_text = not_enrolled
        self.codes = CodeLimiter()
        self.pending = PendingEnrolments(ttl_s=session_ttl_s["enrol"])

    def _audit(self, user: str, action: str, detail: dict[str, Any]) -> None:
        self._audit_log.audit(at=time.time(), user=user, action=action, detail=detail)

    def after_password(
        self, request: Request, name: str, account: A, kind: str, otp: str | None
    ) -> Response:
        """The password was right: a session, or what the second factor still needs."""
        enrolment = self.factors.enrolment(name, account)
        if not self.factors.required(account, enrolment):
            return self.session_response(request, *self._open(request, name, account, kind, {}))
        if enrolment is None:
            return self._not_enrolled(request, name, account, kind)
        if otp is None:
            return error(CODE_NEEDED, 401, second_factor="totp")
        return self._second_factor(request, name, account, kind, enrolment, otp)

    def _second_factor(
        self, request: Request, name: str, account: A, kind: str, enrolment: Enrolment, otp: str
    ) -> Response:
        client = _client(request)
        if self.codes.blocked(name):
            self._audit(name, "second factor refused (too many wrong codes)", {"from": client})
            return error(TOO_MANY_CODES, 429)
        checked = self.factors.check(name, enrolment, otp)
        if not checked.ok:
            self.limiter.failed(name, client)
            self.codes.failed(name)
            self._audit(name, "second factor failed", {"from": client, "why": checked.outcome})
            hint = " (wait for the next one)" if checked.outcome is Outcome.REPLAYED else ""
            return error(f"{checked.outcome}{hint}", 401)
        if checked.outcome is Outcome.RECOVERY:
            left = {"from": client, "recovery_codes_left": checked.recovery_left}
            self._audit(name, "recovery code used", left)
        opened = self._open(request, name, account, kind, {"second_factor": checked.outcome})
        return self.session_response(request, *opened)

    def _not_enrolled(self, request: Request, name: str, account: A, kind: str) -> Response:
        client = _client(request)
        told = self._not_enrolled_text.get(kind)
        if told is not None:  # only a console has an enrolment page
            self._audit(name, "login refused (second factor not set up)", {"from": client})
            return error(told.format(user=name), 403)
        self.limiter.succeeded(name, client)
        token, principal = self._sessions.create(name, account, "enrol")
        self._audit(name, "login (second factor enrolment)", {"from": client})
        return self.session_response(request, token, principal, enrol=True)

    def _open(
        self, request: Request, name: str, account: A, kind: str, detail: dict[str, Any]
    ) -> tuple[str, P]:
        """A new session for a user who passed every check (token, principal)."""
        client = _client(request)
        self.limiter.succeeded(name, client)
        passed = "second_factor" in detail  # checked, or just set up
        token, principal = self._sessions.create(name, account, kind, second_factor=passed)
        detail = {"from": client, "role": account.role.value} | detail
        self._audit(name, f"login ({kind})", detail)
        return token, principal

    def session_response(
        self, request: Request, token: str, principal: P, **extra: Any
    ) -> Response:
        body = {"user": principal.user, "role": principal.role.value, "csrf": principal.csrf}
        if principal.kind == "cli":
            return JSONResponse(body | {"token": token})
        response = JSONResponse(body | extra)
        response.set_cookie(
            SESSION_COOKIE,
            token,
            max_age=self._ttl[principal.kind],
            httponly=True,
            samesite="strict",
            secure=request.url.scheme == "https",
            path="/",
        )
        return response

    def enrolling(self, request: Request) -> tuple[str, P] | None:
        """The caller's enrolment session (token, principal), CSRF-checked if it changes."""
        token = request.cookies.get(SESSION_COOKIE, "")
        principal = self._sessions.lookup(token, kind="enrol") if token else None
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
        account = self._accounts.account(name)
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
        self._sessions.end(token)
        self._audit(name, "second factor enrolled (console)", {"from": client})
        enrolled = {"second_factor": "enrolled"}
        token, principal = self._open(request, name, account, "console", enrolled)
        return self.session_response(request, token, principal, recovery_codes=codes)


def _client(request: Request) -> str:
    return request.client.host if request.client else "unknown"
