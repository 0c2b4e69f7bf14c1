"""The district console's second factor: after the password, a TOTP code (or a recovery
code), or, for a user who must have one and has none, the school console's enrolment page.

A district safety officer's password alone could send a Lockdown to many schools, so the
roles that send (district-admin, safety-officer) need a second factor by default
(``totp_required_for`` in district.json may add viewer; leaving out a sender takes
``allow_directives_without_second_factor: true``). It is the school's own code: the same
checks (hub.second_factor: a code once per window, a recovery code once ever, wrong codes
capped per user and counted against the login limit), the same enrolment page and script
(hub.console.enrol, enrol.html, enrol.js), kept in the district's own ``second-factor.db``
(0600) in its state directory, beside ``console.db``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from enum import StrEnum
from pathlib import Path
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response

from district.console.render import Pages
from district.console_store import ConsoleStore
from district.sessions import SESSION_TTL_S, DistrictPrincipal, DistrictSessions
from district.users import DistrictAccount
from hub.access import SESSION_COOKIE, error, json_body, same_origin
from hub.auth import LoginLimiter
from hub.console.enrol import enrol_page
from hub.login import CODE_NEEDED, TOO_MANY_CODES
from hub.second_factor import (
    FILE_NAME,
    CodeLimiter,
    FactorStore,
    Outcome,
    PendingEnrolments,
    SecondFactor,
)
from protocol.district_accounts import SENDERS, DistrictRole
from protocol.factors import Enrolment

NOT_ENROLLED = (
    "{user} must set up a second factor before using the command line: log in to the "
    "district console once (it shows a QR code to scan), or ask IT to run "
    "`roomcast provision district user totp {user}`"
)
WHY = {
    DistrictRole.ADMIN: "can send directives to many schools at once",
    DistrictRole.SAFETY_OFFICER: "can send directives to many schools at once",
    DistrictRole.VIEWER: "sees every school of the district",
}


def session_reply(
    request: Request, token: str, principal: DistrictPrincipal, **extra: Any
) -> Response:
    """A login's answer: a script's bearer token, or a console's strict cookie."""
    body = {"user": principal.user, "role": principal.role.value, "csrf": principal.csrf}
    if principal.kind == "cli":
        return JSONResponse(body | {"token": token})
    response = JSONResponse(body | extra)
    response.set_cookie(
        SESSION_COOKIE, token, max_age=SESSION_TTL_S[principal.kind], httponly=True,
        samesite="strict", secure=request.url.scheme == "https", path="/",
    )  # fmt: skip
    return response


