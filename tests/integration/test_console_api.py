"""The console's server side over a real socket: pages and roles, console control (UL 2572),
drills and their debrief, previews, the audit filter, escaping and security headers."""

from __future__ import annotations

import contextlib
import csv
import io
from collections.abc import AsyncIterator, Awaitable, Callable

import httpx
import pytest

from hub.queries import ALERT_PAGE
from hub.service import HubService
from protocol.messages import Event, EventKind
from provisioning import add_user
from provisioning.throwaway import ThrowawaySite
from tests.conftest import Node, eventually, login_body

pytestmark = pytest.mark.integration

PASSWORD = "correct horse battery staple"
ROLES = ("admin", "office", "responder", "viewer")

Console = tuple[httpx.AsyncClient, str]
"""A client holding a console session cookie, and that session's CSRF token."""
OpenConsole = Callable[[str], Awaitable[Console]]

PAGES = [
    ("/board", "read"),
    ("/kiosk", "read"),
    ("/alerts", "read"),
    ("/devices", "read"),
    ("/drills", "read"),
    ("/console/control", "read"),
    ("/issue", "issue"),
    ("/issue/confirm?action=hold&drill=drill&scope=site", "issue"),
    ("/audit", "audit"),
    ("/teachers", "staff"),
]
JSON_ROUTES = [
    ("GET", "/api/control", "read"),
    ("GET", "/api/drills", "read"),
    ("GET", "/api/drills/1", "read"),
    ("GET", "/api/devices", "read"),
    ("GET", "/api/directives/preview?action=hold&drill=drill", "issue"),
    ("POST", "/api/control/take", "control"),
    ("POST", "/api/control/release", "control"),
    ("POST", "/api/teachers/nobody/link", "staff"),
    ("POST", "/api/teachers/nobody/revoke", "staff"),
]
ALLOWED = {
    "admin": {"read", "issue", "audit", "control", "staff"},
    "office": {"read", "issue", "audit", "control"},
    "responder": {"read", "control"},
    "viewer": {"read"},
}


@pytest.fixture
async def users(site: ThrowawaySite) -> dict[str, tuple[str, str]]:
    """A user of each role (name, password); two office users for the control tests."""
    found = {"admin": (site.admin_user, site.admin_password)}
    for name, role in [("office", "office"), ("office2", "office"), *[(r, r) for r in ROLES[2:]]]:
        add_user(site.layout.root, f"{name}-user", role, PASSWORD)
        found[name] = (f"{name}-user", PASSWORD)
    return found


@pytest.fixture
async def open_console(
    hub: HubService, site: ThrowawaySite, users: dict[str, tuple[str, str]]
) -> AsyncIterator[OpenConsole]:
    clients: list[httpx.AsyncClient] = []

    async def open_as(who: str) -> Console:
        client = httpx.AsyncClient(base_url=hub.api_url, timeout=10)
        clients.append(client)
        name, password = users[who]
        login = await client.post(
            "/api/login", json=login_body(site, name, password, kind="console")
        )
        assert login.status_code == 200, login.text
        return client, str(login.json()["csrf"])

    yield open_as
    for client in clients:
        await client.aclose()


@contextlib.asynccontextmanager
async def _cli(hub: HubService, who: tuple[str, str]) -> AsyncIterator[httpx.AsyncClient]:
    """A command-line session (bearer token), as ``roomcast login`` makes."""
    async with httpx.AsyncClient(base_url=hub.api_url, timeout=10) as client:
        login = await client.post("/api/login", json={"user": who[0], "password": who[1]})
        client.headers["Authorization"] = f"Bearer {login.json()['token']}"
        yield client


async def test_pages_need_a_login_and_say_nothing_without_one(hub: HubService) -> None:
    async with httpx.AsyncClient(base_url=hub.api_url, timeout=10) as anonymous:
        for path, _ in PAGES:
            response = await anonymous.get(path)
            assert response.status_code == 303, path
            assert response.headers["location"] == "/login"
        login = await anonymous.get("/login")
        assert login.status_code == 200
        assert 'type="password"' in login.text
        for method, path, _ in JSON_ROUTES:
            assert (await anonymous.request(method, path)).status_code == 401, path


async def test_every_page_and_route_checks_the_role_on_the_server(
    open_console: OpenConsole,
) -> None:
    for role in ROLES:
        client, csrf = await open_console(role)
        for path, need in PAGES:
            response = await client.get(path)
            expected = 200 if need in ALLOWED[role] else 403
            assert response.status_code == expected, (role, path, response.text[:300])
        for method, path, need in JSON_ROUTES:
            response = await client.request(method, path, headers={"X-CSRF-Token": csrf})
            refused = response.status_code == 403
            assert refused == (need not in ALLOWED[role]), (role, path, response.text)


