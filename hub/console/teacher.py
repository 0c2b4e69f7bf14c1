"""The teacher's page over HTTP: its pages, its JSON, its sessions and enrolment links.

A teacher's session is a ``page`` session (hub.auth): the console's gate
(:meth:`hub.access.Access.principal`) never accepts one, so a teacher reaches nothing of
the office console, and every route here takes only a ``page`` session with the TEACH
permission and checks the room against the teacher's rooms (hub.teacher). A one-time
enrolment link (``/teacher/enrol#user=...&token=...``, printed as a QR code by the office)
opens one such session on the phone that scans it; the token is in the fragment, so it is
never in a URL the hub or a proxy logs.
"""

from __future__ import annotations

import asyncio
import hmac
import time
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import quote

import segno
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from hub.access import SESSION_COOKIE, error, json_body, refusal_response, same_origin
from hub.auth import Account, Permission, Principal
from hub.console.base import Console
from hub.console.i18n import N_, browser_language
from hub.errors import Conflict, Invalid, Refused
from hub.login import Logins
from hub.staff import link_digest
from hub.teacher import TeacherDesk
from hub.user_language import LANGUAGES
from protocol.accounts import Role

TeacherHandler = Callable[[Request, Principal], Awaitable[Response]]

LINK_NEEDS_FACTOR = (
    "{user} must log in with a second factor at this school, so an enrolment link cannot "
    "sign a phone in: log in at /teacher/login with your password and the 6-digit code "
    "from your authenticator app (IT sets them up: `roomcast provision user passwd {user}` "
    "and `roomcast provision user totp {user}`)"
)
ADD_NEEDS_FACTOR = (
    "this school requires a second factor for teachers (totp_required_for in hub.json), "
    "which only IT can set up, so a teacher added here could never sign in: IT adds them "
    "(`roomcast provision staff import`, then `roomcast provision user passwd NAME` and "
    "`roomcast provision user totp NAME`)"
)


