"""Issuing a directive from the console: the form, and the confirmation that says in plain
words what will happen, to how many rooms, and whether it is a drill.

The confirmation page changes nothing (a GET); its button sends the directive to
``POST /api/directives`` with the CSRF token, where control and role are enforced.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from hub.access import http_status
from hub.auth import Principal
from hub.console.base import Console
from hub.console.board import Screen, screen_of
from hub.console.i18n import N_
from hub.directive_json import directive_request
from hub.directives import DirectiveRequest
from hub.drills import find_drills
from hub.engine import Engine
from hub.errors import Invalid, Refused
from hub.relay.views import Destination
from hub.store import HubStore
from hub.weather.view import banner_of
from protocol.inventory import Room
from protocol.srp import Action, is_idle
from protocol.topics import ScopeKind

ISSUABLE = (
    Action.HOLD,
    Action.SECURE,
    Action.LOCKDOWN,
    Action.EVACUATE,
    Action.SHELTER,
    Action.ALL_CLEAR,
)


@dataclass(frozen=True)
class Preview:
    request: DirectiveRequest
    term: str
    rooms: list[Room]
    scope_words: str
    screen: Screen
    offline: list[str]
    lockdown_rooms: list[str]
    drill_running_since: float | None

    @property
    def payload(self) -> dict[str, Any]:
        body = {f.name: getattr(self.request, f.name) for f in dataclasses.fields(self.request)}
        return {
            k: (v.value if k in ("action", "scope") else v)
            for k, v in body.items()
            if v is not None
        }

    @property
    def ends_drill(self) -> bool:
        idle = is_idle(self.request.action)
        return self.drill_running_since is not None and not self.request.drill and not idle


def form_request(form: Mapping[str, str]) -> DirectiveRequest:
    """The issue form's fields as a directive request (fields of other actions dropped)."""
    drill = form.get("drill", "")
    if drill not in ("drill", "real"):
        raise Invalid(N_("choose DRILL or REAL EMERGENCY: the displays say which"))
    scope = form.get("scope", "site")
    target = {"building": form.get("building", ""), "room": form.get("room", "")}.get(scope, "")
    body: dict[str, Any] = {
        "action": form.get("action", ""),
        "scope": scope,
        "target": target,
        "drill": drill == "drill",
        "note": form.get("note", "").strip(),
    }
    action = form.get("action", "")
    if action == "evacuate":
        body["location"] = form.get("location", "").strip()
    if action == "shelter":
        body["hazard"] = form.get("hazard", "").strip()
        body["strategy"] = form.get("strategy", "").strip()
    return directive_request(body)


def preview(engine: Engine, store: HubStore, request: DirectiveRequest, user: str) -> Preview:
    """Validate like the hub will, and work out who is affected, without issuing anything."""
    if request.action not in ISSUABLE:
        raise Invalid(N_("release a Lockdown room by room, from the board"))
    directives, presence = engine.directives, engine.presence
    directive = directives.validate(request, user=user)
    request = dataclasses.replace(request, strategy=directive.strategy, drill=directive.drill)
    rooms = directives.rooms_in(directive)
    offline = [
        r.id
        for r in rooms
        if not all(presence.devices[d].online for d in presence.inventory.devices_in(r.id))
    ]
    lockdown = [
        r.id
        for r in rooms
        if (e := directives.effective(r)) is not None and e.action is Action.LOCKDOWN
    ]  # an All clear releases them; anything else leaves them in Lockdown (precedence)
    drills = find_drills(store.directives(limit=1_000_000), presence.inventory)
    running = drills[-1].started_at if drills and drills[-1].ended_by is None else None
    return Preview(
        request=request,
        term=directives.vocabulary[request.action].term,
        rooms=rooms,
        scope_words=_scope_words(engine, request),
        screen=screen_of(directive, directives.vocabulary, link_lost=False),
        offline=offline,
        lockdown_rooms=lockdown,
        drill_running_since=running,
    )


def _scope_words(engine: Engine, request: DirectiveRequest) -> str:
    if request.scope is ScopeKind.SITE:
        return "the whole site"
    if request.scope is ScopeKind.BUILDING:
        return f"building {request.target}"
    room = engine.presence.room(request.target)
    return f"room {room.id}" + (f" ({room.name})" if room.name and room.name != room.id else "")


def _locations(store: HubStore) -> list[str]:
    """Evacuate locations used before at this site, newest first, for the form's list."""
    seen: dict[str, None] = {}
    for directive in reversed(store.directives(limit=1_000_000)):
        if directive.location:
            seen.setdefault(directive.location, None)
    return list(seen)[:20]


class IssuePages:
    def __init__(self, console: Console) -> None:
        self.console = console

    def _form_context(self, form: Mapping[str, str]) -> dict[str, Any]:
        vocabulary = self.console.engine.directives.vocabulary
        inventory = self.console.engine.presence.inventory
        return {
            "form": dict(form),
            "actions": [(a.value, vocabulary[a].term) for a in ISSUABLE],
            "buildings": inventory.buildings,
            "rooms": sorted(inventory.rooms.values(), key=lambda r: (r.building, r.floor, r.id)),
            "locations": _locations(self.console.store),
            "hazards": sorted(vocabulary.shelter_strategies.items()),
        }

    async def form(self, request: Request, principal: Principal) -> Response:
        context = self._form_context(request.query_params)
        return self.console.show(request, principal, "issue", error=None, **context)

    async def confirm(self, request: Request, principal: Principal) -> Response:
        form = request.query_params
        try:
            found = preview(
                self.console.engine, self.console.store, form_request(form), principal.user
            )
        except Refused as refusal:
            context = self._form_context(form)
            status = http_status(refusal)
            return self.console.show(
                request, principal, "issue", status=status, error=str(refusal), **context
            )
        return self.console.show(
            request,
            principal,
            "confirm",
            preview=found,
            query=str(form),
            from_alert=self._alert(form.get("alert", "")),
            from_weather=banner_of(self.console.parts.weather, form.get("weather", "")),
            reaching=self._reaching(found),
        )

    def _reaching(self, found: Preview) -> list[Destination] | None:
        """The destinations beyond the building this directive will be handed to (None: no
        relay): a drill reaches only those that take drills."""
        handoffs = self.console.handoffs
        if handoffs is None:
            return None
        return handoffs.reaching(kind="directive", drill=bool(found.request.drill))

    def _alert(self, event_id: str) -> dict[str, Any] | None:
        """The panic alert the confirmation answers (from the alert strip), if any."""
        return self.console.alert_with_room(event_id)

    async def preview_api(self, request: Request) -> Response:
        """``GET /api/directives/preview?...``: the confirmation's facts as JSON."""
        found = preview(
            self.console.engine,
            self.console.store,
            form_request(request.query_params),
            request.state.user,
        )
        return JSONResponse(
            {
                "directive": found.payload,
                "term": found.term,
                "rooms": [r.id for r in found.rooms],
                "scope": found.scope_words,
                "offline": found.offline,
                "lockdown_rooms": found.lockdown_rooms,
                "ends_drill": found.ends_drill,
            }
        )
