"""The weather poller's state as plain data for the console's banners and ``/api/weather``.

The proposal becomes a link to the confirmation page (a GET that changes nothing), never a
directive: the office confirms there, as for any other directive.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from hub.weather.poller import Banner, WeatherPoller


def weather_view(poller: WeatherPoller | None) -> dict[str, Any] | None:
    """What every page's weather region shows (None: no ``[weather]`` configured)."""
    if poller is None:
        return None
    health = poller.health()
    return {
        "banners": [_banner(b) for b in poller.banners()],
        "health": {
            "state": health.state,
            "last_ok_at": health.last_ok_at,
            "last_error": health.last_error,
            "failures": health.failures,
        },
        "url": poller.config.url,
    }


def _banner(banner: Banner) -> dict[str, Any]:
    alert, proposal = banner.alert, banner.proposal
    shown: dict[str, Any] = {
        "id": alert.id,
        "event": alert.event,
        "headline": alert.headline,
        "severity": alert.severity,
        "expires": alert.expires,
        "propose": None,
    }
    if proposal is None:
        return shown
    query = {"action": proposal.action, "drill": "real", "scope": "site", "weather": alert.id}
    words = proposal.action.capitalize()
    if proposal.action == "shelter":
        query |= {"hazard": proposal.hazard, "strategy": proposal.strategy}
        words = f"Shelter for {proposal.hazard}"
    # The confirmation page is a GET that changes nothing; the office confirms there.
    shown["propose"] = {"href": f"/issue/confirm?{urlencode(query)}", "label": words}
    return shown


def banner_of(poller: WeatherPoller | None, alert_id: str) -> dict[str, Any] | None:
    """The banner a confirmation page answers (``?weather=<id>``), if still in force."""
    found = [] if poller is None or not alert_id else poller.banners()
    return next((_banner(b) for b in found if b.alert.id == alert_id), None)
