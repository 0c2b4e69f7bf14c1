"""The district console's routes on a real SQLite store, a real board and the users file
IT writes: every route with every role (checked on the server), login limits, sessions
stored as hashes, CSRF, security headers, one console in control, and a district
directive confirmed, sent exactly as shown, audited and recorded."""

from __future__ import annotations

import json
import re
import sqlite3
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from pathlib import Path

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from district.action import DistrictAction
from district.board import DistrictBoard
from district.console.app import ConsoleParts, create_console_app
from district.console.confirmation import Confirmations
from district.console.sending import NoGroups, Sender
from district.preview import preview
from district.store import DistrictStore
from protocol.codec import encode
from protocol.district import RequestOutcome
from protocol.district_accounts import DistrictRole
from protocol.messages import HubState
from protocol.srp import Action
from protocol.topics import Topics
from provisioning.district import add_school, init_district, open_district
from provisioning.district_config import NatsNode
from provisioning.district_users import set_password, users_file
from roomcast.district_config import DistrictDirGroups, check_users, service_config
from tests.district.console_kit import (
    PASSWORD,
    T_SCHOOL,
    TotpClock,
    directive,
    district_users,
    enrol_senders,
    hear,
    schools_in_several_states,
    summary,
    totp_secret,
)
from transport.endpoint import BrokerEndpoint
from transport.link import Link

SCHOOLS = ("adams", "grant", "lincoln", "polk", "taft")
ADMIN, OFFICER, VIEWER = DistrictRole.ADMIN, DistrictRole.SAFETY_OFFICER, DistrictRole.VIEWER
ALLOWED = {
    ADMIN: {"read", "send", "control", "audit", "groups"},
    OFFICER: {"read", "send", "control"},
    VIEWER: {"read"},
}
CONFIRM = "/requests/confirm?school=lincoln&school=grant&action=secure&mode=real&scope=school"
PAGES = [
    ("/board", "read", 200),
    ("/schools/lincoln", "read", 200),
    ("/schools/nowhere", "read", 404),
    ("/console/control", "read", 200),
    ("/requests", "read", 200),
    ("/requests/r-none", "read", 404),
    ("/requests/new", "send", 200),
    (CONFIRM, "send", 200),
    ("/audit", "audit", 200),
    ("/groups", "groups", 200),
]
"""Each page, the permission it needs, and its status for a role that has it."""
JSON_ROUTES = [
    ("GET", "/api/schools", "read"),
    ("GET", "/api/schools/lincoln/history", "read"),
    ("GET", "/api/requests", "read"),
    ("GET", "/api/whoami", "read"),
    ("GET", "/api/requests/r-none", "read"),
    ("POST", "/api/control/take", "control"),
    ("POST", "/api/control/release", "control"),
    ("POST", "/api/requests", "send"),
    ("POST", "/api/groups", "groups"),
    ("POST", "/api/groups/near-elm/remove", "groups"),
    ("POST", "/api/logout", "read"),  # last: it ends the session
]

Client = httpx.AsyncClient
Open = Callable[..., Awaitable[tuple[Client, str]]]


@pytest.fixture
def district_dir(tmp_path: Path) -> Path:
    node = NatsNode(name="n1", host="127.0.0.1", client_port=1, cluster_port=2, mqtt_port=3)
    layout = init_district(tmp_path / "district", "metro", [node])
    for site in SCHOOLS:
        add_school(layout.root, site)
    district_users(layout.root)
    enrol_senders(layout.root)  # admins and safety officers log in with a code too
    return layout.root


@pytest.fixture
def totp_clock() -> TotpClock:
    return TotpClock()


@pytest.fixture
async def console(
    tmp_path: Path, district_dir: Path, totp_clock: TotpClock
) -> AsyncIterator[tuple[httpx.ASGITransport, ConsoleParts, DistrictBoard]]:
    store = DistrictStore(tmp_path / "state" / "district.db")
    board = DistrictBoard(store=store, schools=SCHOOLS, clock=time.time)
    schools_in_several_states(board)
    link = Link((BrokerEndpoint(host="127.0.0.1", port=1),), client_id="t", will=None)
    sender = Sender(link=link, key=Ed25519PrivateKey.generate(), store=store, district="metro")
    app, parts = create_console_app(
        district="metro", board=board, record=store, users_file=users_file(district_dir),
        state_dir=tmp_path / "state", sender=sender, groups=DistrictDirGroups(district_dir),
        factor_clock=totp_clock,
    )  # fmt: skip
    yield httpx.ASGITransport(app=app), parts, board
    parts.close()
    store.close()


