"""Directives over HTTP, for the API and the console alike: a JSON body in, the issued
directive's report out."""

from __future__ import annotations

from typing import Any

from starlette.responses import JSONResponse, Response

from hub.directives import DirectiveRequest
from hub.errors import Invalid
from hub.parts import HubParts
from protocol.messages import Directive
from protocol.srp import parse_action
from protocol.topics import ScopeKind

FIELDS = ("action", "scope", "target", "drill", "location", "hazard", "strategy", "note")
TEXTS = ("target", "location", "hazard", "strategy", "note")


def directive_request(body: dict[str, Any]) -> DirectiveRequest:
    """A JSON body as the engine's request; Invalid, saying which field, when it is not one."""
    unknown = set(body) - set(FIELDS)
    if unknown:
        raise Invalid(f"unknown field(s) {sorted(unknown)}")
    try:
        action = parse_action(str(body.get("action", "")))
        scope = ScopeKind(body.get("scope", "site"))
    except ValueError as error:
        raise Invalid(str(error)) from None
    drill = body.get("drill")  # absent: the hub decides (an All clear follows what it ends)
    if drill is not None and not isinstance(drill, bool):
        raise Invalid("drill must be true or false")
    texts = {k: body.get(k) for k in TEXTS}
    for key, value in texts.items():
        if value is not None and not isinstance(value, str):
            raise Invalid(f"{key} must be a string")
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


def issued_response(parts: HubParts, directive: Directive) -> Response:
    """The directive the engine just issued, with its report: 201 when it went out, 202 when
    it waits for the broker link (it is published on reconnect)."""
    body = parts.engine.acks.directive_report(directive)
    body["published"] = parts.published(directive.seq)
    return JSONResponse(body, status_code=201 if body["published"] else 202)
