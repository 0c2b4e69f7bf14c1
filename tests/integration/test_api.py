"""The hub's HTTP API over a real socket: logins, roles on every route, CSRF, rate limit."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from hub.service import HubService
from provisioning import add_user
from provisioning.throwaway import ThrowawaySite
from tests.conftest import Node

pytestmark = pytest.mark.integration

PASSWORD = "correct horse battery staple"
ROUTES = [
    ("GET", "/api/status", "read"),
    ("GET", "/api/whoami", "read"),
    ("GET", "/api/directives", "read"),
    ("POST", "/api/directives", "issue"),
    ("GET", "/api/directives/1", "read"),
    ("POST", "/api/rooms/101/release", "release"),
    ("GET", "/api/alerts", "read"),
    ("POST", "/api/alerts/abc/ack", "ack"),
    ("GET", "/api/audit", "audit"),
    ("POST", "/api/logout", "read"),
]
ALLOWED = {
    "admin": {"read", "issue", "release", "ack", "audit"},
    "office": {"read", "issue", "release", "ack", "audit"},
    "responder": {"read", "release", "ack"},
    "viewer": {"read"},
}


@pytest.fixture
async def api(hub: HubService) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=hub.api_url, timeout=10) as client:
        yield client


async def _token(api: httpx.AsyncClient, user: str, password: str = PASSWORD) -> str:
    response = await api.post("/api/login", json={"user": user, "password": password})
    assert response.status_code == 200, response.text
    return str(response.json()["token"])


@pytest.fixture
async def tokens(site: ThrowawaySite, api: httpx.AsyncClient) -> dict[str, str]:
    """A command-line session for a user of each role."""
    for role in ("office", "responder", "viewer"):
        add_user(site.layout.root, f"{role}-user", role, PASSWORD)
    found = {role: await _token(api, f"{role}-user") for role in ("office", "responder", "viewer")}
    found["admin"] = await _token(api, site.admin_user, site.admin_password)
    return found


async def test_every_route_refuses_without_a_session(api: httpx.AsyncClient) -> None:
    for method, path, _ in [*ROUTES, ("GET", "/api/stream", "read")]:
        for header in (None, "Bearer wrong-token", "Basic abc"):
            headers = {"Authorization": header} if header else {}
            response = await api.request(method, path, headers=headers)
            assert response.status_code == 401, (method, path, header)
            assert "authentication required" in response.json()["error"]


async def test_every_route_checks_the_role_on_the_server(
    api: httpx.AsyncClient, tokens: dict[str, str]
) -> None:
    for role, token in tokens.items():
        for method, path, need in ROUTES:
            if path == "/api/logout":
                continue  # would end the session the loop still uses
            response = await api.request(
                method, path, headers={"Authorization": f"Bearer {token}"}, json={}
            )
            refused = response.status_code == 403
            assert refused == (need not in ALLOWED[role]), (role, method, path, response.text)


async def test_health_needs_no_session_and_says_little(api: httpx.AsyncClient) -> None:
    response = await api.get("/api/health")
    assert response.status_code == 200
    assert set(response.json()) == {"ok", "broker_connected"}


async def test_wrong_passwords_are_refused_then_rate_limited(
    site: ThrowawaySite, api: httpx.AsyncClient
) -> None:
    attempts = [
        await api.post("/api/login", json={"user": site.admin_user, "password": "guess"})
        for _ in range(6)
    ]
    assert [a.status_code for a in attempts] == [401] * 5 + [429]
    right = await api.post(
        "/api/login", json={"user": site.admin_user, "password": site.admin_password}
    )
    assert right.status_code == 429  # even the right password waits out the window


async def test_console_cookie_needs_the_csrf_token_to_change_anything(
    site: ThrowawaySite, api: httpx.AsyncClient, nodes: list[Node]
) -> None:
    login = await api.post(
        "/api/login",
        json={"user": site.admin_user, "password": site.admin_password, "kind": "console"},
    )
    assert login.status_code == 200
    assert "token" not in login.json()
    cookie = login.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=strict" in cookie
    csrf = login.json()["csrf"]

    assert (await api.get("/api/status")).status_code == 200  # reading needs no CSRF token
    forged = await api.post("/api/directives", json={"action": "hold"})
    assert forged.status_code == 401
    real = await api.post(
        "/api/directives", json={"action": "hold"}, headers={"X-CSRF-Token": csrf}
    )
    assert real.status_code == 201


async def test_logout_ends_the_session(api: httpx.AsyncClient, tokens: dict[str, str]) -> None:
    auth = {"Authorization": f"Bearer {tokens['viewer']}"}
    assert (await api.post("/api/logout", headers=auth)).status_code == 200
    assert (await api.get("/api/status", headers=auth)).status_code == 401


async def test_issue_validates_and_records_who(
    hub: HubService, nodes: list[Node], api: httpx.AsyncClient, tokens: dict[str, str]
) -> None:
    auth = {"Authorization": f"Bearer {tokens['office']}"}
    bad = {
        "not json": (b"{", 400),
        "unknown action": (b'{"action": "panic"}', 400),
        "evacuate without location": (b'{"action": "evacuate"}', 400),
        "unknown room": (b'{"action": "hold", "scope": "room", "target": "999"}', 404),
        "unknown field": (b'{"action": "hold", "colour": "red"}', 400),
        "drill not a bool": (b'{"action": "hold", "drill": "yes"}', 400),
    }
    for name, (body, status) in bad.items():
        response = await api.post("/api/directives", content=body, headers=auth)
        assert response.status_code == status, name
        assert response.json()["error"], name
    assert (await api.get("/api/directives", headers=auth)).json() == []

    issued = await api.post("/api/directives", json={"action": "lockout"}, headers=auth)
    assert issued.status_code == 201
    assert issued.json()["action"] == "secure"
    audit = (await api.get("/api/audit", headers=auth)).json()
    issues = [entry for entry in audit if entry["action"].startswith("issue")]
    assert [(e["action"], e["user"]) for e in issues] == [("issue secure", "office-user")]
    assert issued.json()["issued_by"] == "office-user"
