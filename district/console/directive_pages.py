"""District directives from the console: the form, the confirmation in plain words, the
send (control holder only, CSRF, safety officer or admin) and the record of each request.

The form picks schools one by one (a checkbox each) or a named group, the action, and
drill or real (never preselected: it must be said). The confirmation page says DRILL or
REAL - NOT A DRILL in large type, how many schools and rooms, every school by name, and
the warnings; nothing is sent until the user ticks that they read it and presses the
button, whose words say it all again.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from district.action import DistrictAction
from district.board import DistrictBoard
from district.console.confirmation import Confirmations, Sealed
from district.console.render import Pages
from district.console.sending import Groups, Sender
from district.console_store import ConsoleStore
from district.preview import Preview, PreviewError, preview
from district.sessions import DistrictPrincipal
from district.store import DistrictStore
from hub.access import json_body
from hub.errors import Conflict, Invalid, NotFound
from protocol.srp import DEFAULT_SHELTER_STRATEGIES, Action, Vocabulary
from protocol.topics import ScopeKind

ACTIONS = (Action.HOLD, Action.SECURE, Action.LOCKDOWN, Action.EVACUATE, Action.SHELTER,
           Action.ALL_CLEAR)  # fmt: skip
"""What a district may ask: a school's or a building's directive (a Lockdown is released
room by room, at the door, never from the district)."""
DETAILS = ("location", "hazard", "strategy", "note")
_WORDS = Vocabulary()

Getter = Callable[[str], str]
ListGetter = Callable[[str], list[str]]


def parse_action(get: Getter, get_list: ListGetter, user: str) -> DistrictAction:
    """The form's fields (a query string, or the JSON the confirm page posts back)."""
    try:
        action = Action(get("action"))
    except ValueError:
        raise PreviewError("choose the action") from None
    if action not in ACTIONS:
        raise PreviewError(f"a district cannot ask for {action.value}")
    mode = get("mode")
    if mode not in ("drill", "real"):
        raise PreviewError("say whether this is a DRILL or REAL")
    building = get("building").strip() if get("scope") == "building" else ""
    if get("scope") == "building" and not building:
        raise PreviewError("name the building, or choose the whole school")
    details = {d: v.strip() for d in DETAILS if (v := get(d)).strip()}
    schools = tuple(get_list("school"))
    return DistrictAction(
        action=action, drill=mode == "drill", schools=schools, group=get("group") or None,
        issued_by=user,
        scope=ScopeKind.BUILDING if building else ScopeKind.SITE, target=building,
        details={k: v for k, v in details.items() if _applies(action, k)},
    )  # fmt: skip


def _applies(action: Action, detail: str) -> bool:
    return (
        detail == "note"
        or (detail == "location" and action is Action.EVACUATE)
        or (detail in ("hazard", "strategy") and action is Action.SHELTER)
    )


def form_fields(action: DistrictAction) -> dict[str, Any]:
    """The form's fields for ``action`` (what :func:`parse_action` reads back)."""
    return {
        "action": action.action.value, "mode": "drill" if action.drill else "real",
        "school": list(action.schools), "group": action.group or "",
        "scope": action.scope.value.replace("site", "school"),
        "building": action.target, **action.details,
    }  # fmt: skip


def request_body(action: DistrictAction, sealed: Sealed) -> dict[str, Any]:
    """What the confirm button posts back: the fields, and what the page showed, sealed."""
    return form_fields(action) | {"shown": sealed.shown, "token": sealed.token}


def confirm_url(action: DistrictAction, notice: str = "") -> str:
    query = urlencode(form_fields(action) | ({"changed": notice} if notice else {}), doseq=True)
    return f"/requests/confirm?{query}"


