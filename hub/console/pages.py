"""The live pages: login, the campus board, the kiosk wall view, alerts, the control bar."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from hub.auth import Principal
from hub.console.base import Console
from hub.console.board import (
    BoardBuilder,
    board_summary,
    campus_states,
    group_tiles,
)
from hub.console.i18n import browser_language
from hub.queries import ALERT_PAGE, alert_listing
from protocol.wording import directive_lines


class LivePages:
    def __init__(self, console: Console) -> None:
        self.console = console
        self.engine, self.store = console.engine, console.store

    async def home(self, request: Request) -> Response:
        signed_in = self.console.access.principal(request) is not None
        return RedirectResponse("/board" if signed_in else "/login", status_code=303)

    async def login(self, request: Request) -> Response:
        principal = self.console.access.principal(request)
        if principal is not None and principal.kind == "console":
            return RedirectResponse("/board", status_code=303)
        language = browser_language(request.headers.get("accept-language", ""))
        page = self.console.render.text("login.html", site=self.console.site, language=language)
        response = HTMLResponse(page)
        response.headers["cache-control"] = "no-store"
        return response

    def _board(self) -> dict[str, Any]:
        builder = BoardBuilder(self.engine, self.store)
        tiles = builder.tiles()
        by_room = {t.room.id: t for t in tiles}
        latest = self.store.directive(self.engine.directives.latest_seq)
        vocabulary = self.engine.directives.vocabulary
        handoffs = self.console.handoffs
        return {
            "tiles": tiles,
            "alert_tiles": [t for t in tiles if t.alert is not None],
            "unreported_tiles": [
                by_room[room]
                for room in builder.roll.unreported
                if by_room[room].unreported and by_room[room].alert is None
            ],
            "roll": builder.roll.totals(),
            "floods": self.console.parts.floods(),
            "handoff_trouble": [] if handoffs is None else handoffs.failing(),
            "groups": group_tiles(tiles),
            "summary": board_summary(tiles),
            "states": campus_states(tiles),
            "latest": latest,
            "latest_term": None if latest is None else vocabulary[latest.action].term,
            "latest_lines": () if latest is None else directive_lines(latest, vocabulary),
        }

    async def board(self, request: Request, principal: Principal) -> Response:
        return self.console.show(request, principal, "board", **self._board())

    async def kiosk(self, request: Request, principal: Principal) -> Response:
        return self.console.show(request, principal, "kiosk", **self._board())

    async def alerts(self, request: Request, principal: Principal) -> Response:
        try:
            listing = alert_listing(
                self.store, before=request.query_params.get("before"), limit=ALERT_PAGE
            )
        except ValueError:  # a hand-edited link: start from the newest
            listing = alert_listing(self.store, before=None, limit=ALERT_PAGE)
        shown = {a["event_id"] for a in listing["open"]}
        history = [a for a in listing["alerts"] if a["event_id"] not in shown]
        return self.console.show(
            request,
            principal,
            "alerts",
            alerts=self.console.with_handoffs(listing["open"] + history),
            next_page=listing["next"],
            paged=request.query_params.get("before") is not None,
        )

    async def control_bar(self, request: Request, principal: Principal) -> Response:
        return self.console.show(request, principal, "control_bar")

    async def strip(self, request: Request, principal: Principal) -> Response:
        """The alert strip alone: every page re-fetches it when the live stream says so."""
        return self.console.show(request, principal, "strip")
