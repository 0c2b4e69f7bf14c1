"""The weather banners: each NWS alert in force for the school, and the directive it proposes.

A banner never issues anything. Its button opens the usual confirmation page
(``/issue/confirm``) with the proposed directive filled in, and the office confirms there
like any other directive. Dismissing a banner is recorded in the audit log with who.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from hub.access import json_body
from hub.auth import Principal
from hub.console.base import Console
from hub.errors import Invalid, NotFound
from hub.weather.view import weather_view


class WeatherPages:
    def __init__(self, console: Console) -> None:
        self.console = console
        self.poller = console.parts.weather

    async def region(self, request: Request, principal: Principal) -> Response:
        """The banners alone: every page re-fetches them when the live stream says so."""
        return self.console.show(request, principal, "weather")

    async def api_list(self, request: Request) -> Response:
        """``GET /api/weather``: the banners and the feed's health, as JSON."""
        return JSONResponse(weather_view(self.poller))

    async def dismiss(self, request: Request) -> Response:
        """``POST /api/weather/dismiss`` ``{"id": ...}``: hide a banner for everyone."""
        if self.poller is None:
            raise NotFound("no weather feed is configured ([weather] in relay.toml)")
        alert_id = (await json_body(request)).get("id", "")
        if not isinstance(alert_id, str) or not alert_id:
            raise Invalid("id must be the weather alert's id")
        if not self.poller.dismiss(alert_id, user=request.state.user):
            raise NotFound("that weather alert is not in force (or was dismissed already)")
        return JSONResponse({"ok": True})