async def test_security_headers_and_cookie_flags(
    hub: HubService, open_console: OpenConsole
) -> None:
    client, _ = await open_console("viewer")
    for path in ("/login", "/board", "/api/status", "/static/console.js"):
        response = await client.get(path)
        policy = response.headers["content-security-policy"]
        assert "script-src 'self'" in policy and "unsafe-inline" not in policy, path
        assert "frame-ancestors 'none'" in policy
        assert response.headers["x-content-type-options"] == "nosniff"
    board = await client.get("/board")
    assert board.headers["cache-control"] == "no-store"
    assert "<script>" not in board.text  # every script is a static file
    async with httpx.AsyncClient(base_url=hub.api_url) as fresh:
        login = await fresh.post(
            "/api/login",
            json={"user": "viewer-user", "password": PASSWORD, "kind": "console"},
        )
    cookie = login.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=strict" in cookie and "path=/" in cookie
    assert PASSWORD not in board.text


async def test_one_console_has_control_and_a_takeover_needs_a_reason(
    hub: HubService, nodes: list[Node], open_console: OpenConsole
) -> None:
    (alice, alice_csrf), (bob, bob_csrf) = (
        await open_console("office"),
        await open_console("office2"),
    )
    as_alice, as_bob = {"X-CSRF-Token": alice_csrf}, {"X-CSRF-Token": bob_csrf}

    taken = await alice.post("/api/control/take", headers=as_alice, json={})
    assert taken.json() == taken.json() | {"held": True, "yours": True, "user": "office-user"}
    assert (await bob.get("/api/control")).json()["yours"] is False

    for path, body in [
        ("/api/directives", {"action": "lockdown", "drill": True}),
        ("/api/rooms/101/release", {}),
        ("/api/alerts/abc/ack", {}),
    ]:
        refused = await bob.post(path, headers=as_bob, json=body)
        assert refused.status_code == 409, path
        assert "office-user has control" in refused.json()["error"]
    assert hub.store.directives() == []

    await _take_over(hub, alice=(alice, as_alice), bob=(bob, as_bob))

    assert (await alice.post("/api/control/release", headers=as_alice)).status_code == 409
    await bob.post("/api/logout", headers=as_bob)  # logging out hands control back
    assert (await alice.get("/api/control")).json()["held"] is False
    again = await alice.post("/api/directives", headers=as_alice, json={"action": "secure"})
    assert again.status_code == 201  # the first action takes free control
    assert (await alice.get("/api/control")).json()["yours"] is True


Sender = tuple[httpx.AsyncClient, dict[str, str]]


async def _take_over(hub: HubService, *, alice: Sender, bob: Sender) -> None:
    """Bob takes control from Alice: refused without a reason, recorded with one."""
    (alice_client, as_alice), (bob_client, as_bob) = alice, bob
    no_reason = await bob_client.post("/api/control/take", headers=as_bob, json={"reason": "  "})
    assert no_reason.status_code == 409 and "reason" in no_reason.json()["error"]
    over = await bob_client.post(
        "/api/control/take", headers=as_bob, json={"reason": "Alice left for the gym"}
    )
    assert over.status_code == 200 and over.json()["yours"] is True
    issued = await bob_client.post(
        "/api/directives", headers=as_bob, json={"action": "hold", "drill": True}
    )
    assert issued.status_code == 201
    refused = await alice_client.post("/api/directives", headers=as_alice, json={"action": "hold"})
    assert refused.status_code == 409

    audit = hub.store.audit_search(text="control")
    takeover = next(e for e in audit if e["action"] == "take over control")
    assert takeover["user"] == "office2-user"
    assert takeover["detail"] == {"from": "office-user", "reason": "Alice left for the gym"}


async def test_the_command_line_needs_no_control_but_is_audited(
    hub: HubService, nodes: list[Node], open_console: OpenConsole, users: dict[str, tuple[str, str]]
) -> None:
    console, csrf = await open_console("office")
    await console.post("/api/control/take", headers={"X-CSRF-Token": csrf}, json={})
    async with _cli(hub, users["responder"]) as cli:
        taken = await cli.post("/api/control/take", json={})
        assert taken.status_code == 400 and "command line" in taken.json()["error"]
        issued = await cli.post("/api/directives", json={"action": "hold"})
        assert issued.status_code == 403  # the role still applies
        async with _cli(hub, users["office2"]) as office:
            assert (
                await office.post("/api/directives", json={"action": "hold"})
            ).status_code == 201
    [entry] = hub.store.audit_search(text="during console control")
    assert entry["user"] == "office2-user"
    assert entry["detail"] == {"request": "POST /api/directives", "console": "office-user"}
    page = await console.get("/audit", params={"q": "command-line"})
    assert "command-line action during console control" in page.text