@pytest.fixture
async def open_console(
    console: tuple[httpx.ASGITransport, ConsoleParts, DistrictBoard],
    district_dir: Path,
    totp_clock: TotpClock,
) -> AsyncIterator[Open]:
    transport, _, _ = console
    opened: list[Client] = []

    async def login(role: DistrictRole, *, user: str | None = None) -> tuple[Client, str]:
        client = Client(transport=transport, base_url="http://district.test")
        opened.append(client)
        name = user or {ADMIN: "ann-admin", OFFICER: "kim-safety", VIEWER: "val-viewer"}[role]
        body = {"user": name, "password": PASSWORD, "kind": "console"}
        secret = totp_secret(district_dir, name)
        if secret is not None:
            body["otp"] = totp_clock.next_code(secret)
        response = await client.post("/api/login", json=body)
        assert response.status_code == 200, response.text
        return client, response.json()["csrf"]

    yield login
    for client in opened:
        await client.aclose()


async def test_nobody_gets_in_without_a_session(
    console: tuple[httpx.ASGITransport, ConsoleParts, DistrictBoard],
) -> None:
    async with Client(transport=console[0], base_url="http://district.test") as anonymous:
        for path, _, _ in PAGES:
            response = await anonymous.get(path)
            assert (response.status_code, response.headers.get("location")) == (303, "/login")
        for method, path, _ in [*JSON_ROUTES, ("GET", "/api/stream", "read")]:
            assert (await anonymous.request(method, path)).status_code == 401, path


async def test_every_page_and_route_checks_the_role_on_the_server(open_console: Open) -> None:
    for role in (ADMIN, OFFICER, VIEWER):
        client, csrf = await open_console(role)
        for path, need, status in PAGES:
            response = await client.get(path)
            expected = status if need in ALLOWED[role] else 403
            assert response.status_code == expected, (role, path, response.text)
        for method, path, need in JSON_ROUTES:
            response = await client.request(method, path, headers={"X-CSRF-Token": csrf})
            refused = response.status_code == 403
            assert refused == (need not in ALLOWED[role]), (role, path, response.text)


async def test_a_change_without_the_pages_csrf_token_is_refused(open_console: Open) -> None:
    client, csrf = await open_console(OFFICER)
    assert (await client.post("/api/control/take", json={})).status_code == 401
    forged = await client.post("/api/control/take", json={}, headers={"X-CSRF-Token": "x"})
    assert forged.status_code == 401
    taken = await client.post("/api/control/take", json={}, headers={"X-CSRF-Token": csrf})
    assert taken.status_code == 200 and taken.json()["yours"] is True


async def test_logins_are_limited_audited_and_sessions_stored_only_as_hashes(
    console: tuple[httpx.ASGITransport, ConsoleParts, DistrictBoard], tmp_path: Path
) -> None:
    transport, parts, _ = console
    async with Client(transport=transport, base_url="http://district.test") as client:
        wrong = {"user": "kim-safety", "password": "not it at all", "kind": "console"}
        statuses = [(await client.post("/api/login", json=wrong)).status_code for _ in range(6)]
        assert statuses == [401] * 5 + [429]
        right = {"user": "kim-safety", "password": PASSWORD, "kind": "console"}
        assert (await client.post("/api/login", json=right)).status_code == 429  # that address
    elsewhere = httpx.ASGITransport(app=transport.app, client=("10.9.0.7", 4000))
    async with Client(transport=elsewhere, base_url="http://district.test") as client:
        cli = {"user": "val-viewer", "password": PASSWORD, "kind": "cli"}
        token = (await client.post("/api/login", json=cli)).json()["token"]
        bearer = {"Authorization": f"Bearer {token}"}
        schools = (await client.get("/api/schools", headers=bearer)).json()["schools"]
        assert [s["site"] for s in schools] == list(SCHOOLS)
    entries = parts.store.audit_search()
    assert [e["action"] for e in entries].count("login failed") == 5
    assert any(e["action"] == "login refused (rate limit)" for e in entries)
    assert any(e["action"] == "login (cli)" and e["user"] == "val-viewer" for e in entries)
    raw = sqlite3.connect(tmp_path / "state" / "console.db")
    stored = [row[0] for row in raw.execute("SELECT token_hash FROM sessions")]
    raw.close()
    assert stored and token not in stored and all(len(h) == 64 for h in stored)


