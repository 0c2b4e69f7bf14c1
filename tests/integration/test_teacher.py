"""The teacher's page on the hub's side, over a real socket with a real broker and store:
the teacher role on every route, the press as a panic (once, however often retried), its
cancel, the roll, one-time enrolment links, and revocation taking effect at once."""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from starlette.routing import Mount, Route

from hub.app import create_app
from hub.auth import validate_users_file
from hub.config import load_hub_config
from hub.directives import DirectiveRequest
from hub.queries import open_alerts
from hub.service import HubService
from protocol.accounts import hash_password
from protocol.srp import Action
from provisioning.staff import import_staff, new_link, revoke
from provisioning.throwaway import ThrowawaySite
from provisioning.users import set_password
from tests.conftest import admin_login, hub_with
from transport.settings import ConfigError

pytestmark = pytest.mark.integration

PASSWORD = "correct horse battery staple"
PUBLIC = {"/", "/login", "/enrol", "/api/login", "/api/enrol", "/api/health"}
"""Routes anyone may call (they log in, or say whether the hub is up)."""


def staff_csv(tmp_path: Path, rows: str) -> Path:
    path = tmp_path / "staff.csv"
    path.write_text("name,email,rooms\n" + rows, encoding="utf-8")
    return path


@pytest.fixture
def teachers(site: ThrowawaySite, tmp_path: Path) -> dict[str, str]:
    """Two teachers from a staff list: ana (rooms 101 and 102) and ben (room 103)."""
    csv = staff_csv(
        tmp_path, "Ana Lima,ana@school.example,101;102\nBen Ode,ben@school.example,103\n"
    )
    done = import_staff(site.layout.root, csv)
    assert [link.user for link in done.added] == ["ana@school.example", "ben@school.example"]
    for link in done.added:
        set_password(site.layout.root, link.user, PASSWORD)
    return {"ana": "ana@school.example", "ben": "ben@school.example"}


@pytest.fixture
async def client(hub: HubService) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=hub.api_url, timeout=10) as opened:
        yield opened


@contextlib.asynccontextmanager
async def phone(hub: HubService, user: str) -> AsyncIterator[httpx.AsyncClient]:
    """A teacher's phone logged in on the page, sending its CSRF token with every request."""
    async with httpx.AsyncClient(base_url=hub.api_url, timeout=10) as client:
        login = await client.post(
            "/api/login", json={"user": user, "password": PASSWORD, "kind": "page"}
        )
        assert login.status_code == 200, login.text
        client.headers["X-CSRF-Token"] = login.json()["csrf"]
        yield client


def _concrete(path: str, teacher: str) -> str:
    for name, value in (("{room}", "101"), ("{user}", teacher), ("{seq:int}", "1")):
        path = path.replace(name, value)
    return path.replace("{drill:int}", "1").replace("{device_id}", "main-101")


async def test_a_teacher_reaches_only_the_teachers_page_on_every_route(
    hub: HubService, teachers: dict[str, str]
) -> None:
    routes = sorted(create_app(hub._web_parts()).routes, key=lambda r: "logout" in str(r))
    checked = 0
    async with phone(hub, teachers["ana"]) as teacher:
        # Another teacher's room, even named directly, is refused.
        for method, path in (
            ("GET", "/api/teacher/rooms/103"),
            ("POST", "/api/teacher/rooms/103/panic"),
        ):
            response = await teacher.request(method, path, json={"press_id": "abcdefgh12"})
            assert response.status_code == 403, response.text
        for route in routes:
            if isinstance(route, Mount):
                continue
            assert isinstance(route, Route)
            path = _concrete(route.path, teachers["ana"])
            for method in sorted((route.methods or {"GET"}) - {"HEAD"}):
                response = await teacher.request(method, path, json={})
                if route.path in PUBLIC:  # a login door: nothing the session opens
                    assert response.status_code < 500, (method, path)
                    continue
                if route.path.startswith(("/teacher", "/api/teacher/")):
                    assert response.status_code not in (401, 403, 500), (
                        method,
                        path,
                        response.text,
                    )
                    continue
                checked += 1
                refused = response.status_code in (401, 403) or (
                    response.status_code == 303 and response.headers["location"] == "/login"
                )
                assert refused, (method, path, response.status_code, response.text[:200])
    assert checked > 30  # the whole console and API (37 routes now), not a handful
    assert open_alerts(hub.store) == []