async def _acked(hub: HubService, seq: int) -> None:
    await eventually(
        lambda: len(hub.engine.acks.of(seq)) == len(hub.engine.presence.devices),
        hub,
        what=f"every display to acknowledge #{seq}",
    )


async def test_a_drill_from_first_directive_to_all_clear_and_its_report(
    hub: HubService, nodes: list[Node], open_console: OpenConsole
) -> None:
    client, csrf = await open_console("office")
    send = {"X-CSRF-Token": csrf}
    lockdown = await client.post(
        "/api/directives", headers=send, json={"action": "lockdown", "drill": True}
    )
    await _acked(hub, lockdown.json()["seq"])
    assert (await client.post("/api/rooms/101/release", headers=send)).status_code == 201
    nodes[1].service.activate(EventKind.PANIC)
    await eventually(lambda: _has_panic(hub), hub, what="the panic at the hub")
    running = (await client.get("/api/drills")).json()
    assert [d["ended_by"] for d in running] == [None]
    clear = await client.post(
        "/api/directives", headers=send, json={"action": "all_clear", "drill": True}
    )
    await _acked(hub, clear.json()["seq"])

    [drill] = (await client.get("/api/drills")).json()
    assert drill["id"] == lockdown.json()["seq"] and drill["ended_by"] == "all clear"
    report = (await client.get(f"/api/drills/{drill['id']}")).json()
    assert [d["term"] for d in report["directives"]] == ["LOCKDOWN", "RELEASED", "ALL CLEAR"]
    assert report["never_acked"] == [] and report["offline_rooms"] == []
    assert report["acks"] == 3 + 1 + 3
    assert (
        report["ack_ms"]["p50"] is not None and report["ack_ms"]["max"] >= report["ack_ms"]["p95"]
    )
    assert [(a["kind"], a["room"]) for a in report["alerts"]] == [("panic", "102")]

    page = await client.get(f"/drills/{drill['id']}")
    assert page.status_code == 200 and "<svg" in page.text and "Room 103" in page.text
    exported = await client.get(f"/drills/{drill['id']}/report.csv")
    assert exported.headers["content-type"].startswith("text/csv")
    assert "attachment" in exported.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(exported.text)))
    assert len(rows) == 3 + 1 + 3
    assert {r["result"] for r in rows} == {"acked"} and {r["drill_flag"] for r in rows} == {"drill"}


async def test_a_real_directive_ends_a_drill_and_offline_rooms_are_reported(
    hub: HubService,
    site: ThrowawaySite,
    start_node: Callable[[str], Awaitable[Node]],
    open_console: OpenConsole,
) -> None:
    first, second, _ = (d.device_id for d in site.devices)
    for device in (first, second):
        await start_node(device)
    await eventually(
        lambda: hub.engine.presence.devices[second].online, hub, what="two rooms online"
    )
    client, csrf = await open_console("office")
    send = {"X-CSRF-Token": csrf}
    drill = await client.post(
        "/api/directives", headers=send, json={"action": "hold", "drill": True}
    )
    real = await client.post(
        "/api/directives", headers=send, json={"action": "secure", "drill": False}
    )
    assert real.status_code == 201
    [found] = (await client.get("/api/drills")).json()
    assert found["id"] == drill.json()["seq"] and found["ended_by"] == "real directive"
    assert found["offline_rooms"] == ["103"]
    report = (await client.get(f"/api/drills/{found['id']}")).json()
    assert [d["seq"] for d in report["directives"]] == [drill.json()["seq"]]
    assert report["never_acked"] == ["103"]
    board = (await client.get("/board")).text
    room_103 = board[board.index('data-room="103"') :]
    assert "OFFLINE" in room_103 and "LINK LOST" in room_103 and "NOT CONFIRMED" in room_103


async def test_the_confirmation_says_what_will_happen(
    hub: HubService, nodes: list[Node], open_console: OpenConsole
) -> None:
    client, csrf = await open_console("office")
    preview = await client.get(
        "/api/directives/preview",
        params={
            "action": "shelter",
            "drill": "real",
            "scope": "room",
            "room": "102",
            "hazard": "tornado",
        },
    )
    assert preview.status_code == 200, preview.text
    body = preview.json()
    assert body["rooms"] == ["102"] and body["directive"]["strategy"] == "Go to the shelter area"
    assert body["directive"]["drill"] is False
    page = await client.get(
        "/issue/confirm", params={"action": "lockdown", "drill": "drill", "scope": "site"}
    )
    assert "DRILL: this is a practice" in page.text
    assert "Issue DRILL LOCKDOWN to 3 rooms" in page.text
    real = await client.get("/issue/confirm", params={"action": "lockdown", "drill": "real"})
    assert "REAL EMERGENCY: this is NOT a drill" in real.text
    undecided = await client.get("/issue/confirm", params={"action": "lockdown"})
    assert undecided.status_code == 400 and "choose DRILL or REAL" in undecided.text
    evacuate = await client.get("/issue/confirm", params={"action": "evacuate", "drill": "drill"})
    assert evacuate.status_code == 400 and "location is required" in evacuate.text

    await client.post(
        "/api/directives", headers={"X-CSRF-Token": csrf}, json={"action": "lockdown"}
    )
    clear = await client.get(
        "/api/directives/preview", params={"action": "all_clear", "drill": "real"}
    )
    assert clear.json()["lockdown_rooms"] == ["101", "102", "103"]
    assert hub.engine.directives.latest_seq == 1  # previews issue nothing


