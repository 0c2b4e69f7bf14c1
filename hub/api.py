"""The hub's HTTP JSON API (Starlette), used by ``roomcast issue / status`` and the console.

Every route but ``/api/health`` and ``/api/login`` needs a session, and each checks the
caller's role on the server. Every action is recorded in the audit log with who did it.
Directives, releases and alert acknowledgements from a console also need console control
(UL 2572, see :mod:`hub.control`). The web console's pages (:mod:`hub.console`) are served
by the same app, and every response carries the security headers of
:mod:`hub.console.security`.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import TYPE_CHECKING, Any

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import BaseRoute, Route

from hub.auth import LoginLimiter, Permission, Principal, Sessions, Users
from hub.campus import DirectiveRequest, HubError
from hub.console.security import SecurityHeaders
from hub.control import ConsoleControl
from hub.drills import record_presence
from hub.login import SESSION_COOKIE, Logins
from hub.login import error as _error
from hub.login import json_body as _json_body
from hub.proxies import ForwardedFor
from hub.views import ALERT_PAGE, alert_listing, campus_status
from protocol.messages import CommandKind
from protocol.srp import parse_action
from protocol.topics import ScopeKind

if TYPE_CHECKING:
    from hub.service import HubService

Handler = Callable[[Request], Awaitable[Response]]


HISTORY = 100
HEARTBEAT_S = 2.0
"""A quiet stream still says something this often; the console's watchdog trusts it."""
"""How many directives ``GET /api/directives`` returns: the newest."""


def create_app(hub: HubService, *, extra_routes: list[BaseRoute] | None = None) -> Starlette:
    """Build the ASGI app around a running hub service: the API and the console's pages."""
    from hub.console.routes import console_routes  # here: the console imports this module

    api = Api(hub)
    allow, controlled = api.allow, api.controlled
    routes: list[BaseRoute] = [
        Route("/api/health", api.health),
        Route("/api/login", api.logins.login, methods=["POST"]),
        Route("/api/enrol", api.logins.enrol, methods=["POST"]),
        Route("/api/logout", allow(Permission.READ, api.logout), methods=["POST"]),
        Route("/api/whoami", allow(Permission.READ, api.whoami)),
        Route("/api/status", allow(Permission.READ, api.status)),
        Route("/api/directives", allow(Permission.READ, api.history), methods=["GET"]),
        Route("/api/directives", allow(Permission.ISSUE, controlled(api.issue)), methods=["POST"]),
        Route("/api/directives/{seq:int}", allow(Permission.READ, api.report)),
        Route(
            "/api/rooms/{room}/release",
            allow(Permission.RELEASE, controlled(api.release)),
            methods=["POST"],
        ),
        Route("/api/alerts", allow(Permission.READ, api.alerts)),
        Route(
            "/api/alerts/{event_id}/ack",
            allow(Permission.ACK_ALERT, controlled(api.ack_alert)),
            methods=["POST"],
        ),
        Route(
            "/api/devices/{device_id}/command",
            allow(Permission.MANAGE_DEVICES, api.command),
            methods=["POST"],
        ),
        Route("/api/audit", allow(Permission.AUDIT, api.audit)),
        Route("/api/stream", allow(Permission.READ, api.stream)),
        Route("/api/control", allow(Permission.READ, api.control_state)),
        Route("/api/control/take", allow(Permission.CONTROL, api.take_control), methods=["POST"]),
        Route(
            "/api/control/release",
            allow(Permission.CONTROL, api.release_control),
            methods=["POST"],
        ),
    ]
    return Starlette(
        routes=routes + console_routes(api) + (extra_routes or []),
        middleware=[
            Middleware(ForwardedFor, trusted=hub.config.trusted_proxies),
            Middleware(SecurityHeaders),
        ],
    )


