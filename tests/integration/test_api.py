"""The hub's HTTP API over a real socket: authentication and clear refusals."""

from __future__ import annotations

import httpx
import pytest

from hub.service import HubService
from tests.conftest import Node

pytestmark = pytest.mark.integration

ROUTES = [
    ("GET", "/api/status"),
    ("GET", "/api/directives"),
    ("POST", "/api/directives"),
    ("GET", "/api/directives/1"),
    ("POST", "/api/rooms/101/release"),
    ("GET", "/api/alerts"),
    ("POST", "/api/alerts/abc/ack"),
    ("GET", "/api/audit"),
    ("GET", "/api/stream"),
]


@pytest.fixture
async def api(hub: HubService) -> httpx.AsyncClient:
    return httpx.AsyncClient(base_url=hub.api_url, timeout=5)


@pytest.mark.parametrize(("method", "path"), ROUTES)
@pytest.mark.parametrize("header", [None, "Bearer wrong-token", "Basic abc"])
async def test_every_route_refuses_without_the_token(
    api: httpx.AsyncClient, method: str, path: str, header: str | None
) -> None:
    headers = {"Authorization": header} if header else {}
    async with api:
        response = await api.request(method, path, headers=headers)
    assert response.status_code == 401
    assert "authentication required" in response.json()["error"]


async def test_health_needs_no_token_and_says_little(api: httpx.AsyncClient) -> None:
    async with api:
        response = await api.get("/api/health")
    assert response.status_code == 200
    assert set(response.json()) == {"ok", "broker_connected"}


async def test_issue_validates_and_records_who(
    hub: HubService, nodes: list[Node], api: httpx.AsyncClient
) -> None:
    auth = {"Authorization": f"Bearer {hub.config.api_token}"}
    bad = {
        "not json": (b"{", 400),
        "unknown action": (b'{"action": "panic"}', 400),
        "evacuate without location": (b'{"action": "evacuate"}', 400),
        "unknown room": (b'{"action": "hold", "scope": "room", "target": "999"}', 404),
        "unknown field": (b'{"action": "hold", "colour": "red"}', 400),
        "drill not a bool": (b'{"action": "hold", "drill": "yes"}', 400),
    }
    async with api:
        for name, (body, status) in bad.items():
            response = await api.post("/api/directives", content=body, headers=auth)
            assert response.status_code == status, name
            assert response.json()["error"], name
        assert (await api.get("/api/directives", headers=auth)).json() == []

        issued = await api.post("/api/directives", json={"action": "lockout"}, headers=auth)
        assert issued.status_code == 201
        assert issued.json()["action"] == "secure"
        audit = (await api.get("/api/audit", headers=auth)).json()
    assert [entry["action"] for entry in audit] == ["issue secure"]
    assert audit[0]["user"] == "api-token"
