"""The language control on every console page and the teacher's page: ``POST /language``.

A plain HTML form (it works before any script loads), so its CSRF token travels in the form
rather than in the ``X-CSRF-Token`` header the scripts send; it is checked against the
session's all the same. The choice is kept in the hub's state directory, laid over the
user's record in ``users.json`` (hub.accounts), so it follows the user to every browser and
phone, survives a restart, and holds until IT sets that user's language.
"""

from __future__ import annotations

import secrets
from urllib.parse import parse_qs

from starlette.requests import Request
from starlette.responses import PlainTextResponse, RedirectResponse, Response

from hub.access import MAX_BODY, SESSION_COOKIE
from hub.auth import Principal, Sessions
from hub.errors import Refused


def _back_to(asked: str, principal: Principal) -> str:
    """The page the form was on: a path of ours, never another site (``//host``)."""
    fallback = "/teacher" if principal.kind == "page" else "/board"
    return asked if asked.startswith("/") and not asked.startswith("//") else fallback


class LanguageControl:
    def __init__(self, sessions: Sessions) -> None:
        self.sessions = sessions

    def _principal(self, request: Request) -> Principal | None:
        token = request.cookies.get(SESSION_COOKIE, "")
        if not token:
            return None
        return self.sessions.lookup(token, kind="console") or self.sessions.lookup(
            token, kind="page"
        )

    async def choose(self, request: Request) -> Response:
        principal = self._principal(request)
        raw = await request.body()
        form = {k: v[0] for k, v in parse_qs(raw[:MAX_BODY].decode("utf-8", "replace")).items()}
        if principal is None:
            return RedirectResponse("/login", status_code=303)
        if not secrets.compare_digest(form.get("csrf", ""), principal.csrf):
            return PlainTextResponse("The form is out of date: reload the page.", 403)
        try:
            self.sessions.users.choose_language(principal.user, form.get("language", ""))
        except Refused as refusal:
            return PlainTextResponse(str(refusal), 400)
        return RedirectResponse(_back_to(form.get("next", ""), principal), status_code=303)
