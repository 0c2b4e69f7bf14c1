"""The hub's HTTP JSON API (Starlette), used by ``roomcast issue / status`` and the console.

Every route but ``/api/health`` needs the bearer token; every action is recorded in the
audit log with who did it.
"""

from __future__ import annotations

import asyncio
import json
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import TYPE_CHECKING, Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from hub.campus import DirectiveRequest, HubError
from hub.views import alerts, campus_status
from protocol.srp import parse_action
from protocol.topics import ScopeKind

if TYPE_CHECKING:
    from hub.service import HubService

Handler = Callable[[Request], Awaitable[Response]]
MAX_BODY = 16 * 1024


def create_app(hub: HubService) -> Starlette:
    """Build the ASGI app around a running hub service."""
    api = _Api(hub)
    routes = [
        Route("/api/health", api.health),
        Route("/api/status", api.authorised(api.status)),
        Route("/api/directives", api.authorised(api.history), methods=["GET"]),
        Route("/api/directives", api.authorised(api.issue), methods=["POST"]),
        Route("/api/directives/{seq:int}", api.authorised(api.report)),
        Route("/api/rooms/{room}/release", api.authorised(api.release), methods=["POST"]),
        Route("/api/alerts", api.authorised(api.alerts)),
        Route("/api/alerts/{event_id}/ack", api.authorised(api.ack_alert), methods=["POST"]),
        Route("/api/audit", api.authorised(api.audit)),
        Route("/api/stream", api.authorised(api.stream)),
    ]
    return Starlette(routes=routes)


class _Api:
    def __init__(self, hub: HubService) -> None:
        self.hub = hub

    def authorised(self, handler: Handler) -> Handler:
        async def guarded(request: Request) -> Response:
            header = request.headers.get("authorization", "")
            scheme, _, token = header.partition(" ")
            if scheme.lower() != "bearer" or not secrets.compare_digest(
                token.encode(), self.hub.config.api_token.encode()
            ):
                return _error("authentication required (bearer token)", 401)
            request.state.user = "api-token"
            try:
                return await handler(request)
            except HubError as error:
                return _error(str(error), error.status)

        return guarded

    async def health(self, request: Request) -> Response:
        return JSONResponse({"ok": True, "broker_connected": self.hub.connected.is_set()})

    async def status(self, request: Request) -> Response:
        connected = self.hub.connected.is_set()
        return JSONResponse(campus_status(self.hub.campus, self.hub.store, connected=connected))

    async def history(self, request: Request) -> Response:
        directives = self.hub.store.directives()
        return JSONResponse([self.hub.campus.directive_report(d) for d in directives[-100:]])

    async def report(self, request: Request) -> Response:
        seq = request.path_params["seq"]
        found = self.hub.store.directives(since_seq=seq - 1, limit=1)
        if not found or found[0].seq != seq:
            raise HubError(f"no directive with seq {seq}", 404)
        return JSONResponse(self.hub.campus.directive_report(found[0]))

    async def issue(self, request: Request) -> Response:
        body = await _json_body(request)
        directive = self.hub.campus.issue(_directive_request(body), user=request.state.user)
        return self._issued(directive.seq)

    async def release(self, request: Request) -> Response:
        room = request.path_params["room"]
        directive = self.hub.campus.release(room, user=request.state.user)
        return self._issued(directive.seq)

    def _issued(self, seq: int) -> Response:
        directive = self.hub.store.directives(since_seq=seq - 1, limit=1)[0]
        body = self.hub.campus.directive_report(directive)
        body["published"] = self.hub.connected.is_set()
        return JSONResponse(body, status_code=201 if body["published"] else 202)

    async def alerts(self, request: Request) -> Response:
        return JSONResponse(alerts(self.hub.store))

    async def ack_alert(self, request: Request) -> Response:
        self.hub.campus.acknowledge_alert(request.path_params["event_id"], user=request.state.user)
        return JSONResponse({"ok": True})

    async def audit(self, request: Request) -> Response:
        return JSONResponse(self.hub.store.audit_log())

    async def stream(self, request: Request) -> Response:
        """Server-sent events: one ``data:`` line per campus change."""

        async def events() -> AsyncIterator[str]:
            with self.hub.bus.subscribe() as queue:
                yield ": connected\n\n"
                while True:
                    try:
                        async with asyncio.timeout(15):
                            update = await queue.get()
                    except TimeoutError:
                        yield ": keep-alive\n\n"
                        continue
                    yield f"data: {json.dumps(update)}\n\n"

        return StreamingResponse(events(), media_type="text/event-stream")


def _error(message: str, status: int) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


async def _json_body(request: Request) -> dict[str, Any]:
    raw = await request.body()
    if len(raw) > MAX_BODY:
        raise HubError(f"request body over {MAX_BODY} bytes", 413)
    try:
        body = json.loads(raw or b"{}")
    except json.JSONDecodeError as error:
        raise HubError(f"request body is not JSON: {error.msg}") from None
    if not isinstance(body, dict):
        raise HubError("request body must be a JSON object")
    return body


def _directive_request(body: dict[str, Any]) -> DirectiveRequest:
    allowed = {"action", "scope", "target", "drill", "location", "hazard", "strategy", "note"}
    unknown = set(body) - allowed
    if unknown:
        raise HubError(f"unknown field(s) {sorted(unknown)}")
    try:
        action = parse_action(str(body.get("action", "")))
        scope = ScopeKind(body.get("scope", "site"))
    except ValueError as error:
        raise HubError(str(error)) from None
    drill = body.get("drill", False)
    if not isinstance(drill, bool):
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