class DirectivePages:
    def __init__(
        self,
        pages: Pages,
        board: DistrictBoard,
        *,
        audit: ConsoleStore,
        record: DistrictStore,
        groups: Groups,
        sender: Sender | None,
        confirmations: Confirmations | None = None,
    ) -> None:
        self.pages, self.board, self.audit, self.record_store = pages, board, audit, record
        self.groups, self.sender = groups, sender
        self.confirmations = confirmations or Confirmations()

    def _preview(self, action: DistrictAction) -> Preview:
        """The preview from the board as it stands and the groups as the file has them."""
        try:
            return preview(action, self.board, groups=self.groups.current())
        except ValueError as error:  # PreviewError, or a groups file to fix
            raise PreviewError(str(error)) from None

    async def form(self, request: Request, principal: DistrictPrincipal) -> Response:
        return self._form(request, principal, error="", status=200)

    def _form(
        self, request: Request, principal: DistrictPrincipal, *, error: str, status: int
    ) -> Response:
        q = request.query_params
        return self.pages.show(
            request, principal, "request_form", status=status, error=error,
            schools=self.board.view(), groups=_groups(self.groups),
            actions=[(a.value, _WORDS[a].term) for a in ACTIONS],
            chosen={"school": q.getlist("school"), **{k: q.get(k, "") for k in (
                "action", "mode", "scope", "building", "group", *DETAILS)}},
            hazards=DEFAULT_SHELTER_STRATEGIES,
        )  # fmt: skip

    async def confirm(self, request: Request, principal: DistrictPrincipal) -> Response:
        q = request.query_params
        try:
            action = parse_action(lambda k: q.get(k, ""), q.getlist, principal.user)
            p = self._preview(action)
        except PreviewError as error:
            return self._form(request, principal, error=str(error), status=400)
        changed = self.confirmations.noticed(principal.user, q.get("changed", ""))
        return self.pages.show(
            request, principal, "request_confirm", p=p, term=_WORDS[action.action].term,
            body=request_body(action, self.confirmations.seal(p)), terms=_TERMS,
            query=urlencode(form_fields(action), doseq=True), changed=changed,
        )  # fmt: skip

    async def send(self, request: Request) -> Response:
        """POST /api/requests: the confirmed action, sent only if it is still what the
        page showed (the token); audited with the district user and every school."""
        principal: DistrictPrincipal = request.state.principal
        body = await json_body(request)

        def get(key: str) -> str:
            value = body.get(key, "")
            return value if isinstance(value, str) else ""

        def get_list(key: str) -> list[str]:
            value = body.get(key, [])
            return [v for v in value if isinstance(v, str)] if isinstance(value, list) else []

        try:
            action = parse_action(get, get_list, principal.user)
            p = self._preview(action)
        except PreviewError as error:
            raise Invalid(str(error)) from None
        shown, token = body.get("shown"), body.get("token")
        if not self.confirmations.genuine(shown, token):
            return self._changed(
                principal, action, ["the page was not made by this district service as it "
                                    "runs now (it restarted?)"],
            )  # fmt: skip
        assert isinstance(shown, dict) and isinstance(token, str)  # genuine() checked
        if shown["action"] != p.shown()["action"]:
            return self._changed(
                principal, action, ["the request itself is not the one the page showed"]
            )
        request_id = self.confirmations.request_id(shown, token)
        first = self.record_store.request(request_id)
        if first is not None:  # the same confirmation again (a retry): one request only
            return JSONResponse(
                {"request_id": request_id, "schools": list(first["schools"]),
                 "already_sent": True, "record": first}
            )  # fmt: skip
        if changed := self.confirmations.changes(shown, p):
            return self._changed(principal, action, changed)
        if self.sender is None:
            raise Conflict("this district service has no signing key: it cannot send requests")
        request_id = self.sender.send(p, request_id=request_id)
        a = p.action
        self.audit.audit(
            at=time.time(), user=principal.user, action="district directive sent",
            detail={"request": request_id, "what": _WORDS[a.action].term,
                    "drill": a.drill, "schools": ", ".join(p.schools), "rooms": p.rooms,
                    "group": a.group,
                    "scope": a.target or "whole school", **a.details},
        )  # fmt: skip
        return JSONResponse({"request_id": request_id, "schools": list(p.schools)})

    def _changed(
        self, principal: DistrictPrincipal, action: DistrictAction, lines: list[str]
    ) -> Response:
        """Refused: the page read is not what would be sent now. The new confirmation
        page (``confirm``) shows the new preview and these lines."""
        notice = self.confirmations.notice(principal.user, lines)
        return JSONResponse(
            {
                "error": "not sent: what the confirmation page showed changed since: "
                + "; ".join(lines)
                + ". Read the new confirmation before sending.",
                "changed": lines,
                "confirm": confirm_url(action, notice),
            },
            status_code=409,
        )

    def _record(self, request_id: str) -> dict[str, Any]:
        found = self.record_store.request(request_id)
        if found is None:
            raise NotFound(f"no district request {request_id!r} in the district's record")
        return found

    async def record(self, request: Request, principal: DistrictPrincipal) -> Response:
        record = self._record(request.path_params["request_id"])
        now = time.time()
        # Each outcome with how old it is, and each school's link as it is now: an
        # outcome from a school that went quiet is what it said then, not now.
        ages = {
            site: None if (at := o["updated_at"] or o["last_attempt_at"] or record["sent_at"])
            is None else max(now - at, 0.0)
            for site, o in record["schools"].items()
        }  # fmt: skip
        links = {v["site"]: v for v in self.board.view()}
        return self.pages.show(
            request, principal, "request_record", r=record, ages=ages, links=links,
            term=_WORDS[Action(record["action"])].term,
        )  # fmt: skip

    async def listing(self, request: Request, principal: DistrictPrincipal) -> Response:
        records = self.record_store.requests()
        return self.pages.show(request, principal, "requests", records=records, terms=_TERMS)

    async def record_api(self, request: Request) -> Response:
        return JSONResponse(self._record(request.path_params["request_id"]))

    async def listing_api(self, request: Request) -> Response:
        return JSONResponse({"requests": self.record_store.requests()})


_TERMS = {a.value: _WORDS[a].term for a in Action}


def _groups(groups: Groups) -> dict[str, tuple[str, ...]] | str:
    """The groups for the form, or why they cannot be read (the form still works)."""
    try:
        return {name: tuple(sites) for name, sites in sorted(groups.current().items())}
    except ValueError as error:
        return str(error)