async def test_a_changed_password_ends_the_session_and_headers_and_cookie_are_strict(
    open_console: Open, district_dir: Path
) -> None:
    client, _ = await open_console(VIEWER)
    response = await client.get("/board")
    assert response.status_code == 200
    csp = response.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert response.headers["x-frame-options"] == "DENY"
    login = await client.post(
        "/api/login", json={"user": "val-viewer", "password": PASSWORD, "kind": "console"}
    )
    cookie = login.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=strict" in cookie
    set_password(district_dir, "val-viewer", "another long password")
    assert (await client.get("/api/schools")).status_code == 401


async def test_the_board_shows_every_school_and_unreachable_ones_first(open_console: Open) -> None:
    client, _ = await open_console(VIEWER)
    html = (await client.get("/board")).text
    assert "5 schools: 2 unreachable, 1 with open panic alerts, 2 with a directive" in html
    assert "2 schools UNREACHABLE" in html  # taft (its bridge said 0), polk (never heard)
    assert html.index('id="school-polk"') < html.index('id="school-adams"')
    assert html.index('id="school-lincoln"') < html.index('id="school-adams"')  # its alert
    assert "LOCKDOWN" in html and "4 / 6 rooms confirmed" in html
    assert "room 104" in html
    assert "no word from the district service" in html  # console.js's words, here
    assert "Building north" in html and "DRILL" in html and "1 / 3 rooms confirmed" in html
    school = (await client.get("/schools/grant")).text
    assert "r-drill-1" in school and "issued as #3" in school and "n1, n2" in school
    school = (await client.get("/schools/lincoln")).text
    assert "Not yet confirmed: 103, 104" in school
    assert "in force: LOCKDOWN #7 for the school (the school&#39;s own)" in school  # timeline


async def test_a_directive_is_confirmed_sent_as_shown_audited_and_only_by_the_holder(
    open_console: Open, console: tuple[httpx.ASGITransport, ConsoleParts, DistrictBoard]
) -> None:
    _, parts, _ = console
    kim, csrf = await open_console(OFFICER)
    page = (await kim.get(CONFIRM)).text
    assert "REAL - NOT A DRILL" in page and "2 schools" in page and "14 rooms" in page
    assert "lincoln" in page and "grant" in page and "adams" not in page.split("<main")[1]
    body = json.loads(page.split('data-request="')[1].split('"')[0].replace("&#34;", '"'))
    headers = {"X-CSRF-Token": csrf}
    changed = await kim.post("/api/requests", json=body | {"mode": "drill"}, headers=headers)
    assert changed.status_code == 409 and "changed since" in changed.json()["error"]
    sent = await kim.post("/api/requests", json=body, headers=headers)
    assert sent.status_code == 200, sent.text
    request_id = sent.json()["request_id"]
    record = (await kim.get(f"/api/requests/{request_id}")).json()
    assert record["drill"] is False and record["issued_by"] == "kim-safety"
    assert set(record["schools"]) == {"lincoln", "grant"}
    # No broker in this test: nothing was handed over, and the record says so.
    assert all(s["state"] == "no answer" and not s["sent"] for s in record["schools"].values())
    audited = next(
        e for e in parts.store.audit_search() if e["action"] == "district directive sent"
    )
    assert audited["user"] == "kim-safety" and audited["detail"]["request"] == request_id
    assert audited["detail"]["drill"] is False and audited["detail"]["schools"] == "lincoln, grant"
    # Kim's first send took control: another officer's console is read-only.
    other, other_csrf = await open_console(OFFICER, user="kim2-safety")
    refused = await other.post("/api/requests", json=body, headers={"X-CSRF-Token": other_csrf})
    assert refused.status_code == 409 and "kim-safety has control" in refused.json()["error"]