class TeacherPages:
    def __init__(self, console: Console, logins: Logins) -> None:
        parts = console.parts
        self.console, self.logins, self.store = console, logins, parts.store
        self.desk = TeacherDesk(
            engine=parts.engine,
            store=parts.store,
            bus=parts.bus,
            clock=time.time,
            cancel_window_s=parts.config.teacher_cancel_window_s,
        )
        self.hold_s, self.heartbeat_s = parts.config.teacher_hold_s, parts.config.heartbeat_s

    def principal(self, request: Request) -> Principal | None:
        token = request.cookies.get(SESSION_COOKIE, "")
        principal = self.logins.sessions.lookup(token, kind="page") if token else None
        if principal is None or not same_origin(request, principal):
            return None
        return principal if principal.may(Permission.TEACH) else None

    def api(self, handler: TeacherHandler) -> Callable[[Request], Awaitable[Response]]:
        async def guarded(request: Request) -> Response:
            principal = self.principal(request)
            if principal is None:
                return error("log in on the teacher's page (/teacher/login)", 401)
            try:
                return await handler(request, principal)
            except Refused as refusal:
                return refusal_response(refusal)

        return guarded

    def _html(self, name: str, **context: Any) -> Response:
        me = context.get("me")
        if me is not None:
            context |= {"language": self.console.language(me), "languages": LANGUAGES}
        page = self.console.render.text(name, site=self.console.site, **context)
        response = HTMLResponse(page)
        response.headers["cache-control"] = "no-store"
        return response

    async def page(self, request: Request) -> Response:
        principal = self.principal(request)
        if principal is None:
            return RedirectResponse("/teacher/login", status_code=303)
        rooms = self.desk.rooms(principal)
        chosen = request.query_params.get("room") or (rooms[0].id if rooms else "")
        try:
            view = self.desk.view(principal, chosen) if chosen else None
        except Refused as refusal:
            return self._html(
                "teacher.html", me=principal, rooms=rooms, view=None, why=str(refusal)
            )
        return self._html(
            "teacher.html",
            me=principal,
            rooms=rooms,
            view=view,
            why="" if rooms else N_("No room is assigned to you yet: ask the office."),
            hold_s=self.hold_s,
            heartbeat_s=self.heartbeat_s,
            cancel_window_s=self.desk.cancel_window_s,
        )

    async def login_page(self, request: Request) -> Response:
        return self._html("teacher_login.html", mode="login", language=_asked(request))

    async def enrol_page(self, request: Request) -> Response:
        # The link's user and token are in its fragment, which the browser never sends:
        # the account is unknown here, so the phone's language says; /teacher is the user's.
        return self._html("teacher_login.html", mode="enrol", language=_asked(request))

    async def room(self, request: Request, principal: Principal) -> Response:
        return JSONResponse(self.desk.view(principal, request.path_params["room"]))

    async def panic(self, request: Request, principal: Principal) -> Response:
        body = await json_body(request)
        found = self.desk.press(principal, request.path_params["room"], body.get("press_id"))
        return JSONResponse(found)

    async def cancel(self, request: Request, principal: Principal) -> Response:
        body = await json_body(request)
        done = self.desk.cancel(principal, request.path_params["room"], body.get("event_id"))
        return JSONResponse(done)

    async def roll(self, request: Request, principal: Principal) -> Response:
        body = await json_body(request)
        return JSONResponse(self.desk.report(principal, request.path_params["room"], body))

    async def logout(self, request: Request, principal: Principal) -> Response:
        self.logins.sessions.end(request.cookies.get(SESSION_COOKIE, ""))
        response = JSONResponse({"ok": True})
        response.delete_cookie(SESSION_COOKIE, path="/")
        return response

    async def enrol(self, request: Request) -> Response:
        """A one-time link: the right token for a teacher, unexpired and unused, opens a
        page session; a wrong one counts against the login rate limit."""
        try:
            body = await json_body(request)
        except Refused as refusal:
            return refusal_response(refusal)
        name, token = body.get("user"), body.get("token")
        client = request.client.host if request.client else "unknown"
        if not isinstance(name, str) or not isinstance(token, str) or not token:
            return error('send {"user": ..., "token": ...} from the enrolment link', 400)
        if self.logins.limiter.blocked(name, client):
            return error("too many failed attempts; wait a minute and try again", 429)
        account = self.logins.users.teachers().get(name)
        staff = None if account is None else account.staff
        now = time.time()
        good = staff is not None and hmac.compare_digest(staff.link_digest, link_digest(token))
        if account is None or staff is None or not good or now > staff.link_expires_at:
            self.logins.limiter.failed(name, client)
            self.store.audit(at=now, user=name, action="enrolment link refused", detail={})
            return error(
                "this enrolment link is wrong or expired: ask the office for a new one", 401
            )
        if self._needs_factor(name, account):  # the link is left unused
            self.store.audit(
                at=now, user=name, action="enrolment link refused (second factor)", detail={}
            )
            return error(LINK_NEEDS_FACTOR.format(user=name), 403)
        if not self.store.use_link(staff.link_digest, user=name, at=now):
            self.store.audit(at=now, user=name, action="enrolment link used again", detail={})
            return error("this enrolment link was already used: ask the office for a new one", 409)
        token_, principal = self.logins.sessions.create(name, account, "page")
        self.store.audit(at=now, user=name, action="login (page, enrolment link)", detail={})
        return self.logins.session_response(request, token_, principal)

    def _needs_factor(self, user: str, account: Account) -> bool:
        """Whether the account must pass a second factor, which a link cannot give."""
        factors = self.logins.factors
        return factors.required(account, factors.enrolment(user, account))

    # -- the office's side: teachers, where each comes from, links and sessions ---------

    async def staff_page(self, request: Request, principal: Principal) -> Response:
        counts = self.store.session_counts(kind="page", now=time.time())
        users = self.logins.users
        teachers = [
            {"user": name, "name": a.staff.name if a.staff else "", "rooms": sorted(a.rooms)}
            | {"sessions": counts.get(name, 0), "source": a.source, "added_by": a.added_by}
            for name, a in sorted(users.teachers().items())
        ]
        return self.console.show(
            request,
            principal,
            "teachers",
            teachers=teachers,
            hidden=users.hidden_console_teachers(),
        )

    async def revoke(self, request: Request) -> Response:
        """End every session of a teacher at once (a lost or stolen phone), and withdraw
        their pending enrolment link."""
        user = request.path_params["user"]
        self.logins.users.revoke(user, by=request.state.user)
        ended = self.store.end_sessions_of(user)
        self._audit(request, "teacher's sessions revoked", {"teacher": user, "sessions": ended})
        return JSONResponse({"teacher": user, "sessions_ended": ended})

    async def remove(self, request: Request) -> Response:
        """Remove a teacher added in the console; their sessions end at once."""
        user = request.path_params["user"]
        ended = self.store.end_sessions_of(user) if self.logins.users.remove(user) else 0
        self._audit(request, "teacher removed", {"teacher": user, "sessions": ended})
        return JSONResponse({"teacher": user, "removed": True, "sessions_ended": ended})

    async def add(self, request: Request) -> Response:
        """A new teacher from the console: no password, a one-time link to print. Kept in
        the hub's state directory (hub.console_edits), so it works on a hub that may not
        write the site directory, at once and after a restart."""
        body = await json_body(request)
        rooms = body.get("rooms")
        user, name = body.get("user"), body.get("name")
        if not isinstance(user, str) or not isinstance(name, str) or not isinstance(rooms, list):
            raise Invalid('send {"user": ..., "name": ..., "rooms": ["101", ...]}')
        if Role.TEACHER in self.logins.factors.required_for:
            raise Conflict(ADD_NEEDS_FACTOR)
        added, token = await asyncio.to_thread(
            self.logins.users.add_teacher,
            user=user,
            name=name,
            rooms=[str(r) for r in rooms],
            known_rooms=self.console.engine.presence.inventory.rooms,
            by=request.state.user,
        )
        return self._link_answer(request, "teacher added", added, token)

    async def link(self, request: Request) -> Response:
        user = request.path_params["user"]
        account = self.logins.users.teachers().get(user)
        if account is not None and self._needs_factor(user, account):
            raise Conflict(LINK_NEEDS_FACTOR.format(user=user))
        token = self.logins.users.new_link(user, by=request.state.user)
        return self._link_answer(request, "teacher's enrolment link renewed", user, token)

    def _audit(self, request: Request, action: str, detail: dict[str, Any]) -> None:
        self.store.audit(at=time.time(), user=request.state.user, action=action, detail=detail)

    def _link_answer(self, request: Request, action: str, user: str, token: str) -> Response:
        self._audit(request, action, {"teacher": user})
        base = str(request.base_url).rstrip("/")
        url = f"{base}/teacher/enrol#user={quote(user)}&token={token}"
        qr = segno.make(url, error="m").svg_data_uri(scale=4, border=2)
        return JSONResponse({"teacher": user, "url": url, "qr": qr})


