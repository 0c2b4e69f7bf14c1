"""The district console's routes: its pages, the JSON API (behind a session too), the
static files, and the school console's security headers on every response.

Every route names the permission it needs here, in one table, checked on the server for
every request (``tests/unit/test_district_console.py``,
``test_every_page_and_route_checks_the_role_on_the_server``, tries each with each role).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp

from district.board import DistrictBoard
from district.console.board_pages import BoardPages
from district.console.directive_pages import DirectivePages
from district.console.factors import DistrictFactors
from district.console.gate import Gate, PageHandler
from district.console.group_pages import GroupPages
from district.console.render import STATIC, Pages
from district.console.sending import Groups, NoGroups, Sender
from district.console.sessions_api import SessionsApi
from district.console_store import ConsoleStore
from district.sessions import DistrictSessions
from district.store import DistrictStore
from district.users import DistrictUsers, Permission
from hub.access import Handler, refusal_response
from hub.auth import LoginLimiter
from hub.bus import Bus, Change
from hub.console.render import STATIC as SCHOOL_STATIC
from hub.console.security import SecurityHeaders
from hub.console_control import LAPSE_S, ConsoleControl
from hub.errors import Refused
from hub.proxies import ForwardedFor, TrustedProxies
from protocol.district_accounts import SENDERS, DistrictRole

NO_PROXIES = TrustedProxies()


@dataclass
class ConsoleParts:
    store: ConsoleStore
    control: ConsoleControl
    sessions: DistrictSessions
    factors: DistrictFactors

    def close(self) -> None:
        self.factors.close()
        self.store.close()


def _refusals_answered(handler: Handler) -> Handler:
    async def answered(request: Request) -> Response:
        try:
            return await handler(request)
        except Refused as refusal:
            return refusal_response(refusal)

    return answered


def create_console_app(
    *,
    district: str,
    board: DistrictBoard,
    record: DistrictStore,
    users_file: Path,
    state_dir: Path,
    sender: Sender | None,
    groups: Groups | None = None,
    lapse_s: float = LAPSE_S,
    trusted: TrustedProxies = NO_PROXIES,
    totp_required_for: frozenset[DistrictRole] = SENDERS,
    factor_clock: Callable[[], float] = time.time,
) -> tuple[ASGIApp, ConsoleParts]:
    """``totp_required_for``: the roles that log in with a second factor (district.json,
    checked by protocol.district_accounts); ``factor_clock``: whose time TOTP codes are of."""
    store = ConsoleStore(state_dir / "console.db")
    bus = Bus()
    # A school's message believed: every open console re-reads what it shows. The hub's
    # fan-out carries it as an inventory change (the district's inventory is its schools).
    board.watchers.add(lambda: bus.publish(Change.INVENTORY))
    control = ConsoleControl(store, bus, lapse_s=lapse_s)
    sessions = DistrictSessions(store, DistrictUsers(users_file), factor_roles=totp_required_for)
    gate = Gate(sessions, control)
    pages = Pages(district=district, control=control)
    limiter = LoginLimiter()
    factors = DistrictFactors(
        sessions, store, limiter, pages, state_dir=state_dir, clock=factor_clock
    )
    account = SessionsApi(gate, store, bus, limiter, factors)
    boards = BoardPages(pages, board, store, gate)
    directives = DirectivePages(
        pages, board, audit=store, record=record, groups=groups or NoGroups(), sender=sender
    )
    grouping = GroupPages(pages, board, store, groups or NoGroups())
    read, send = Permission.READ, Permission.SEND

    def page(permission: Permission, handler: PageHandler) -> Handler:
        return gate.page(permission, handler, pages.error)

    routes: list[BaseRoute] = [
        Route("/", boards.home),
        Route("/login", boards.login),
        Route("/enrol", factors.page),
        Route("/board", page(read, boards.board_page)),
        Route("/console/control", page(read, boards.control_bar)),
        Route("/schools/{site}", page(read, boards.school)),
        Route("/requests/new", page(send, directives.form)),
        Route("/requests/confirm", page(send, directives.confirm)),
        Route("/requests", page(read, directives.listing)),
        Route("/requests/{request_id}", page(read, directives.record)),
        Route("/audit", page(Permission.AUDIT, boards.audit)),
        Route("/groups", page(Permission.GROUPS, grouping.page)),
        Route("/api/login", _refusals_answered(account.login), methods=["POST"]),
        Route("/api/enrol", _refusals_answered(factors.enrol), methods=["POST"]),
        Route("/api/logout", gate.api(read, account.logout), methods=["POST"]),
        Route("/api/whoami", gate.api(read, account.whoami)),
        Route(
            "/api/control/take",
            gate.api(Permission.CONTROL, account.take_control),
            methods=["POST"],
        ),
        Route(
            "/api/control/release",
            gate.api(Permission.CONTROL, account.release_control),
            methods=["POST"],
        ),
        Route("/api/stream", gate.api(read, account.stream)),
        Route("/api/schools", gate.api(read, boards.schools_api)),
        Route("/api/schools/{site}/history", gate.api(read, boards.history_api)),
        Route("/api/requests", gate.api(read, directives.listing_api)),
        Route(
            "/api/requests",
            gate.api(send, directives.send, controlled=True),
            methods=["POST"],
        ),
        Route("/api/requests/{request_id}", gate.api(read, directives.record_api)),
        Route("/api/groups", gate.api(Permission.GROUPS, grouping.set_group), methods=["POST"]),
        Route(
            "/api/groups/{name}/remove",
            gate.api(Permission.GROUPS, grouping.remove_group),
            methods=["POST"],
        ),
        Mount("/static", StaticFiles(directory=SCHOOL_STATIC), name="static"),
        Mount("/district-static", StaticFiles(directory=STATIC), name="district-static"),
    ]
    # As the school's: behind a reverse proxy (TLS), only the listed proxies' word on the
    # client's address (the login limit) and scheme (a Secure cookie) is believed.
    app = SecurityHeaders(ForwardedFor(Starlette(routes=routes), trusted=trusted))
    return app, ConsoleParts(store=store, control=control, sessions=sessions, factors=factors)
