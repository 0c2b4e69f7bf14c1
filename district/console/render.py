"""The district console's templates (Jinja2, autoescaped) with the school console's
formatting filters (hub.console.render), and what every page's header needs."""

from __future__ import annotations

import gettext
from pathlib import Path
from typing import Any

from jinja2 import ChoiceLoader, Environment, FileSystemLoader, StrictUndefined, select_autoescape
from starlette.requests import Request
from starlette.responses import HTMLResponse

from district.sessions import DistrictPrincipal
from district.users import Permission
from hub.console import display
from hub.console.render import TEMPLATES as SCHOOL_TEMPLATES
from hub.console.render import clock, duration, stamp
from hub.console_control import ConsoleControl

TEMPLATES = Path(__file__).parent / "templates"
STATIC = Path(__file__).parent / "static"

NAV: tuple[tuple[str, str, Permission], ...] = (
    ("/board", "Board", Permission.READ),
    ("/requests/new", "District directive", Permission.SEND),
    ("/requests", "Requests sent", Permission.READ),
    ("/groups", "Groups", Permission.GROUPS),
    ("/audit", "Audit log", Permission.AUDIT),
)

SCRIPT_WORDS = {
    "The hub did not answer within %(s)s s: this may not have gone through. "
    "Check the board before trying again.": "The district service did not answer within "
    "%(s)s s: this may not have gone through. Check the board before trying again.",
    "Live again at %(at)s (the hub was silent for %(s)s s).": "Live again at %(at)s (the "
    "district service was silent for %(s)s s).",
    "Not live: no word from the hub since %(at)s.": "Not live: no word from the district "
    "service since %(at)s.",
    "Not live: no word from the hub for %(s)s s (since %(at)s). What you see may be out of "
    "date; actions wait until the hub answers. Reconnecting…": "Not live: no word from the "
    "district service for %(s)s s (since %(at)s). What you see may be out of date; actions "
    "wait until it answers. Reconnecting…",
    "Cannot reach the hub. Check the network and try again.": "Cannot reach the district "
    "service. Check the network and try again.",
}
"""The school console's scripts (console.js, login.js) take their words from the page's
``data-words``: at the district, they speak of the district service, not of a hub."""


class Pages:
    def __init__(self, *, district: str, control: ConsoleControl) -> None:
        self.district, self.control = district, control
        self.env = Environment(
            # The district's own templates first (its base.html), then the school console's:
            # a page both consoles show alike (the audit log) is the school's template.
            loader=ChoiceLoader([FileSystemLoader(TEMPLATES), FileSystemLoader(SCHOOL_TEMPLATES)]),
            autoescape=select_autoescape(default=True, default_for_string=True),
            undefined=StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
            extensions=["jinja2.ext.i18n"],
        )
        self.env.install_null_translations(newstyle=True)  # type: ignore[attr-defined]
        self.env.globals["script_words"] = SCRIPT_WORDS
        self.env.filters.update(clock=clock, stamp=stamp, duration=duration)
        # the school's audit.html words its actions and details with these (in English here)
        display.install(self.env, gettext.NullTranslations(), clock)

    def text(self, template: str, **context: Any) -> str:
        return self.env.get_template(template).render(district=self.district, **context)

    def show(
        self,
        request: Request,
        principal: DistrictPrincipal,
        name: str,
        *,
        status: int = 200,
        **extra: Any,
    ) -> HTMLResponse:
        """A page, or only its live part when the page's script asks (``?part=main``)."""
        part = request.query_params.get("part") == "main"
        template = (
            f"{name}_main.html"
            if part and (TEMPLATES / f"{name}_main.html").exists()
            else f"{name}.html"
        )
        context = {
            "me": principal,
            "path": request.url.path,
            "control": self.control.state(principal),
            "nav": [(href, label) for href, label, need in NAV if principal.may(need)],
            "can": {p.name.lower(): principal.may(p) for p in Permission},
        } | extra
        response = HTMLResponse(self.text(template, **context), status_code=status)
        response.headers["cache-control"] = "no-store"
        return response

    def error(
        self, request: Request, principal: DistrictPrincipal, message: str, status: int
    ) -> HTMLResponse:
        return self.show(request, principal, "error", status=status, message=message, code=status)