def _asked(request: Request) -> str:
    """The language a page before login speaks: the browser's (Accept-Language)."""
    return browser_language(request.headers.get("accept-language", ""))


def teacher_routes(console: Console, logins: Logins) -> list[BaseRoute]:
    pages = TeacherPages(console, logins)
    api, allow = pages.api, console.access.allow
    room = "/api/teacher/rooms/{room}"
    return [
        Route("/teacher", pages.page),
        Route("/teacher/login", pages.login_page),
        Route("/teacher/enrol", pages.enrol_page),
        Route("/api/teacher/enrol", pages.enrol, methods=["POST"]),
        Route("/api/teacher/logout", api(pages.logout), methods=["POST"]),
        Route(room, api(pages.room)),
        Route(f"{room}/panic", api(pages.panic), methods=["POST"]),
        Route(f"{room}/cancel", api(pages.cancel), methods=["POST"]),
        Route(f"{room}/roll", api(pages.roll), methods=["POST"]),
        Route("/teachers", console.page(Permission.MANAGE_STAFF, pages.staff_page)),
        Route("/api/teachers", allow(Permission.MANAGE_STAFF, pages.add), methods=["POST"]),
        Route(
            "/api/teachers/{user}/link",
            allow(Permission.MANAGE_STAFF, pages.link),
            methods=["POST"],
        ),
        Route(
            "/api/teachers/{user}/revoke",
            allow(Permission.MANAGE_STAFF, pages.revoke),
            methods=["POST"],
        ),
        Route(
            "/api/teachers/{user}/remove",
            allow(Permission.MANAGE_STAFF, pages.remove),
            methods=["POST"],
        ),
    ]
