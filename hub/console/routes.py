"""The console's routes: pages, their JSON twins, and the static files."""

from __future__ import annotations

from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from hub.access import Access
from hub.auth import Permission
from hub.console.actions import ControlActions
from hub.console.base import Console
from hub.console.enrol import EnrolPage
from hub.console.issue import IssuePages
from hub.console.language import LanguageControl
from hub.console.pages import LivePages
from hub.console.render import STATIC
from hub.console.reports import ReportPages
from hub.console.teacher import teacher_routes
from hub.console.weather import WeatherPages
from hub.login import Logins
from hub.parts import HubParts


def console_routes(parts: HubParts, access: Access, logins: Logins) -> list[BaseRoute]:
    console = Console(parts, access)
    live, issue, record = LivePages(console), IssuePages(console), ReportPages(console)
    weather = WeatherPages(console)
    page, allow = console.page, access.allow
    read = Permission.READ
    return [
        Route("/", live.home),
        Route("/login", live.login),
        Route("/enrol", EnrolPage(logins, console).show),
        Route("/language", LanguageControl(access.sessions).choose, methods=["POST"]),
        Route("/board", page(read, live.board)),
        Route("/kiosk", page(read, live.kiosk)),
        Route("/alerts", page(read, live.alerts)),
        Route("/console/control", page(read, live.control_bar)),
        Route("/console/strip", page(read, live.strip)),
        Route("/console/weather", page(read, weather.region)),
        Route("/api/weather", allow(read, weather.api_list)),
        Route("/api/weather/dismiss", allow(Permission.ISSUE, weather.dismiss), methods=["POST"]),
        Route("/issue", page(Permission.ISSUE, issue.form)),
        Route("/issue/confirm", page(Permission.ISSUE, issue.confirm)),
        Route("/devices", page(read, record.devices)),
        Route("/drills", page(read, record.drills)),
        Route("/drills/{drill:int}", page(read, record.drill)),
        Route("/drills/{drill:int}/report.csv", page(read, record.drill_csv)),
        Route("/audit", page(Permission.AUDIT, record.audit)),
        Route("/api/directives/preview", allow(Permission.ISSUE, issue.preview_api)),
        Route("/api/drills", allow(read, record.drills_api)),
        Route("/api/drills/{drill:int}", allow(read, record.drill_api)),
        Route("/api/devices", allow(read, record.devices_api)),
        Route(
            "/api/control/take-and-issue",
            allow(Permission.ISSUE, ControlActions(console).take_and_issue),
            methods=["POST"],
        ),
        *teacher_routes(console, logins),
        Mount("/static", StaticFiles(directory=STATIC), name="static"),
    ]