async def test_the_district_admin_keeps_groups_in_district_json_and_a_group_picks_schools(
    open_console: Open, district_dir: Path
) -> None:
    ann, csrf = await open_console(ADMIN)
    headers = {"X-CSRF-Token": csrf}
    bad = await ann.post("/api/groups", json={"name": "x", "schools": ["nowhere"]}, headers=headers)
    assert bad.status_code == 400 and "nowhere" in bad.json()["error"]
    made = {"name": "near-elm", "schools": ["lincoln", "grant"]}
    assert (await ann.post("/api/groups", json=made, headers=headers)).status_code == 200
    assert open_district(district_dir)[1].groups == {"near-elm": ("lincoln", "grant")}
    assert "near-elm: lincoln, grant" in (await ann.get("/requests/new")).text
    page = (await ann.get("/requests/confirm?group=near-elm&action=hold&mode=drill")).text
    assert "DRILL" in page and "2 schools" in page and "group near-elm" in page
    removed = await ann.post("/api/groups/near-elm/remove", headers=headers)
    assert removed.status_code == 200 and open_district(district_dir)[1].groups == {}
    kim, kim_csrf = await open_console(OFFICER)
    refused = await kim.post("/api/groups", json=made, headers={"X-CSRF-Token": kim_csrf})
    assert refused.status_code == 403


async def test_logout_ends_the_session_and_releases_control_both_audited(
    open_console: Open, console: tuple[httpx.ASGITransport, ConsoleParts, DistrictBoard]
) -> None:
    _, parts, _ = console
    kim, csrf = await open_console(OFFICER)
    headers = {"X-CSRF-Token": csrf}
    assert (await kim.post("/api/control/take", json={}, headers=headers)).status_code == 200
    assert (await kim.post("/api/logout", headers=headers)).status_code == 200
    assert (await kim.get("/api/schools")).status_code == 401
    assert parts.control.holder() is None
    actions = [(e["user"], e["action"]) for e in parts.store.audit_search()]
    for done in ("login (console)", "take control", "release control (logout)", "logout"):
        assert ("kim-safety", done) in actions


class ReadOnlyGroups(NoGroups):
    """district.json where the service's user may not write it (as IT should keep it)."""

    def set(self, name: str, schools: Sequence[str]) -> tuple[str, ...]:
        raise PermissionError(13, "Permission denied")


async def test_groups_on_a_read_only_district_json_answer_with_the_command_for_it(
    tmp_path: Path, district_dir: Path
) -> None:
    clock = TotpClock()
    store = DistrictStore(tmp_path / "ro" / "district.db")
    board = DistrictBoard(store=store, schools=SCHOOLS, clock=time.time)
    app, parts = create_console_app(
        district="metro", board=board, record=store, users_file=users_file(district_dir),
        state_dir=tmp_path / "ro", sender=None, groups=ReadOnlyGroups(), factor_clock=clock,
    )  # fmt: skip
    try:
        transport = httpx.ASGITransport(app=app)
        async with Client(transport=transport, base_url="http://district.test") as ann:
            secret = totp_secret(district_dir, "ann-admin")
            assert secret is not None
            code = clock.next_code(secret)
            login = {"user": "ann-admin", "password": PASSWORD, "kind": "console", "otp": code}
            csrf = (await ann.post("/api/login", json=login)).json()["csrf"]
            body = {"name": "near-elm", "schools": ["lincoln"]}
            refused = await ann.post("/api/groups", json=body, headers={"X-CSRF-Token": csrf})
        assert refused.status_code == 503
        assert "roomcast provision district group set" in refused.json()["error"]
    finally:
        parts.close()
        store.close()


def test_serve_refuses_a_bad_proxy_and_a_district_nobody_can_log_in_to(
    district_dir: Path,
) -> None:
    with pytest.raises(SystemExit, match=re.escape("--trusted-proxy: 'proxy.lan' is not an IP")):
        service_config(district_dir, trusted_proxies=("proxy.lan",))
    check_users(district_dir)  # the fixture's users: fine
    users_file(district_dir).unlink()
    with pytest.raises(SystemExit, match=re.escape("users.json: no such file")):
        check_users(district_dir)


def confirm_body(page: str) -> dict[str, object]:
    raw = page.split('data-request="')[1].split('"')[0]
    return dict(json.loads(raw.replace("&#34;", '"').replace("&#39;", "'").replace("&amp;", "&")))


async def confirmation(open_console: Open) -> tuple[Client, dict[str, str], dict[str, object]]:
    """Kim (a safety officer), her CSRF header, and what CONFIRM's Send button posts."""
    kim, csrf = await open_console(OFFICER)
    return kim, {"X-CSRF-Token": csrf}, confirm_body((await kim.get(CONFIRM)).text)