async def test_text_from_users_is_escaped_in_pages(
    hub: HubService, nodes: list[Node], open_console: OpenConsole
) -> None:
    client, csrf = await open_console("office")
    hostile = '<img src=x onerror="alert(1)">'
    issued = await client.post(
        "/api/directives",
        headers={"X-CSRF-Token": csrf},
        json={"action": "evacuate", "location": hostile, "drill": True},
    )
    assert issued.status_code == 201
    for path in ("/board", "/issue", f"/drills/{issued.json()['seq']}"):
        page = await client.get(path)
        assert hostile not in page.text, path
    assert "&lt;img src=x onerror=" in (await client.get("/board")).text


async def test_devices_alerts_and_audit_filter(
    hub: HubService, nodes: list[Node], open_console: OpenConsole
) -> None:
    client, csrf = await open_console("office")
    issued = await client.post(
        "/api/directives", headers={"X-CSRF-Token": csrf}, json={"action": "hold"}
    )
    await _acked(hub, issued.json()["seq"])
    devices = (await client.get("/api/devices")).json()
    assert {d["state"] for d in devices} == {"online"}
    assert all(len(d["ack_ms"]) == 1 and d["firmware"] for d in devices)

    event = nodes[0].service.activate(EventKind.PANIC)
    assert event is not None
    await eventually(lambda: _has_panic(hub), hub, what="the panic at the hub")
    acked = await client.post(f"/api/alerts/{event.event_id}/ack", headers={"X-CSRF-Token": csrf})
    assert acked.status_code == 200
    alerts = (await client.get("/alerts")).text
    assert "by office-user at" in alerts

    nodes[2].service.activate(EventKind.STAFF_ASSIST)
    await eventually(
        lambda: any(True for _ in hub.store.events(kinds=("staff_assist",))), hub, what="report"
    )
    board = (await client.get("/board")).text
    room = nodes[2].service.config.room
    # Under a Hold the press is the room's roll report: the tile says it once, as the roll.
    assert f'class="roll help" data-roll-room="{room}">Roll: NEEDS HELP' in board
    assert 'class="report staff_assist"' not in board

    mine = await client.get("/audit", params={"user": "office-user", "q": "acknowledge"})
    assert "acknowledge alert" in mine.text and "login (console)" not in mine.text
    assert (await client.get("/audit", params={"from": "yesterday"})).status_code == 400


def _has_panic(hub: HubService) -> bool:
    return any(True for _ in hub.store.events(kinds=("panic",)))


async def test_an_old_open_alert_is_on_every_pages_strip_under_a_page_of_newer_ones(
    hub: HubService, open_console: OpenConsole
) -> None:
    """The strip is a query of every open alert, not the newest page of the record."""
    old_id, new_id = list(hub.engine.presence.devices)[:2]
    records = hub.engine.presence.devices
    old = Event(
        event_id="0" * 32,
        device_id=old_id,
        room=records[old_id].room,
        kind=EventKind.PANIC,
        created_at=1.0,
    )
    assert hub.engine.events.on_event(old_id, old)
    for n in range(ALERT_PAGE + 20):  # newer panics, each cancelled by its own device
        panic = Event(
            event_id=f"{n + 1:032x}",
            device_id=new_id,
            room=records[new_id].room,
            kind=EventKind.PANIC,
            created_at=1.0,
        )
        assert hub.engine.events.on_event(new_id, panic)
        cancel = Event(
            event_id=f"c{n:031x}",
            device_id=new_id,
            room=records[new_id].room,
            kind=EventKind.CANCEL,
            created_at=1.0,
            cancels=panic.event_id,
        )
        assert hub.engine.events.on_event(new_id, cancel)
    client, _ = await open_console("office")
    for path in ("/board", "/issue", "/devices", "/audit"):
        page = await client.get(path)
        assert f'data-open-alert="{old.event_id}"' in page.text, path
    listing = (await client.get("/api/alerts")).json()
    assert [a["event_id"] for a in listing["open"]] == [old.event_id]
    assert listing["next"] is not None
