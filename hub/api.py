"""The hub's HTTP JSON API (Starlette), used by ``roomcast issue / status`` and the console.

Every route but ``/api/health`` and ``/api/login`` needs a session, and each checks the
caller's role on the server (:mod:`hub.access`). Every action is recorded in the audit log
with who did it. Directives, releases and alert acknowledgements from a console also need
console control (UL 2572, see :mod:`hub.console_control`).
"""

from __future__ import annotations

import time
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import BaseRoute, Route

from hub.access import SESSION_COOKIE, Access, json_body
from hub.auth import Permission, Principal
from hub.directive_json import directive_request, issued_response
from hub.errors import Invalid, NotFound
from hub.login import Logins
from hub.parts import HubParts
from hub.queries import ALERT_PAGE, alert_listing, campus_status, with_handoffs
from protocol.messages import CommandKind

HISTORY = 100
"""How many directives ``GET /api/directives`` returns: the newest."""
HEARTBEAT_S = 2.0
"""A quiet stream still says something this often; the console's watchdog trusts it."""


def api_routes(parts: HubParts, access: Access, logins: Logins) -> list[BaseRoute]:
    """The JSON API's routes, each behind its role check (and console control if it changes)."""
    api = Api(parts, access)
    allow, controlled = access.allow, access.controlled
    return [
        Route("/api/health", api.health),
        Route("/api/login", logins.login, methods=["POST"]),
        Route("/api/enrol", logins.enrol, methods=["POST"]),
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
        Route("/api/relay/test", allow(Permission.TEST_RELAY, api.relay_test), methods=["POST"]),
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


class Api:
    def __init__(self, parts: HubParts, access: Access) -> None:
        self.parts, self.engine, self.store = parts, parts.engine, parts.store
        self.access, self.control = access, access.control

    async def logout(self, request: Request) -> Response:
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        self.control.forget(request.state.principal)
        self.access.sessions.end(
            token if scheme.lower() == "bearer" else request.cookies[SESSION_COOKIE]
        )
        self._audit(request.state.user, "logout", {})
        response = JSONResponse({"ok": True})
        response.delete_cookie(SESSION_COOKIE, path="/")
        return response

    async def whoami(self, request: Request) -> Response:
        principal: Principal = request.state.principal
        return JSONResponse({"user": principal.user, "role": principal.role.value})

    def _audit(self, user: str, action: str, detail: dict[str, Any]) -> None:
        self.store.audit(at=time.time(), user=user, action=action, detail=detail)

    async def health(self, request: Request) -> Response:
        return JSONResponse({"ok": True, "broker_connected": self.parts.connected()})

    async def status(self, request: Request) -> Response:
        status = campus_status(
            self.engine,
            self.store,
            connected=self.parts.connected(),
            floods=self.parts.floods(),
            handoffs=self.parts.handoffs,
            weather=None if self.parts.weather is None else self.parts.weather.health(),
        )
        return JSONResponse(status)

    async def history(self, request: Request) -> Response:
        """The newest ``HISTORY`` directives, oldest first."""
        since = max(0, self.engine.directives.latest_seq - HISTORY)
        directives = self.store.directives(since_seq=since, limit=HISTORY)
        return JSONResponse([self.engine.acks.directive_report(d) for d in directives])

    async def report(self, request: Request) -> Response:
        seq = request.path_params["seq"]
        found = self.store.directives(since_seq=seq - 1, limit=1)
        if not found or found[0].seq != seq:
            raise NotFound(f"no directive with seq {seq}")
        return JSONResponse(self.engine.acks.directive_report(found[0]))

    async def issue(self, request: Request) -> Response:
        body = await json_body(request)
        directive = self.engine.directives.issue(directive_request(body), user=request.state.user)
        return issued_response(self.parts, directive)

    async def release(self, request: Request) -> Response:
        room = request.path_params["room"]
        directive = self.engine.directives.release(room, user=request.state.user)
        return issued_response(self.parts, directive)

    async def command(self, request: Request) -> Response:
        body = await json_body(request)
        try:
            kind = CommandKind(str(body.get("kind")))
        except ValueError:
            raise Invalid(f"kind must be one of {[k.value for k in CommandKind]}") from None
        device_id = request.path_params["device_id"]
        command = self.parts.send_command(device_id, kind, user=request.state.user)
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
                self.store, before=request.query_params.get("before"), limit=limit
            )
        except ValueError as error:
            raise Invalid(f"{error}; use the 'next' value of the previous page") from None
        handoffs = self.parts.handoffs
        for part in ("open", "alerts"):  # each alert with its deliveries beyond the building
            listing[part] = with_handoffs(handoffs, listing[part])
        return JSONResponse(listing)

    async def relay_test(self, request: Request) -> Response:
        """``{"destination": name}`` (or none: every destination): queue a Test message to
        each, wait (bounded) for its first attempt, and say what it met."""
        handoffs = self.parts.handoffs
        if handoffs is None:
            raise NotFound("this hub has no relay: there is no relay.toml beside hub.json")
        names = [d.name for d in handoffs.destinations]
        wanted = (await json_body(request)).get("destination")
        if wanted is not None:
            if wanted not in names:
                raise NotFound(f"no destination {wanted!r}; relay.toml has {', '.join(names)}")
            names = [str(wanted)]
        self._audit(request.state.user, "relay test", {"destinations": ", ".join(names)})
        return JSONResponse({"results": await handoffs.test(names)})

    async def ack_alert(self, request: Request) -> Response:
        self.engine.acks.acknowledge_alert(request.path_params["event_id"], user=request.state.user)
        return JSONResponse({"ok": True})

    async def control_state(self, request: Request) -> Response:
        return JSONResponse(self.control.state(request.state.principal))

    async def take_control(self, request: Request) -> Response:
        reason = (await json_body(request)).get("reason", "")
        if not isinstance(reason, str):
            raise Invalid("reason must be a string")
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
            raise Invalid("before must be the id of an audit entry (an integer)") from None
        return JSONResponse(self.store.audit_log(before_id=before))

    async def stream(self, request: Request) -> Response:
        """Server-sent events: one ``data:`` line per campus change, and a ``heartbeat``
        event every ``HEARTBEAT_S`` so a page can tell a quiet hub from a stalled one."""
        live = self.control.live(request.state.principal, heartbeat_s=HEARTBEAT_S)
        return StreamingResponse(live, media_type="text/event-stream")