async def test_a_stale_confirmation_is_refused_and_the_new_page_says_what_changed(
    open_console: Open, console: tuple[httpx.ASGITransport, ConsoleParts, DistrictBoard]
) -> None:
    _, _, board = console
    kim, headers, body = await confirmation(open_console)
    forged = body | {"shown": dict(body["shown"]) | {"made_at": time.time() + 3600}}  # type: ignore[arg-type]
    refused = await kim.post("/api/requests", json=forged, headers=headers)
    assert refused.status_code == 409 and "not made by this district service" in refused.text
    # Lincoln's hub dies after the page was made (its bridge stays up).
    dead = HubState(online=False, epoch=1, heartbeat_s=5.0, time=T_SCHOOL)
    board.on_message(Topics("lincoln").hub_state, encode(dead))
    refused = await kim.post("/api/requests", json=body, headers=headers)
    assert refused.status_code == 409, refused.text
    line = "lincoln: its link was reachable, now UNREACHABLE (hub down)"
    assert line in refused.json()["changed"]
    again = (await kim.get(refused.json()["confirm"])).text
    assert "Not sent: what the page you read showed has changed" in again and line in again
    assert "UNREACHABLE: hub down" in again
    sent = await kim.post("/api/requests", json=confirm_body(again), headers=headers)
    assert sent.status_code == 200, sent.text


def test_a_confirmation_holds_for_two_minutes(
    console: tuple[httpx.ASGITransport, ConsoleParts, DistrictBoard],
) -> None:
    _, _, board = console
    now = [time.time()]
    confirmations = Confirmations(clock=lambda: now[0])
    action = DistrictAction(action=Action.SECURE, drill=True, schools=("adams",), issued_by="k")
    sealed = confirmations.seal(preview(action, board))
    assert confirmations.genuine(sealed.shown, sealed.token)
    now[0] += 119
    assert confirmations.changes(sealed.shown, preview(action, board)) == []
    now[0] += 2
    assert confirmations.changes(sealed.shown, preview(action, board)) == [
        "the page is 121 s old (a confirmation holds for 120 s)"
    ]


async def test_the_same_confirmation_sent_twice_is_one_request(
    open_console: Open, console: tuple[httpx.ASGITransport, ConsoleParts, DistrictBoard]
) -> None:
    _, parts, board = console
    kim, headers, body = await confirmation(open_console)
    first = await kim.post("/api/requests", json=body, headers=headers)
    assert first.status_code == 200, first.text
    # The answer was lost and the user presses again (the school meanwhile issued it).
    hear(board, summary("lincoln", seq=9))
    second = await kim.post("/api/requests", json=body, headers=headers)
    assert second.status_code == 200, second.text
    assert second.json()["request_id"] == first.json()["request_id"]
    assert second.json()["already_sent"] is True
    assert second.json()["record"]["id"] == first.json()["request_id"]
    assert len((await kim.get("/api/requests")).json()["requests"]) == 1
    sends = [e for e in parts.store.audit_search() if e["action"] == "district directive sent"]
    assert len(sends) == 1


async def test_the_record_shows_each_outcomes_age_the_link_now_and_rooms_not_listed(
    open_console: Open, console: tuple[httpx.ASGITransport, ConsoleParts, DistrictBoard]
) -> None:
    _, _, board = console
    kim, csrf = await open_console(OFFICER)
    page = (await kim.get(CONFIRM)).text
    assert "Summary age" in page and " old</td>" in page  # each school's summary age
    sent = await kim.post("/api/requests", json=confirm_body(page), headers={"X-CSRF-Token": csrf})
    request_id = sent.json()["request_id"]
    secure = directive(
        8, Action.SECURE, confirmed=1, total=6, request=request_id, pending_rooms=("101", "102")
    )
    outcome = RequestOutcome(request_id=request_id, at=T_SCHOOL, issued=True, seq=8)
    hear(board, summary("lincoln", seq=20, in_force=6, confirmed=1, directives=(secure,),
                        requests=(outcome,), shortened=True))  # fmt: skip
    dead = HubState(online=False, epoch=1, heartbeat_s=5.0, time=T_SCHOOL)
    board.on_message(Topics("lincoln").hub_state, encode(dead))
    record = (await kim.get(f"/requests/{request_id}")).text
    assert 'class="state-issued"' in record and "(as of 0 s ago)" in record
    assert "101, 102" in record and "(5 not confirmed, 2 listed)" in record
    assert "UNREACHABLE: hub down" in record  # lincoln's link now
    assert "<td>reachable</td>" in record  # grant's
