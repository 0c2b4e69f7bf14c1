"""Templates (Jinja2, autoescaped) and the formatting every console page shares."""

from __future__ import annotations

import gettext
import time
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from starlette.requests import Request
from starlette.responses import HTMLResponse

from hub.console import display
from hub.console.i18n import all_translations
from hub.user_language import DEFAULT
from protocol.messages import EventKind
from protocol.srp import Action, is_idle

TEMPLATES = Path(__file__).parent / "templates"
STATIC = Path(__file__).parent / "static"


def clock(at: float | None) -> str:
    return "" if at is None else time.strftime("%H:%M:%S", time.localtime(at))


def stamp(at: float | None) -> str:
    return "" if at is None else time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(at))


def duration(seconds: float | None) -> str:
    """3 s, 4 min 05 s, 2 h 10 min: how long, for a person."""
    if seconds is None:
        return ""
    seconds = max(0.0, seconds)
    if seconds < 60:
        return f"{seconds:.0f} s"
    if seconds < 3600:
        return f"{int(seconds // 60)} min {int(seconds % 60):02d} s"
    return f"{int(seconds // 3600)} h {int(seconds % 3600 // 60):02d} min"


def latency(ms: float | None) -> str:
    """240 ms, 2.4 s: an acknowledgement time."""
    if ms is None:
        return "-"
    return f"{ms:.0f} ms" if ms < 1000 else f"{ms / 1000:.1f} s"


def age(at: float | None) -> str:
    """How long ago, for a template to word ("%(age)s ago") in the user's language."""
    return "" if at is None else duration(time.time() - at)


def _asks_nothing(action: str) -> bool:
    """No directive (a tile's action ``none``), an All clear or a release: nothing that a
    page marks REAL."""
    return action == "none" or is_idle(Action(action))


def _environment(translations: gettext.NullTranslations) -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(default=True, default_for_string=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        extensions=["jinja2.ext.i18n"],
    )
    env.install_gettext_translations(translations, newstyle=True)  # type: ignore[attr-defined]
    env.filters.update(clock=clock, stamp=stamp, duration=duration, latency=latency, age=age)
    # What the rest of the hub says in English (roll words, audit names), in this language.
    display.install(env, translations, clock)
    # A message a page was handed whole (a refusal's text): the catalog's words if it has
    # them (the console's Python marks its own with N_), else as it came; never %-filled.
    env.filters["translated"] = translations.gettext
    # The vocabulary of protocol/, so a page says `t.action is idle`, not a tuple of names.
    env.tests["idle"] = _asks_nothing
    env.globals["EventKind"] = EventKind
    return env


class Renderer:
    """Renders a page, or only its live part when the page's script asks (``?part=main``),
    in the language the context names (``language``; English when it names none).

    One environment per language: a render never switches another's translations."""

    def __init__(self) -> None:
        self.envs = {code: _environment(t) for code, t in all_translations().items()}

    def text(self, template: str, **context: Any) -> str:
        language = context.setdefault("language", DEFAULT)
        env = self.envs.get(language, self.envs[DEFAULT])
        return env.get_template(template).render(**context)

    def page(
        self, request: Request, name: str, context: dict[str, Any], *, status: int = 200
    ) -> HTMLResponse:
        part = request.query_params.get("part") == "main"
        template = (
            f"{name}_main.html"
            if part and (TEMPLATES / f"{name}_main.html").exists()
            else f"{name}.html"
        )
        response = HTMLResponse(self.text(template, **context), status_code=status)
        response.headers["cache-control"] = "no-store"
        return response
