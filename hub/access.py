"""The one gate in front of the API and the console: who is calling, and may they.

The caller is a bearer token (command line) or a session cookie (console); a cookie also
rides along on any request the browser makes, so a changing request must carry the page's
CSRF token too. The hub's refusals (:mod:`hub.errors`) become HTTP answers here and nowhere
else; the console's pages ask :func:`http_status` for theirs.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Awaitable, Callable
from typing import Any, Protocol, TypeVar

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from hub.auth import Permission, Principal, Sessions
from hub.console_control import ConsoleControl
from hub.errors import Conflict, Forbidden, Invalid, NotFound, Refused

Handler = Callable[[Request], Awaitable[Response]]

SESSION_COOKIE = "roomcast_session"
MAX_BODY = 16 * 1024


class BodyTooLarge(Invalid):
    """A request body over MAX_BODY: refused before it is parsed."""


_STATUS: tuple[tuple[type[Refused], int], ...] = (
    (NotFound, 404),
    (Conflict, 409),
    (Forbidden, 403),
    (BodyTooLarge, 413),
)


def http_status(refusal: Refused) -> int:
    """The HTTP status a refusal answers with; 400 (a bad request) unless it says more."""
    return next((status for kind, status in _STATUS if isinstance(refusal, kind)), 400)


def error(message: str, status: int, **extra: Any) -> JSONResponse:
    return JSONResponse({"error": message} | extra, status_code=status)


def refusal_response(refusal: Refused) -> JSONResponse:
    """``error`` in English, as always; a refusal with values also names its ``message``
    and ``values``, so the console can word it in its user's language."""
    body: dict[str, Any] = {"error": str(refusal)}
    if refusal.values:
        body |= {"message": refusal.message, "values": refusal.values}
    return JSONResponse(body, status_code=http_status(refusal))


async def json_body(request: Request) -> dict[str, Any]:
    raw = await request.body()
    if len(raw) > MAX_BODY:
        raise BodyTooLarge(f"request body over {MAX_BODY} bytes")
    try:
        body = json.loads(raw or b"{}")
    except json.JSONDecodeError as problem:
        raise Invalid(f"request body is not JSON: {problem.msg}") from None
    if not isinstance(body, dict):
        raise Invalid("request body must be a JSON object")
    return body


class CsrfHolder(Protocol):
    """A console session's CSRF token: a hub's (hub.auth) or a district's."""

    @property
    def csrf(self) -> str: ...


def same_origin(request: Request, principal: CsrfHolder) -> bool:
    """A reading request, or a changing one that proves it came from our page (CSRF)."""
    if request.method in ("GET", "HEAD"):
        return True
    sent = request.headers.get("x-csrf-token", "")
    return secrets.compare_digest(sent, principal.csrf)


P = TypeVar("P", bound=CsrfHolder)


def caller(request: Request, lookup: Callable[[str, str], P | None]) -> P | None:
    """The caller by a bearer token (command line: ``cli``) or a session cookie (console:
    CSRF-checked if it changes something); ``lookup(token, kind)`` finds the session. The
    hub's and the district's consoles both ask this."""
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and token:
        return lookup(token, "cli")
    cookie = request.cookies.get(SESSION_COOKIE)
    if not cookie:
        return None
    principal = lookup(cookie, "console")
    return principal if principal is not None and same_origin(request, principal) else None


class Access:
    def __init__(self, sessions: Sessions, control: ConsoleControl) -> None:
        self.sessions, self.control = sessions, control

    def principal(self, request: Request) -> Principal | None:
        """The caller: a bearer token (command line) or a session cookie (console)."""
        return caller(request, lambda token, kind: self.sessions.lookup(token, kind=kind))

    def allow(self, permission: Permission, handler: Handler) -> Handler:
        """A JSON route: a session with the role for ``permission``; refusals answered."""

        async def guarded(request: Request) -> Response:
            principal = self.principal(request)
            if principal is None:
                return error("authentication required: log in (roomcast login)", 401)
            if not principal.may(permission):
                return error(f"role {principal.role} may not {permission}", 403)
            request.state.user = principal.user
            request.state.principal = principal
            try:
                return await handler(request)
            except Refused as refusal:
                return refusal_response(refusal)

        return guarded

    def controlled(self, handler: Handler) -> Handler:
        """Wrap a changing route (inside :meth:`allow`): a console needs control; see
        hub.console_control."""

        async def guarded(request: Request) -> Response:
            action = f"{request.method} {request.url.path}"
            self.control.authorize(request.state.principal, action)
            return await handler(request)

        return guarded
