"""Logging in and out, console control, and the live stream of the district console.

As at the school: a login is rate-limited per address and per user name from an address
(hub.auth.LoginLimiter: never per name alone, or anyone could lock an officer out during
an emergency), every login and failed login is audited, and a console session gets an
HttpOnly, SameSite=Strict cookie plus a CSRF token the page sends back on every change.
After the password comes the second factor, where the role needs one (district.console.factors).
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse

from district.console.factors import DistrictFactors
from district.console.gate import Gate
from district.console_store import ConsoleStore
from district.sessions import KINDS, DistrictPrincipal
from district.users import UsersUnavailable
from hub.access import SESSION_COOKIE, error, json_body
from hub.auth import LoginLimiter
from hub.bus import Bus
from hub.errors import Invalid

HEARTBEAT_S = 2.0
"""A quiet stream still says something this often (the console's watchdog counts on it)."""
USERS_DAMAGED = (
    "nobody can log in: the district's users file is damaged or missing; IT must fix it "
    "(the district service's log names the file and the entry)"
)


class SessionsApi:
    def __init__(
        self,
        gate: Gate,
        store: ConsoleStore,
        bus: Bus,
        limiter: LoginLimiter,
        factors: DistrictFactors,
    ) -> None:
        self.gate, self.store, self.bus, self.limiter = gate, store, bus, limiter
        self.factors = factors
        self.sessions, self.control = gate.sessions, gate.control

    def _audit(self, user: str, action: str, detail: dict[str, Any]) -> None:
        self.store.audit(at=time.time(), user=user, action=action, detail=detail)

    async def login(self, request: Request) -> Response:
        body = await json_body(request)
        name, password, kind = body.get("user"), body.get("password"), body.get("kind", "cli")
        if not isinstance(name, str) or not isinstance(password, str) or kind not in KINDS:
            raise Invalid('send {"user": ..., "password": ..., "kind": "console" or "cli"}')
        otp = body.get("otp")
        if otp is not None and (not isinstance(otp, str) or len(otp) > 64):
            raise Invalid('"otp" must be the code as a string')
        client = request.client.host if request.client else "unknown"
        if self.limiter.blocked(name, client):
            self._audit(name, "login refused (rate limit)", {"from": client})
            return error("too many failed logins; wait a minute and try again", 429)
        try:
            account = await asyncio.to_thread(self.sessions.users.verify, name, password)
        except UsersUnavailable:
            self._audit(name, "login refused (users file damaged)", {"from": client})
            return error(USERS_DAMAGED, 401)
        if account is None:
            self.limiter.failed(name, client)
            self._audit(name, "login failed", {"from": client})
            return error("wrong user name or password", 401)
        return self.factors.after_password(request, name, account, kind, otp or None)

    async def logout(self, request: Request) -> Response:
        principal: DistrictPrincipal = request.state.principal
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        self.control.forget(principal)
        self.sessions.end(token if scheme.lower() == "bearer" else request.cookies[SESSION_COOKIE])
        self._audit(principal.user, "logout", {})
        response = JSONResponse({"ok": True})
        response.delete_cookie(SESSION_COOKIE, path="/")
        return response

    async def whoami(self, request: Request) -> Response:
        principal: DistrictPrincipal = request.state.principal
        return JSONResponse({"user": principal.user, "role": principal.role.value})

    async def take_control(self, request: Request) -> Response:
        reason = (await json_body(request)).get("reason", "")
        if not isinstance(reason, str):
            raise Invalid("reason must be a string")
        self.control.take(request.state.principal, reason)
        return JSONResponse(self.control.state(request.state.principal))

    async def release_control(self, request: Request) -> Response:
        self.control.release(request.state.principal)
        return JSONResponse(self.control.state(request.state.principal))

    async def stream(self, request: Request) -> Response:
        """Server-sent events: one ``data:`` line per change (a school's message believed,
        control taken or released) and a ``heartbeat`` every ``HEARTBEAT_S``. An open
        stream is what keeps a console present for control (hub.console_control)."""
        live = self.control.live(request.state.principal, heartbeat_s=HEARTBEAT_S)
        return StreamingResponse(live, media_type="text/event-stream")
