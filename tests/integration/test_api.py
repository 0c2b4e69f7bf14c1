"""The hub's HTTP API over a real socket: logins, roles on every route, CSRF, rate limit,
sessions that follow the users file, the directive history."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from hub.auth import LoginLimiter, validate_users_file
from hub.config import load_hub_config
from hub.service import HubService
from hub.store import HubStore
from protocol.messages import Directive
from protocol.signing import sign
from protocol.srp import Action
from protocol.topics import ScopeKind
from provisioning import add_user, remove_user, set_password, set_role
from provisioning.throwaway import ThrowawaySite
from roomcast.broker import MosquittoProcess
from tests.conftest import Node, admin_login
from transport.settings import ConfigError

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


async def _admin_token(api: httpx.AsyncClient, site: ThrowawaySite) -> str:
    response = await api.post("/api/login", json=admin_login(site))
    assert response.status_code == 200, response.text
    return str(response.json()["token"])


@pytest.fixture
async def tokens(site: ThrowawaySite, api: httpx.AsyncClient) -> dict[str, str]:
    """A command-line session for a user of each role."""
    for role in ("office", "responder", "viewer"):
        add_user(site.layout.root, f"{role}-user", role, PASSWORD)
    found = {role: await _token(api, f"{role}-user") for role in ("office", "responder", "viewer")}
    found["admin"] = await _admin_token(api, site)
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
    site: ThrowawaySite, hub: HubService, api: httpx.AsyncClient
) -> None:
    admin = admin_login(site)
    attempts = [await api.post("/api/login", json=admin | {"password": "guess"}) for _ in range(6)]
    assert [a.status_code for a in attempts] == [401] * 5 + [429]
    right = await api.post("/api/login", json=admin)
    assert right.status_code == 429  # from this address, even the right password waits
    add_user(site.layout.root, "office-user", "office", PASSWORD)
    other_user = await api.post("/api/login", json={"user": "office-user", "password": PASSWORD})
    assert other_user.status_code == 429  # the address is limited, whatever name it tries
    # ... but someone guessing on the LAN cannot lock the principal out from her own desk.
    elsewhere = httpx.AsyncHTTPTransport(local_address="127.0.0.2")
    async with httpx.AsyncClient(base_url=hub.api_url, transport=elsewhere) as desk:
        assert (await desk.post("/api/login", json=admin)).status_code == 200


def test_the_login_limit_counts_per_address_and_forgets_after_the_window() -> None:
    now = [0.0]
    limiter = LoginLimiter(attempts=3, window_s=60, clock=lambda: now[0])
    for name in ("ana", "ben", "cy"):  # guessing across names from one address
        limiter.failed(name, "10.0.0.9")
    assert limiter.blocked("dee", "10.0.0.9")
    assert not limiter.blocked("ana", "10.0.0.7")  # the name itself is never locked
    limiter.failed("ana", "10.0.0.7")
    limiter.failed("ana", "10.0.0.7")
    limiter.succeeded("ana", "10.0.0.7")
    limiter.failed("ana", "10.0.0.7")
    assert limiter.blocked("ana", "10.0.0.7")  # a success does not reset the address
    now[0] = 61.0
    assert not limiter.blocked("dee", "10.0.0.9") and not limiter.blocked("ana", "10.0.0.7")


async def test_removing_a_user_ends_their_sessions_at_once(
    site: ThrowawaySite, hub: HubService, api: httpx.AsyncClient, tokens: dict[str, str]
) -> None:
    cli = {"Authorization": f"Bearer {tokens['office']}"}
    async with httpx.AsyncClient(base_url=hub.api_url) as browser:
        login = {"user": "office-user", "password": PASSWORD, "kind": "console"}
        assert (await browser.post("/api/login", json=login)).status_code == 200
        assert (await browser.get("/api/status")).status_code == 200
        assert (await api.get("/api/status", headers=cli)).status_code == 200

        remove_user(site.layout.root, "office-user")
        assert (await api.get("/api/status", headers=cli)).status_code == 401
        assert (await browser.get("/api/status")).status_code == 401
    viewer = {"Authorization": f"Bearer {tokens['viewer']}"}
    assert (await api.get("/api/status", headers=viewer)).status_code == 200  # others stay
    audit = await api.get("/api/audit", headers={"Authorization": f"Bearer {tokens['admin']}"})
    ended = [e for e in audit.json() if e["action"] == "session ended (user removed)"]
    assert [e["user"] for e in ended] == ["office-user", "office-user"]


async def test_a_changed_role_applies_to_open_sessions_at_once(
    site: ThrowawaySite, api: httpx.AsyncClient, tokens: dict[str, str]
) -> None:
    office = {"Authorization": f"Bearer {tokens['office']}"}
    viewer = {"Authorization": f"Bearer {tokens['viewer']}"}
    assert (await api.get("/api/audit", headers=office)).status_code == 200
    assert (await api.get("/api/audit", headers=viewer)).status_code == 403

    set_role(site.layout.root, "office-user", "viewer")  # demoted
    set_role(site.layout.root, "viewer-user", "office")  # promoted
    refused = await api.get("/api/audit", headers=office)
    assert refused.status_code == 403 and "role viewer" in refused.json()["error"]
    assert (await api.get("/api/whoami", headers=office)).json()["role"] == "viewer"
    assert (await api.get("/api/audit", headers=viewer)).status_code == 200


async def test_a_new_password_ends_the_sessions_made_with_the_old_one(
    site: ThrowawaySite, api: httpx.AsyncClient, tokens: dict[str, str]
) -> None:
    responder = {"Authorization": f"Bearer {tokens['responder']}"}
    set_password(site.layout.root, "responder-user", "a brand new long password")
    assert (await api.get("/api/status", headers=responder)).status_code == 401
    fresh = await _token(api, "responder-user", "a brand new long password")
    assert (await api.get("/api/status", headers={"Authorization": f"Bearer {fresh}"})).is_success


def _damage(users_file: Path, content: str) -> bytes:
    good = users_file.read_bytes()
    users_file.write_text(content)
    return good


async def test_a_damaged_users_file_refuses_logins_cleanly_until_fixed(
    site: ThrowawaySite, api: httpx.AsyncClient
) -> None:
    good = _damage(site.hub.users, '{"format": 1, "users": {')  # before the hub read it
    admin = admin_login(site)
    refused = await api.post("/api/login", json=admin)
    assert refused.status_code == 401
    assert "users file is damaged" in refused.json()["error"]
    site.hub.users.write_bytes(good)
    assert (await api.post("/api/login", json=admin)).status_code == 200


async def test_a_bad_edit_of_the_users_file_keeps_the_last_good_copy(
    site: ThrowawaySite, api: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    token = await _admin_token(api, site)
    # The admin's code was used just now: this login uses one of the recovery codes.
    admin = admin_login(site) | {"otp": site.admin_recovery_codes[0]}
    _damage(site.hub.users, '{"format": 1, "users": {"ana": {"role": "boss"}}}')
    with caplog.at_level(logging.ERROR, logger="hub.accounts"):
        assert (await api.post("/api/login", json=admin)).status_code == 200
        auth = {"Authorization": f"Bearer {token}"}
        assert (await api.get("/api/status", headers=auth)).status_code == 200
    (logged,) = [r.getMessage() for r in caplog.records if r.name == "hub.accounts"]
    assert f"{site.hub.users}: users.ana.role: must be one of" in logged
    assert "keeping the last good copy" in logged


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        ("{", "line 1 column 2: not valid JSON"),
        ('{"format": 2, "users": {}}', "format: must be 1"),
        ('{"format": 1}', "users: missing"),
        ('{"format": 1, "users": {"ana": []}}', "users.ana: must be an object"),
        ('{"format": 1, "users": {"ana": {"role": "boss"}}}', "users.ana.role: must be one of"),
        ('{"format": 1, "users": {"ana": {"role": "office"}}}', "users.ana.scrypt: missing"),
        (
            '{"format": 1, "users": {"ana": {"role": "office", "scrypt": '
            '{"n": 2, "r": 8, "p": 1, "salt": "AAAA", "hash": "not base64!"}}}}',
            "users.ana.scrypt.hash: must be base64",
        ),
    ],
)
def test_the_hub_refuses_to_start_on_a_damaged_users_file(
    tmp_path: Path, content: str, problem: str
) -> None:
    users = tmp_path / "users.json"
    users.write_text(content)
    with pytest.raises(ConfigError) as caught:
        validate_users_file(users)
    assert str(caught.value).startswith(f"{users}: {problem}")


async def test_directive_history_shows_the_newest_hundred(
    site: ThrowawaySite, mosquitto: MosquittoProcess
) -> None:
    config = load_hub_config(site.hub.config)
    store = HubStore(config.database)
    for seq in range(1, 1011):  # more than the store hands out by default
        issued = Directive(
            seq=seq,
            issued_at=1_700_000_000.0 + seq,
            scope=ScopeKind.SITE,
            action=Action.HOLD,
            drill=True,
            issued_by="office-user",
        )
        store.add_directive(sign(issued, config.signing_key))
    store.close()
    async with _running(HubService(config)) as hub, _admin_client(site, hub) as api:
        history = (await api.get("/api/directives")).json()
    assert [d["seq"] for d in history] == list(range(911, 1011))  # oldest first


@contextlib.asynccontextmanager
async def _running(service: HubService) -> AsyncIterator[HubService]:
    task = asyncio.create_task(service.run())
    try:
        async with asyncio.timeout(20):
            await service.ready.wait()
        yield service
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


@contextlib.asynccontextmanager
async def _admin_client(site: ThrowawaySite, hub: HubService) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=hub.api_url, timeout=30) as client:
        token = await _admin_token(client, site)
        client.headers["Authorization"] = f"Bearer {token}"
        yield client


async def test_console_cookie_needs_the_csrf_token_to_change_anything(
    site: ThrowawaySite, api: httpx.AsyncClient, nodes: list[Node]
) -> None:
    login = await api.post("/api/login", json=admin_login(site, kind="console"))
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