class Api:
    def __init__(self, hub: HubService) -> None:
        self.hub = hub
        self.users = Users(hub.config.users_file)
        self.sessions = Sessions(hub.store, self.users, factor_roles=hub.config.totp_required_for)
        self.limiter = LoginLimiter()
        self.control = ConsoleControl(hub.store, hub.bus, lapse_s=hub.config.control_lapse_s)
        self.logins = Logins(self)

    def principal(self, request: Request) -> Principal | None:
        """The caller: a bearer token (command line) or a session cookie (console)."""
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() == "bearer" and token:
            return self.sessions.lookup(token, kind="cli")
        cookie = request.cookies.get(SESSION_COOKIE)
        if not cookie:
            return None
        principal = self.sessions.lookup(cookie, kind="console")
        if principal is None or request.method in ("GET", "HEAD"):
            return principal
        # A cookie rides along on any request the browser makes; a changing request must
        # also prove it came from our page (CSRF).
        sent = request.headers.get("x-csrf-token", "")
        return principal if secrets.compare_digest(sent, principal.csrf) else None

    def allow(self, permission: Permission, handler: Handler) -> Handler:
        async def guarded(request: Request) -> Response:
            principal = self.principal(request)
            if principal is None:
                return _error("authentication required: log in (roomcast login)", 401)
            if not principal.may(permission):
                return _error(f"role {principal.role} may not {permission}", 403)
            request.state.user = principal.user
            request.state.principal = principal
            try:
                return await handler(request)
            except HubError as error:
                return _error(str(error), error.status)

        return guarded

    def controlled(self, handler: Handler) -> Handler:
        """Wrap a changing route: a console needs control (409 otherwise); see hub.control."""

        async def guarded(request: Request) -> Response:
            action = f"{request.method} {request.url.path}"
            self.control.authorize(request.state.principal, action)
            return await handler(request)

        return guarded

    async def logout(self, request: Request) -> Response:
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        self.control.forget(request.state.principal)
        self.sessions.end(token if scheme.lower() == "bearer" else request.cookies[SESSION_COOKIE])
        self._audit(request.state.user, "logout", {})
        response = JSONResponse({"ok": True})
        response.delete_cookie(SESSION_COOKIE, path="/")
        return response

    async def whoami(self, request: Request) -> Response:
        principal: Principal = request.state.principal
        return JSONResponse({"user": principal.user, "role": principal.role.value})

    def _audit(self, user: str, action: str, detail: dict[str, Any]) -> None:
        self.hub.store.audit(at=time.time(), user=user, action=action, detail=detail)

    async def health(self, request: Request) -> Response:
        return JSONResponse({"ok": True, "broker_connected": self.hub.connected.is_set()})

    async def status(self, request: Request) -> Response:
        connected = self.hub.connected.is_set()
        status = campus_status(
            self.hub.campus, self.hub.store, connected=connected, floods=self.hub.guard.floods()
        )
        return JSONResponse(status)

    async def history(self, request: Request) -> Response:
        """The newest ``HISTORY`` directives, oldest first."""
        since = max(0, self.hub.campus.latest_seq - HISTORY)
        directives = self.hub.store.directives(since_seq=since, limit=HISTORY)
        return JSONResponse([self.hub.campus.directive_report(d) for d in directives])

    async def report(self, request: Request) -> Response:
        seq = request.path_params["seq"]
        found = self.hub.store.directives(since_seq=seq - 1, limit=1)
        if not found or found[0].seq != seq:
            raise HubError(f"no directive with seq {seq}", 404)
        return JSONResponse(self.hub.campus.directive_report(found[0]))

    async def issue(self, request: Request) -> Response:
        body = await _json_body(request)
        directive = self.hub.campus.issue(directive_request(body), user=request.state.user)
        return self._issued(directive.seq)

    async def release(self, request: Request) -> Response:
        room = request.path_params["room"]
        directive = self.hub.campus.release(room, user=request.state.user)
        return self._issued(directive.seq)

    def _issued(self, seq: int) -> Response:
        directive = self.hub.store.directives(since_seq=seq - 1, limit=1)[0]
        record_presence(self.hub.store, self.hub.campus, directive)
        body = self.hub.campus.directive_report(directive)
        body["published"] = self.hub.directive_published(seq)
        return JSONResponse(body, status_code=201 if body["published"] else 202)

    async def command(self, request: Request) -> Response:
        body = await _json_body(request)
        try:
            kind = CommandKind(str(body.get("kind")))
        except ValueError:
            raise HubError(f"kind must be one of {[k.value for k in CommandKind]}") from None
        device_id = request.path_params["device_id"]
        command = self.hub.send_command(device_id, kind, user=request.state.user)
        return JSONResponse(
            {
                "seq": command.seq,
                "device_id": device_id,
                "kind": kind.value,
                "expires_at": command.expires_at,
            },
            status_code=202,
        )

    async def alerts(self, request: Request) -> Response:
        """``{"open": every open alert, "alerts": one page of all, "next": cursor}``;
        ``?before=<cursor>`` pages on, ``?limit=`` up to 500."""
        try:
            limit = int(request.query_params.get("limit", ALERT_PAGE))
            listing = alert_listing(
                self.hub.store, before=request.query_params.get("before"), limit=limit
            )
        except ValueError as error:
            raise HubError(f"{error}; use the 'next' value of the previous page") from None
        return JSONResponse(listing)

    async def ack_alert(self, request: Request) -> Response:
        self.hub.campus.acknowledge_alert(request.path_params["event_id"], user=request.state.user)
        return JSONResponse({"ok": True})

    async def control_state(self, request: Request) -> Response:
        return JSONResponse(self.control.state(request.state.principal))

    async def take_control(self, request: Request) -> Response:
        reason = (await _json_body(request)).get("reason", "")
        if not isinstance(reason, str):
            raise HubError("reason must be a string")
        self.control.take(request.state.principal, reason)
        return JSONResponse(self.control.state(request.state.principal))

    async def release_control(self, request: Request) -> Response:
        self.control.release(request.state.principal)
        return JSONResponse(self.control.state(request.state.principal))

    async def audit(self, request: Request) -> Response:
        """Newest first, 500 a page; ``?before=<id of the last entry>`` for the next."""
        try:
            before = int(request.query_params.get("before", 0)) or None
        except ValueError:
            raise HubError("before must be the id of an audit entry (an integer)") from None
        return JSONResponse(self.hub.store.audit_log(before_id=before))

    async def stream(self, request: Request) -> Response:
        """Server-sent events: one ``data:`` line per campus change, and a ``heartbeat``
        event every ``HEARTBEAT_S`` so a page can tell a quiet hub from a stalled one."""
        principal: Principal = request.state.principal

        async def events() -> AsyncIterator[str]:
            with self.control.watching(principal), self.hub.bus.subscribe() as queue:
                yield ": connected\n\n"
                while True:
                    try:
                        async with asyncio.timeout(HEARTBEAT_S):
                            update = await queue.get()
                    except TimeoutError:
                        yield f"event: heartbeat\ndata: {json.dumps({'at': time.time()})}\n\n"
                        continue
                    yield f"data: {json.dumps(update)}\n\n"

        return StreamingResponse(events(), media_type="text/event-stream")


def directive_request(body: dict[str, Any]) -> DirectiveRequest:
    allowed = {"action", "scope", "target", "drill", "location", "hazard", "strategy", "note"}
    unknown = set(body) - allowed
    if unknown:
        raise HubError(f"unknown field(s) {sorted(unknown)}")
    try:
        action = parse_action(str(body.get("action", "")))
        scope = ScopeKind(body.get("scope", "site"))
    except ValueError as error:
        raise HubError(str(error)) from None
    drill = body.get("drill")  # absent: the hub decides (an All clear follows what it ends)
    if drill is not None and not isinstance(drill, bool):
        raise HubError("drill must be true or false")
    texts = {k: body.get(k) for k in ("target", "location", "hazard", "strategy", "note")}
    for key, value in texts.items():
        if value is not None and not isinstance(value, str):
            raise HubError(f"{key} must be a string")
    return DirectiveRequest(
        action=action,
        scope=scope,
        target=texts["target"] or "",
        drill=drill,
        location=texts["location"] or None,
        hazard=texts["hazard"] or None,
        strategy=texts["strategy"] or None,
        note=texts["note"] or None,
    )
