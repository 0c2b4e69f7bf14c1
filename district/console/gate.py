"""The one gate in front of the district's pages and JSON API: who is calling, and may they.

A bearer token (a script reading the API) or a session cookie (the console); a cookie also
rides along on any request the browser makes, so a changing request must carry the page's
CSRF token too (hub.access.same_origin, the school console's own check).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from district.sessions import DistrictPrincipal, DistrictSessions
from district.users import Permission
from hub.access import Handler, caller, error, refusal_response
from hub.console_control import ConsoleControl
from hub.errors import Refused

PageHandler = Callable[[Request, DistrictPrincipal], Awaitable[Response]]
ErrorPage = Callable[[Request, DistrictPrincipal, str, int], Response]


class Gate:
    def __init__(self, sessions: DistrictSessions, control: ConsoleControl) -> None:
        self.sessions, self.control = sessions, control

    def principal(self, request: Request) -> DistrictPrincipal | None:
        return caller(request, lambda token, kind: self.sessions.lookup(token, kind=kind))

    def api(self, permission: Permission, handler: Handler, *, controlled: bool = False) -> Handler:
        """A JSON route: a session whose role has ``permission``; ``controlled``: a change
        only the console in control may make (a script's session is audited instead)."""

        async def guarded(request: Request) -> Response:
            principal = self.principal(request)
            if principal is None:
                return error("authentication required: log in to the district console", 401)
            if not principal.may(permission):
                return error(f"role {principal.role} may not {permission}", 403)
            request.state.principal = principal
            try:
                if controlled:
                    self.control.authorize(principal, f"{request.method} {request.url.path}")
                return await handler(request)
            except Refused as refusal:
                return refusal_response(refusal)

        return guarded

    def page(self, permission: Permission, handler: PageHandler, refused: ErrorPage) -> Handler:
        """A page: login required (else to the login page), role checked on the server."""

        async def guarded(request: Request) -> Response:
            principal = self.principal(request)
            if principal is None or principal.kind != "console":
                return RedirectResponse("/login", status_code=303)
            if not principal.may(permission):
                message = f"Your role ({principal.role}) may not {permission}."
                return refused(request, principal, message, 403)
            try:
                return await handler(request, principal)
            except Refused as refusal:
                return refused(
                    request, principal, str(refusal), refusal_response(refusal).status_code
                )

        return guarded
