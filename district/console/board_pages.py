"""The board (every school at once), a school's drill-down (read-only), the audit log, and
the JSON API behind a session.

A school that cannot be reached is put first and in red, named in a banner at the top of
every board: what the district shows of it may be stale, and the board says since when.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response

from district.board import DistrictBoard
from district.console.gate import Gate
from district.console.render import Pages
from district.console_store import ConsoleStore
from district.sessions import DistrictPrincipal
from hub.console.reports import day_bound as day
from hub.errors import NotFound
from protocol.srp import Action, Vocabulary

_WORDS = Vocabulary()
AUDIT_PAGE = 200


def school_card(view: dict[str, Any]) -> dict[str, Any]:
    """One school as the board shows it: its directives in force grouped by where."""
    summary = view["summary"]
    where: dict[str, list[dict[str, Any]]] = {}
    for d in [] if summary is None else summary["directives"]:
        place = (
            "Whole school" if d["scope"] == "site"
            else f"Building {d['target']}" if d["scope"] == "building"
            else f"Room {d['target']}"
        )  # fmt: skip
        where.setdefault(place, []).append(d | {"term": _WORDS[Action(d["action"])].term})
    alerts = 0 if summary is None else summary["alerts"]
    return view | {
        "where": where,
        "alerts": alerts,
        "attention": (not view["reachable"]) or alerts > 0,
    }


def board_model(board: DistrictBoard) -> dict[str, Any]:
    cards = [school_card(v) for v in board.view()]
    # Unreachable first, then open alerts, then the rest by name: never lost in the list.
    cards.sort(key=lambda c: (c["reachable"], c["alerts"] == 0, c["site"]))
    return {
        "cards": cards,
        "unreachable": [c for c in cards if not c["reachable"]],
        "alerting": [c for c in cards if c["alerts"]],
        "with_directives": sum(1 for c in cards if c["where"]),
    }


class BoardPages:
    def __init__(self, pages: Pages, board: DistrictBoard, store: ConsoleStore, gate: Gate) -> None:
        self.pages, self.board, self.store, self.gate = pages, board, store, gate

    async def home(self, request: Request) -> Response:
        signed_in = self.gate.principal(request) is not None
        return RedirectResponse("/board" if signed_in else "/login", status_code=303)

    async def login(self, request: Request) -> Response:
        principal = self.gate.principal(request)
        if principal is not None and principal.kind == "console":
            return RedirectResponse("/board", status_code=303)
        response = Response(self.pages.text("login.html"), media_type="text/html")
        response.headers["cache-control"] = "no-store"
        return response

    async def board_page(self, request: Request, principal: DistrictPrincipal) -> Response:
        return self.pages.show(request, principal, "board", **board_model(self.board))

    async def school(self, request: Request, principal: DistrictPrincipal) -> Response:
        site = request.path_params["site"]
        history = self.board.history(site)
        if history is None:
            raise NotFound(f"no school {site!r} in this district")
        view = next(v for v in self.board.view() if v["site"] == site)
        return self.pages.show(
            request, principal, "school", s=school_card(view), history=history,
        )  # fmt: skip

    async def control_bar(self, request: Request, principal: DistrictPrincipal) -> Response:
        return self.pages.show(request, principal, "control_bar")

    async def audit(self, request: Request, principal: DistrictPrincipal) -> Response:
        """The school console's audit page, on the district's log: logins, control, every
        district directive sent and by whom."""
        q = request.query_params
        before = q.get("before", "")
        entries = self.store.audit_search(
            user=q.get("user", ""), text=q.get("q", "").strip(),
            since=day(q.get("from", ""), end=False), until=day(q.get("to", ""), end=True),
            before_id=int(before) if before.isdigit() else None, limit=AUDIT_PAGE,
        )  # fmt: skip
        filters = {k: q.get(k, "") for k in ("user", "q", "from", "to")}
        older = (
            urlencode(filters | {"before": entries[-1]["id"]})
            if len(entries) == AUDIT_PAGE
            else None
        )
        return self.pages.show(
            request, principal, "audit", entries=entries, filters=filters,
            users=self.store.audit_users(), older=older, paged=bool(before),
        )  # fmt: skip

    async def schools_api(self, _: Request) -> Response:
        return JSONResponse({"schools": self.board.view()})

    async def history_api(self, request: Request) -> Response:
        site = request.path_params["site"]
        lines = self.board.history(site)
        if lines is None:
            return JSONResponse({"error": f"no school {site!r} in this district"}, 404)
        return JSONResponse({"site": site, "history": lines})