async def test_teachers_log_in_only_on_the_page_and_office_users_never_there(
    hub: HubService, client: httpx.AsyncClient, teachers: dict[str, str], site: ThrowawaySite
) -> None:
    for kind in ("console", "cli"):
        body = {"user": teachers["ana"], "password": PASSWORD, "kind": kind}
        assert (await client.post("/api/login", json=body)).status_code == 403
    body = {"user": site.admin_user, "password": site.admin_password, "kind": "page"}
    assert (
        await client.post("/api/login", json=body | {"otp": site.admin_code()})
    ).status_code == 403


async def test_a_press_is_one_panic_alert_however_often_the_post_is_retried(
    hub: HubService, teachers: dict[str, str]
) -> None:
    async with phone(hub, teachers["ana"]) as teacher:
        presses = [
            await teacher.post(
                "/api/teacher/rooms/102/panic", json={"press_id": "press-0001-retry"}
            )
            for _ in range(3)
        ]
        assert [p.status_code for p in presses] == [200, 200, 200]
        assert [p.json()["duplicate"] for p in presses] == [False, True, True]
        assert len({p.json()["event_id"] for p in presses}) == 1
        alerts = open_alerts(hub.store)
        assert [(a["room"], a["device_id"], a["kind"]) for a in alerts] == [
            ("102", f"page:{teachers['ana']}", "panic")
        ]
        view = (await teacher.get("/api/teacher/rooms/102")).json()
        assert view["panics"][0]["cancellable"] is True
        # Another teacher cannot cancel it, even naming its id; its own teacher can.
        async with phone(hub, teachers["ben"]) as other:
            event = {"event_id": presses[0].json()["event_id"]}
            assert (
                await other.post("/api/teacher/rooms/102/cancel", json=event)
            ).status_code == 403
            assert (
                await other.post("/api/teacher/rooms/103/cancel", json=event)
            ).status_code == 404
        cancel = await teacher.post("/api/teacher/rooms/102/cancel", json=event)
        assert cancel.status_code == 200, cancel.text
        assert open_alerts(hub.store) == []
        assert hub.store.panic(event["event_id"])["cancelled_at"] is not None  # both on record
        actions = [e["action"] for e in hub.store.audit_log()]
        assert "panic (teacher's page)" in actions
        assert "panic cancelled (teacher's page)" in actions


async def test_a_cancel_after_the_window_is_refused(
    site: ThrowawaySite, teachers: dict[str, str], mosquitto: object
) -> None:
    async with (
        hub_with(site, teacher={"cancel_window_s": 5}) as hub,
        phone(hub, teachers["ana"]) as teacher,
    ):
        press = await teacher.post(
            "/api/teacher/rooms/101/panic", json={"press_id": "late-cancel-1"}
        )
        event_id = press.json()["event_id"]
        assert press.json()["cancel_until"] - press.json()["at"] == 5
        with hub.store._db:  # the press, as if made six seconds ago
            hub.store._db.execute(
                "UPDATE events SET received_at = received_at - 6 WHERE event_id = ?",
                (event_id,),
            )
        late = await teacher.post("/api/teacher/rooms/101/cancel", json={"event_id": event_id})
        assert late.status_code == 409, late.text
        assert "call the office" in late.json()["error"]
        assert [a["event_id"] for a in open_alerts(hub.store)] == [event_id]


async def test_the_page_shows_the_displays_words_and_takes_the_roll(
    hub: HubService, teachers: dict[str, str]
) -> None:
    directive = hub.engine.directives.issue(
        DirectiveRequest(action=Action.EVACUATE, location="the flag pole", drill=True),
        user="office",
    )
    async with phone(hub, teachers["ana"]) as teacher:
        view = (await teacher.get("/api/teacher/rooms/101")).json()
        assert view["directive"]["term"] == "EVACUATE"
        assert view["directive"]["lines"] == ["To: the flag pole"]
        assert view["directive"]["drill"] is True
        report = {"seq": directive.seq, "missing": 2, "injured": 1, "help": True}
        sent = await teacher.post("/api/teacher/rooms/101/roll", json=report)
        assert sent.status_code == 200, sent.text
        assert sent.json()["words"] == "2 missing, 1 injured, NEEDS HELP"
        assert sent.json()["by"] == teachers["ana"]
        assert (await teacher.get("/api/teacher/rooms/101")).json()["roll"]["missing"] == 2
        bad = await teacher.post("/api/teacher/rooms/101/roll", json=report | {"missing": -1})
        assert bad.status_code == 400
        assert (await teacher.post("/api/teacher/rooms/103/roll", json=report)).status_code == 403
    assert hub.engine.roll.campus().entries["101"].by.id == teachers["ana"]


