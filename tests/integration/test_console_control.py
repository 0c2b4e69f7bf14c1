"""Console control that never blocks an emergency, over a real socket: the live stream's
heartbeat, control lapsing when its holder's console has gone, and take over and issue."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import httpx
import pytest

from hub.api import HEARTBEAT_S
from hub.service import HubService
from provisioning import add_user
from provisioning.throwaway import ThrowawaySite, create_throwaway_site
from roomcast.broker import free_port
from tests.conftest import Node, eventually

pytestmark = pytest.mark.integration

PASSWORD = "correct horse battery staple"
LAPSE_S = 2.0

Console = tuple[httpx.AsyncClient, dict[str, str]]
OpenConsole = Callable[[str, str], Awaitable[Console]]


@pytest.fixture
def site(tmp_path: Path) -> ThrowawaySite:
    made = create_throwaway_site(
        tmp_path / "site", rooms=3, broker_port=free_port(), heartbeat_s=1.0
    )
    config = json.loads(made.hub.config.read_text())
    config["console"] = {"control_lapse_s": LAPSE_S}
    made.hub.config.write_text(json.dumps(config))
    for name, role in [("alice", "office"), ("bob", "office"), ("rita", "responder")]:
        add_user(made.layout.root, name, role, PASSWORD)
    return made


@pytest.fixture
async def open_console(hub: HubService) -> AsyncIterator[OpenConsole]:
    clients: list[httpx.AsyncClient] = []

    async def open_as(user: str, kind: str = "console") -> Console:
        client = httpx.AsyncClient(base_url=hub.api_url, timeout=10)
        clients.append(client)
        login = await client.post(
            "/api/login", json={"user": user, "password": PASSWORD, "kind": kind}
        )
        assert login.status_code == 200, login.text
        return client, {"X-CSRF-Token": login.json()["csrf"]}

    yield open_as
    for client in clients:
        await client.aclose()


async def test_the_stream_beats_and_keeps_its_console_in_control(
    hub: HubService, open_console: OpenConsole
) -> None:
    (alice, as_alice), (bob, _) = await open_console("alice"), await open_console("bob")
    assert (await alice.post("/api/control/take", headers=as_alice, json={})).status_code == 200
    async with alice.stream("GET", "/api/stream") as stream:
        lines, beats = stream.aiter_lines(), 0
        loop = asyncio.get_running_loop()
        started = loop.time()
        while loop.time() - started < LAPSE_S * 2:  # past the lapse: still in control
            async with asyncio.timeout(HEARTBEAT_S + 1):  # a quiet hub still speaks
                beats += await anext(lines) == "event: heartbeat"
        assert beats >= 2
        assert (await bob.get("/api/control")).json()["user"] == "alice"
    # The stream is closed (the browser went away): control lapses on its own.
    await eventually(
        lambda: hub.store.control() is None, hub, within_s=LAPSE_S + 3, what="the lapse"
    )
    assert (await bob.get("/api/control")).json()["held"] is False
    lapsed = hub.store.audit_search(text="lapsed")
    assert [(e["user"], e["detail"]["lapse_s"]) for e in lapsed] == [("alice", LAPSE_S)]


async def test_take_over_and_issue(
    hub: HubService, nodes: list[Node], open_console: OpenConsole
) -> None:
    (alice, as_alice), (bob, as_bob) = await open_console("alice"), await open_console("bob")
    rita, as_rita = await open_console("rita")
    route = "/api/control/take-and-issue"
    lockdown = {"action": "lockdown", "drill": False, "scope": "site"}
    async with alice.stream("GET", "/api/stream"):  # alice's console is open
        assert (await alice.post("/api/control/take", headers=as_alice)).status_code == 200
        refused = await rita.post(route, headers=as_rita, json={"reason": "x", "directive": {}})
        assert refused.status_code == 403  # a responder may take control, not issue
        no_reason = await bob.post(route, headers=as_bob, json={"directive": lockdown})
        assert no_reason.status_code == 409 and "reason" in no_reason.json()["error"]
        wrong = {"action": "evacuate", "drill": False}  # Evacuate needs a location
        bad = await bob.post(route, headers=as_bob, json={"reason": "r", "directive": wrong})
        assert bad.status_code == 400
        assert (await bob.get("/api/control")).json()["user"] == "alice"  # nothing taken
        assert hub.store.directives() == []

        done = await bob.post(
            route, headers=as_bob, json={"reason": "shots heard", "directive": lockdown}
        )
        assert done.status_code == 201, done.text
    (directive,) = hub.store.directives()
    assert (directive.issued_by, directive.drill) == ("bob", False)
    (takeover,) = [e for e in hub.store.audit_log() if e["action"] == "take over control"]
    assert takeover["user"] == "bob"
    assert takeover["detail"] == {"from": "alice", "reason": "shots heard"}
