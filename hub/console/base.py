"""What every console page shares: the login gate, the role check, the header's context."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from hub.access import Access, Handler, http_status
from hub.auth import Permission, Principal, UsersUnavailable
from hub.console.i18n import N_, Words
from hub.console.render import Renderer
from hub.errors import Refused
from hub.parts import HubParts
from hub.queries import alert, open_alerts, with_handoffs
from hub.user_language import DEFAULT, LANGUAGES
from hub.weather.view import weather_view

PageHandler = Callable[[Request, Principal], Awaitable[Response]]


NAV: tuple[tuple[str, str, Permission], ...] = (
    ("/board", N_("Board"), Permission.READ),
    ("/issue", N_("Issue"), Permission.ISSUE),
    ("/alerts", N_("Alerts"), Permission.READ),
    ("/devices", N_("Devices"), Permission.READ),
    ("/drills", N_("Drills"), Permission.READ),
    ("/audit", N_("Audit log"), Permission.AUDIT),
    ("/kiosk", N_("Kiosk"), Permission.READ),
    ("/teachers", N_("Teachers"), Permission.MANAGE_STAFF),
)


class Console:
    def __init__(self, parts: HubParts, access: Access) -> None:
        self.parts, self.engine, self.store = parts, parts.engine, parts.store
        self.access, self.control = access, access.control
        self.handoffs = parts.handoffs
        self.render = Renderer()
        self.users = access.sessions.users  # each user's language (hub.user_language)

    @property
    def site(self) -> str:
        return self.engine.presence.inventory.site

    def page(self, permission: Permission, handler: PageHandler) -> Handler:
        """Login required (else to the login page), role checked on the server."""

        async def guarded(request: Request) -> Response:
            principal = self.access.principal(request)
            if principal is None:
                return RedirectResponse("/login", status_code=303)
            if not principal.may(permission):
                said = N_("Your role (%(role)s) may not %(permission)s.")
                words = {"role": str(principal.role), "permission": str(permission)}
                return self.error(request, principal, (said, words), 403)
            try:
                return await handler(request, principal)
            except Refused as refusal:
                why: str | Words = (
                    (refusal.message, refusal.values) if refusal.values else str(refusal)
                )
                return self.error(request, principal, why, http_status(refusal))

        return guarded

    def context(self, request: Request, principal: Principal, **extra: Any) -> dict[str, Any]:
        return {
            "me": principal,
            "path": request.url.path,
            "site": self.site,
            "broker_connected": self.parts.connected(),
            "control": self.control.state(principal),
            "open_alerts": self.open_alerts(),
            "weather": weather_view(self.parts.weather),
            "nav": [(href, label) for href, label, need in NAV if principal.may(need)],
            "can": {p.name.lower(): principal.may(p) for p in Permission},
            "language": self.language(principal),
            "languages": LANGUAGES,
        } | extra

    def language(self, principal: Principal) -> str:
        """The user's own language (hub.accounts), English if none was chosen."""
        try:
            account = self.users.account(principal.user)
        except UsersUnavailable:
            return DEFAULT
        return DEFAULT if account is None else account.language

    def open_alerts(self) -> list[dict[str, Any]]:
        """Every open panic alert, however old, newest first, with its room: every page's
        alert strip."""
        return self.with_handoffs(self._with_rooms(open_alerts(self.store)))

    def alert_with_room(self, event_id: str) -> dict[str, Any] | None:
        """One panic alert (open or not) with its room's building and label."""
        found = alert(self.store, event_id) if event_id else None
        with_room = self.with_handoffs(self._with_rooms([] if found is None else [found]))
        return with_room[0] if with_room else None

    def with_handoffs(self, alerts: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Each alert with its hand-offs beyond the building (none without a relay)."""
        return with_handoffs(self.handoffs, alerts)

    def _with_rooms(self, alerts: list[dict[str, Any]]) -> list[dict[str, Any]]:
        rooms = self.engine.presence.inventory.rooms
        unknown = {"building": "(no longer in the inventory)"}
        return [
            alert
            | (
                {"building": room.building, "room_label": room.label}
                if (room := rooms.get(alert["room"])) is not None
                else unknown | {"room_label": alert["room"]}
            )
            for alert in alerts
        ]  # an open alert is never hidden, even from a room removed since

    def show(
        self, request: Request, principal: Principal, name: str, *, status: int = 200, **extra: Any
    ) -> Response:
        return self.render.page(
            request, name, self.context(request, principal, **extra), status=status
        )

    def error(
        self, request: Request, principal: Principal, message: str | Words, status: int
    ) -> Response:
        """An error page; ``message``: a refusal's text, or words for the catalog."""
        return self.show(request, principal, "error", status=status, message=message, code=status)