async def test_an_enrolment_link_opens_one_session_once(
    hub: HubService, client: httpx.AsyncClient, site: ThrowawaySite, teachers: dict[str, str]
) -> None:
    link = new_link(site.layout.root, teachers["ben"])
    assert "#user=ben%40school.example&token=" in link.url("https://hub")
    wrong = await client.post("/api/teacher/enrol", json={"user": link.user, "token": "guess"})
    assert wrong.status_code == 401
    opened = await client.post("/api/teacher/enrol", json={"user": link.user, "token": link.token})
    assert opened.status_code == 200, opened.text
    client.headers["X-CSRF-Token"] = opened.json()["csrf"]
    assert (await client.get("/api/teacher/rooms/103")).status_code == 200
    again = httpx.AsyncClient(base_url=hub.api_url, timeout=10)
    async with again:
        used = await again.post("/api/teacher/enrol", json={"user": link.user, "token": link.token})
        assert used.status_code == 409
    # The session lasts a school year and is not extended by use.
    row = hub.store._db.execute("SELECT expires_at FROM sessions WHERE kind = 'page'").fetchone()
    assert 300 * 86400 < row[0] - time.time() <= 320 * 86400


async def test_revoking_a_teachers_sessions_takes_effect_at_once(
    hub: HubService, site: ThrowawaySite, teachers: dict[str, str]
) -> None:
    async with (
        phone(hub, teachers["ana"]) as first,
        phone(hub, teachers["ben"]) as second,
        httpx.AsyncClient(base_url=hub.api_url, timeout=10) as admin,
    ):
        assert (await first.get("/api/teacher/rooms/101")).status_code == 200
        login = await admin.post(
            "/api/login",
            json={
                "user": site.admin_user,
                "password": site.admin_password,
                "otp": site.admin_code(),
                "kind": "console",
            },
        )
        admin.headers["X-CSRF-Token"] = login.json()["csrf"]
        listed = await admin.get("/teachers")
        assert listed.status_code == 200 and teachers["ana"] in listed.text
        ended = await admin.post(f"/api/teachers/{teachers['ana']}/revoke", json={})
        assert ended.json() == {"teacher": teachers["ana"], "sessions_ended": 1}
        assert (await first.get("/api/teacher/rooms/101")).status_code == 401
        assert (await second.get("/api/teacher/rooms/103")).status_code == 200
        # From provisioning (the hub may be down): the file's change ends the session too.
        revoke(site.layout.root, teachers["ben"])
        assert (await second.get("/api/teacher/rooms/103")).status_code == 401


