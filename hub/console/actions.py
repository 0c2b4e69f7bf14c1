"""Console actions that are more than one API call: take over control and issue, in one step.

In an emergency the console on the confirmation step must not be stopped by a console that
holds control elsewhere (UL 2572 still applies: one console at a time). ``POST
/api/control/take-and-issue`` checks the directive first (a wrong one takes nothing), then
takes control (a takeover needs a reason, which the audit log records with the previous
holder), then issues. Roles are checked on the server: issuing and taking control both.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from hub.access import json_body
from hub.auth import Permission, Principal
from hub.console.base import Console
from hub.directive_json import directive_request, issued_response
from hub.errors import Forbidden, Invalid


class ControlActions:
    def __init__(self, console: Console) -> None:
        self.console = console

    async def take_and_issue(self, request: Request) -> Response:
        principal: Principal = request.state.principal
        if not principal.may(Permission.CONTROL):
            raise Forbidden(f"role {principal.role} may not {Permission.CONTROL}")
        body = await json_body(request)
        reason, wanted = body.get("reason", ""), body.get("directive")
        if not isinstance(reason, str) or not isinstance(wanted, dict):
            raise Invalid('send {"reason": "...", "directive": {...}}')
        directives, control = self.console.engine.directives, self.console.control
        directive_wanted = directive_request(_strings(wanted))
        directives.validate(directive_wanted, user=principal.user)  # before control changes hands
        control.take(principal, reason)
        control.authorize(principal, "POST /api/control/take-and-issue")
        issued = directives.issue(directive_wanted, user=principal.user)
        return issued_response(self.console.parts, issued)


def _strings(body: dict[Any, Any]) -> dict[str, Any]:
    return {str(key): value for key, value in body.items()}
