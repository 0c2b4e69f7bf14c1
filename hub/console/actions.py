"""Console actions that are more than one API call: take over control and issue, in one step.

In an emergency the console on the confirmation step must not be stopped by a console that
holds control elsewhere (UL 2572 still applies: one console at a time). ``POST
/api/control/take-and-issue`` checks the directive first (a wrong one takes nothing), then
takes control (a takeover needs a reason, which the audit log records with the previous
holder), then issues. Roles are checked on the server: issuing and taking control both.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import Response

from hub.api import directive_request
from hub.auth import Permission, Principal
from hub.campus import HubError
from hub.login import json_body as _json_body

if TYPE_CHECKING:
    from hub.api import Api


class ControlActions:
    def __init__(self, api: Api) -> None:
        self.api = api

    async def take_and_issue(self, request: Request) -> Response:
        principal: Principal = request.state.principal
        if not principal.may(Permission.CONTROL):
            raise HubError(f"role {principal.role} may not {Permission.CONTROL}", 403)
        body = await _json_body(request)
        reason, wanted = body.get("reason", ""), body.get("directive")
        if not isinstance(reason, str) or not isinstance(wanted, dict):
            raise HubError('send {"reason": "...", "directive": {...}}')
        campus = self.api.hub.campus
        directive_wanted = directive_request(_strings(wanted))
        campus.validate(directive_wanted, user=principal.user)  # before control changes hands
        self.api.control.take(principal, reason)
        self.api.control.authorize(principal, "POST /api/control/take-and-issue")
        issued = campus.issue(directive_wanted, user=principal.user)
        return self.api._issued(issued.seq)


def _strings(body: dict[Any, Any]) -> dict[str, Any]:
    return {str(key): value for key, value in body.items()}