async def test_an_admin_adds_a_teacher_in_the_console_and_prints_their_link(
    hub: HubService, site: ThrowawaySite, client: httpx.AsyncClient
) -> None:
    login = await client.post(
        "/api/login",
        json={
            "user": site.admin_user,
            "password": site.admin_password,
            "otp": site.admin_code(),
            "kind": "console",
        },
    )
    client.headers["X-CSRF-Token"] = login.json()["csrf"]
    new = {"user": "Cy@School.example", "name": "Cy Roe", "rooms": ["102", "103"]}
    added = await client.post("/api/teachers", json=new)
    assert added.status_code == 200, added.text
    url = added.json()["url"]
    assert url.startswith(f"{hub.api_url}/teacher/enrol#user=cy%40school.example&token=")
    assert added.json()["qr"].startswith("data:image/svg+xml")
    assert (await client.post("/api/teachers", json=new)).status_code == 409
    taken = await client.post("/api/teachers", json=new | {"user": site.admin_user})
    assert taken.status_code == 409 and "users.json (role admin" in taken.json()["error"]
    unknown = await client.post("/api/teachers", json=new | {"user": "dee", "rooms": ["9z"]})
    assert unknown.status_code == 400 and "9z" in unknown.text
    token = url.rpartition("token=")[2]
    async with httpx.AsyncClient(base_url=hub.api_url, timeout=10) as phone_:
        body = {"user": "cy@school.example", "token": token}
        opened = await phone_.post("/api/teacher/enrol", json=body)
        assert opened.status_code == 200, opened.text
        assert (await phone_.get("/api/teacher/rooms/103")).status_code == 200
        assert (await phone_.get("/api/teacher/rooms/101")).status_code == 403
        listed = (await client.get("/teachers")).text
        assert "Added here by " + site.admin_user in listed and "data-remove=" in listed
        renewed = await client.post("/api/teachers/cy@school.example/link", json={})
        assert renewed.status_code == 200 and renewed.json()["url"] != url
        removed = await client.post("/api/teachers/cy@school.example/remove", json={})
        assert removed.json() == {"teacher": "cy@school.example", "removed": True} | {
            "sessions_ended": 1
        }
        assert (await phone_.get("/api/teacher/rooms/103")).status_code == 401
    token = renewed.json()["url"].rpartition("token=")[2]
    gone = await client.post("/api/teacher/enrol", json=body | {"token": token})
    assert gone.status_code == 401  # the removed teacher's link went with them
    actions = [e["action"] for e in hub.store.audit_log()]
    assert {"teacher added", "teacher's enrolment link renewed", "teacher removed"} <= set(actions)


async def test_the_console_links_a_provisioned_teacher_and_revoke_withdraws_it(
    hub: HubService, site: ThrowawaySite, client: httpx.AsyncClient, teachers: dict[str, str]
) -> None:
    login = await client.post("/api/login", json=admin_login(site, kind="console"))
    client.headers["X-CSRF-Token"] = login.json()["csrf"]
    ben = teachers["ben"]
    made = await client.post(f"/api/teachers/{ben}/link", json={})
    token = made.json()["url"].rpartition("token=")[2]
    revoked = await client.post(f"/api/teachers/{ben}/revoke", json={})
    assert revoked.json() == {"teacher": ben, "sessions_ended": 0}
    async with httpx.AsyncClient(base_url=hub.api_url, timeout=10) as phone_:
        body = {"user": ben, "token": token}
        assert (await phone_.post("/api/teacher/enrol", json=body)).status_code == 401
        token = (await client.post(f"/api/teachers/{ben}/link", json={})).json()["url"]
        body["token"] = token.rpartition("token=")[2]
        assert (await phone_.post("/api/teacher/enrol", json=body)).status_code == 200
        assert (await phone_.get("/api/teacher/rooms/103")).status_code == 200
        revoke(site.layout.root, ben)  # IT's revoke ends the session the console's link made
        assert (await phone_.get("/api/teacher/rooms/103")).status_code == 401
    listed = (await client.get("/teachers")).text
    assert "Staff list (users.json)" in listed
    kept = await client.post(f"/api/teachers/{ben}/remove", json={})
    assert kept.status_code == 409 and f"provision user remove {ben}" in kept.json()["error"]


@pytest.mark.parametrize(
    ("settings", "key"),
    [
        ({"hold_s": 0.2}, "teacher.hold_s"),
        ({"hold_s": 30}, "teacher.hold_s"),
        ({"cancel_window_s": 1}, "teacher.cancel_window_s"),
    ],
)
def test_the_hub_refuses_a_hold_or_cancel_window_out_of_range(
    site: ThrowawaySite, settings: dict[str, float], key: str
) -> None:
    config = json.loads(site.hub.config.read_text(encoding="utf-8"))
    site.hub.config.write_text(json.dumps(config | {"teacher": settings}), encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_hub_config(site.hub.config)
    assert key in str(caught.value)


def test_a_damaged_teacher_record_names_its_key(tmp_path: Path) -> None:
    users = tmp_path / "users.json"
    record = {"role": "teacher", "scrypt": hash_password("x" * 12), "rooms": ["101", "Room 2"]}
    users.write_text(json.dumps({"format": 1, "users": {"ana": record}}))
    with pytest.raises(ConfigError) as caught:
        validate_users_file(users)
    assert "users.ana.rooms" in str(caught.value)