class DistrictFactors:
    def __init__(
        self,
        sessions: DistrictSessions,
        store: ConsoleStore,
        limiter: LoginLimiter,
        pages: Pages,
        *,
        state_dir: Path,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.sessions, self.store, self.limiter, self.pages = sessions, store, limiter, pages
        self.factor_store = FactorStore(state_dir / FILE_NAME)
        required: frozenset[StrEnum] = frozenset(sessions.factor_roles)
        self.factors = SecondFactor(self.factor_store, required, clock=clock)
        self.codes = CodeLimiter()
        self.pending = PendingEnrolments(ttl_s=SESSION_TTL_S["enrol"])

    def close(self) -> None:
        self.factor_store.close()

    def _audit(self, user: str, action: str, detail: dict[str, Any]) -> None:
        self.store.audit(at=time.time(), user=user, action=action, detail=detail)

    def after_password(
        self, request: Request, name: str, account: DistrictAccount, kind: str, otp: str | None
    ) -> Response:
        """The password was right: a session, or what the second factor still needs."""
        enrolment = self.factors.enrolment(name, account)
        if not self.factors.required(account, enrolment):
            return session_reply(request, *self._open(request, name, account, kind, {}))
        if enrolment is None:
            return self._not_enrolled(request, name, account, kind)
        if otp is None:
            return error(CODE_NEEDED, 401, second_factor="totp")
        return self._check(request, name, account, kind, enrolment, otp)

    def _check(
        self,
        request: Request,
        name: str,
        account: DistrictAccount,
        kind: str,
        enrolment: Enrolment,
        otp: str,
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
        passed = {"second_factor": checked.outcome}
        return session_reply(request, *self._open(request, name, account, kind, passed))

    def _not_enrolled(
        self, request: Request, name: str, account: DistrictAccount, kind: str
    ) -> Response:
        client = _client(request)
        if kind == "cli":
            self._audit(name, "login refused (second factor not set up)", {"from": client})
            return error(NOT_ENROLLED.format(user=name), 403)
        self.limiter.succeeded(name, client)
        token, principal = self.sessions.create(name, account, "enrol")
        self._audit(name, "login (second factor enrolment)", {"from": client})
        return session_reply(request, token, principal, enrol=True)

    def _open(
        self,
        request: Request,
        name: str,
        account: DistrictAccount,
        kind: str,
        detail: dict[str, Any],
    ) -> tuple[str, DistrictPrincipal]:
        client = _client(request)
        self.limiter.succeeded(name, client)
        passed = "second_factor" in detail  # checked, or just set up
        token, principal = self.sessions.create(name, account, kind, second_factor=passed)
        self._audit(name, f"login ({kind})", {"from": client, "role": account.role.value} | detail)
        return token, principal

    def _enrolling(self, request: Request) -> tuple[str, DistrictPrincipal] | None:
        token = request.cookies.get(SESSION_COOKIE, "")
        principal = self.sessions.lookup(token, kind="enrol") if token else None
        if principal is None or not same_origin(request, principal):
            return None
        return token, principal

    async def page(self, request: Request) -> Response:
        """``GET /enrol``: the school console's enrolment page, for a district user."""
        found = self._enrolling(request)
        if found is None:
            return RedirectResponse("/login", status_code=303)
        _, principal = found
        return enrol_page(
            self.pages.text,
            self.pending.secret(principal.session),
            site=f"district {self.pages.district}",
            user=principal.user,
            role=principal.role.value,
            csrf=principal.csrf,
            language="en",
            why=(
                f"{principal.user}, your role ({principal.role.value}) "
                f"{WHY[principal.role]}, so every login also needs a code from an "
                "authenticator app on your phone (any TOTP app)."
            ),
        )

    async def enrol(self, request: Request) -> Response:
        """``POST /api/enrol``: confirm the secret shown with a code from the app."""
        found = self._enrolling(request)
        if found is None:
            return error("log in again to set up the second factor", 401)
        token, principal = found
        name, client = principal.user, _client(request)
        code = (await json_body(request)).get("code")
        account = self.sessions.users.account(name)
        if not isinstance(code, str) or account is None:
            return error('send {"code": "123456"}', 400)
        if self.factors.enrolment(name, account) is not None:
            return error("a second factor is already set up for you; log in again", 409)
        if self.limiter.blocked(name, client) or self.codes.blocked(name):
            return error("too many wrong codes; wait a minute and try again", 429)
        codes = self.factors.confirm(name, account, self.pending.secret(principal.session), code)
        if codes is None:
            self.limiter.failed(name, client)
            self.codes.failed(name)
            self._audit(name, "second factor failed", {"from": client, "why": "enrolment code"})
            return error("wrong code: type the 6 digits the app shows now", 401)
        self.pending.forget(principal.session)
        self.sessions.end(token)
        self._audit(name, "second factor enrolled (console)", {"from": client})
        opened = self._open(request, name, account, "console", {"second_factor": "enrolled"})
        return session_reply(request, *opened, recovery_codes=codes)


def senders_unguarded(required_for: frozenset[DistrictRole]) -> frozenset[DistrictRole]:
    """The roles that send directives yet log in with a password alone (logged loudly)."""
    return SENDERS - required_for


def _client(request: Request) -> str:
    return request.client.host if request.client else "unknown"
