"""The office sees every hand-off: per alert, per destination; a failing destination is
trouble on the board, in /api/status and in `roomcast status`; the confirmation says where a
directive goes; `roomcast relay test` prints what a Test message met.

A real hub on a real Mosquitto, real classroom services pressing, and real HTTPS receivers
on loopback (tests/relay_receiver.py): one that answers, one that is down.
"""

from __future__ import annotations

import asyncio
import contextlib
import csv
import io
import json
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import jsonschema
import pytest

from hub.directives import DirectiveRequest
from hub.service import HubService
from protocol.messages import EventKind
from protocol.srp import Action
from provisioning import add_user
from provisioning.throwaway import ThrowawaySite
from roomcast.broker import MosquittoProcess
from roomcast.cli import main
from roomcast.status import format_status
from tests.conftest import WAIT, StartNode, admin_login, eventually, hub_with
from tests.relay_receiver import Authority, Receiver, hook, running, write_relay

pytestmark = pytest.mark.integration

PASSWORD = "correct horse battery staple"
SCHEMA = json.loads(
    (Path(__file__).parents[2] / "docs" / "webhook.schema.json").read_text(encoding="utf-8")
)


@pytest.fixture
def down(authority: Authority) -> Iterator[Receiver]:
    """Bound, never listening: every connection is refused."""
    with running(Receiver(authority), start=False) as stopped:
        yield stopped


@contextlib.asynccontextmanager
async def relaying(site: ThrowawaySite, *hooks: dict[str, Any]) -> AsyncIterator[HubService]:
    write_relay(site, list(hooks))
    async with hub_with(site) as service:
        assert service.relay is not None and service.handoffs is not None
        yield service


async def relayed(hub: HubService, predicate: Callable[[], bool], what: str) -> None:
    """Wait, re-checking after every recorded attempt, until ``predicate()`` holds."""
    assert hub.relay is not None
    changed = asyncio.Event()
    hub.relay.watchers.add(changed.set)
    try:
        async with asyncio.timeout(WAIT):
            while not predicate():
                await changed.wait()
                changed.clear()
    except TimeoutError:
        pytest.fail(f"timed out after {WAIT} s waiting for {what}")
    finally:
        hub.relay.watchers.discard(changed.set)


@contextlib.asynccontextmanager
async def console(hub: HubService, site: ThrowawaySite) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=hub.api_url, timeout=10) as client:
        login = await client.post("/api/login", json=admin_login(site, kind="console"))
        assert login.status_code == 200, login.text
        yield client


def _states(deliveries: list[dict[str, Any]]) -> dict[str, str]:
    return {d["destination"]: d["state"] for d in deliveries}


async def test_an_alert_lists_its_deliveries_and_a_failing_destination_is_trouble(
    site: ThrowawaySite,
    mosquitto: MosquittoProcess,
    start_node: StartNode,
    receiver: Receiver,
    down: Receiver,
    authority: Authority,
) -> None:
    dispatch = hook(receiver, authority, name="police-dispatch")
    sro = hook(down, authority, name="sro")
    async with relaying(site, dispatch, sro) as hub:
        handoffs = hub.handoffs
        assert handoffs is not None
        node = await start_node(site.devices[0].device_id)
        event = node.service.activate(EventKind.PANIC)
        assert event is not None
        await eventually(lambda: hub.store.panic(event.event_id) is not None, hub, what="panic")
        key = f"event:{event.event_id}"
        await relayed(
            hub,
            lambda: (
                _states(handoffs.deliveries([key])[key])["police-dispatch"] == "delivered"
                and [h["destination"] for h in handoffs.failing()] == ["sro"]
            ),
            "dispatch delivered and sro failing",
        )
        async with console(hub, site) as client:
            page = (await client.get("/alerts")).text
            row = page[page.index(f'id="alert-{event.event_id}"') :]
            assert "Police dispatch (webhook): delivered " in row and " ms" in row
            assert "Sro (webhook): failed, retrying: connection refused" in row
            strip = (await client.get("/console/strip")).text
            assert "Police dispatch (webhook): delivered" in strip
            board = (await client.get("/board")).text
            assert "Hand-off beyond the building failing" in board
            assert "Sro (webhook): connection refused since" in board
            status = (await client.get("/api/status")).json()
            listing = (await client.get("/api/alerts")).json()
        (listed,) = listing["open"]
        assert _states(listed["handoffs"]) == {"police-dispatch": "delivered", "sro": "retrying"}
        (alert,) = status["alerts"]
        assert _states(alert["handoffs"]) == {"police-dispatch": "delivered", "sro": "retrying"}
        (delivered,) = [h for h in alert["handoffs"] if h["state"] == "delivered"]
        assert delivered["duration_ms"] is not None and delivered["delivered_at"] is not None
        health = {h["destination"]: h["state"] for h in status["handoffs"]}
        assert health == {"police-dispatch": "ok", "sro": "failing"}
        (trouble,) = status["trouble"]["handoffs"]
        assert trouble.startswith("Sro (webhook): connection refused since ")
        assert "HAND-OFF FAILING: Sro (webhook): connection refused since " in format_status(status)


async def test_the_confirmation_says_which_destinations_a_directive_reaches(
    site: ThrowawaySite, mosquitto: MosquittoProcess, receiver: Receiver, authority: Authority
) -> None:
    dispatch = hook(receiver, authority, name="police-dispatch", url=receiver.url("/dispatch"))
    office = hook(receiver, authority, name="district-office", drills=True)
    async with relaying(site, dispatch, office) as hub, console(hub, site) as client:
        real = await client.get("/issue/confirm", params={"action": "lockdown", "drill": "real"})
        assert real.status_code == 200, real.text
        assert (
            "Handed off beyond the building to: <strong>Police dispatch (webhook)</strong>, "
            "<strong>District office (webhook)</strong>." in real.text
        )
        drill = await client.get("/issue/confirm", params={"action": "lockdown", "drill": "drill"})
        assert "to: <strong>District office (webhook)</strong>." in drill.text
        assert "Police dispatch" not in drill.text
        assert hub.engine.directives.latest_seq == 0  # the confirmation issues nothing


async def _roomcast(*argv: str) -> int:
    return await asyncio.to_thread(main, list(argv))  # the hub runs on this loop


async def test_relay_test_prints_a_delivery_and_a_failure_and_is_for_admins_only(
    site: ThrowawaySite,
    mosquitto: MosquittoProcess,
    receiver: Receiver,
    down: Receiver,
    authority: Authority,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    dispatch = hook(receiver, authority, name="police-dispatch")
    sro = hook(down, authority, name="sro")
    add_user(site.layout.root, "ana", "office", PASSWORD)
    async with relaying(site, dispatch, sro) as hub:
        async with httpx.AsyncClient(base_url=hub.api_url, timeout=10) as client:
            token = (await client.post("/api/login", json=admin_login(site))).json()["token"]
            office = await client.post("/api/login", json={"user": "ana", "password": PASSWORD})
            refused = await client.post(
                "/api/relay/test",
                headers={"Authorization": f"Bearer {office.json()['token']}"},
            )
            assert refused.status_code == 403  # an office user may not page dispatch
        token_file = tmp_path / "token"
        token_file.write_text(token, encoding="utf-8")
        cli = ("--hub", hub.api_url, "--token-file", str(token_file))
        assert await _roomcast("relay", "test", "police-dispatch", *cli) == 0
        printed = capsys.readouterr().out
        assert "Police dispatch (webhook): delivered " in printed and " ms" in printed
        (got,) = receiver.received
        body = got.json
        jsonschema.validate(body, SCHEMA, format_checker=jsonschema.FormatChecker())
        assert (body["kind"], body["test"], body["drill"]) == ("test", True, False)
        assert printed.startswith(f"{got.key}: ")

        assert await _roomcast("relay", "test", "sro", *cli) == 1
        failed = capsys.readouterr().out
        assert "Sro (webhook): failed, retrying: connection refused" in failed
        assert await _roomcast("relay", "test", "nowhere", *cli) == 2
        assert "no destination 'nowhere'" in capsys.readouterr().err
        audit = [e for e in hub.store.audit_log() if e["action"] == "relay test"]
        assert [e["user"] for e in audit] == [site.admin_user] * 2


async def test_the_drill_report_lists_the_hand_offs_of_the_drill(
    site: ThrowawaySite,
    mosquitto: MosquittoProcess,
    start_node: StartNode,
    receiver: Receiver,
    authority: Authority,
) -> None:
    dispatch = hook(receiver, authority, name="police-dispatch", url=receiver.url("/dispatch"))
    office = hook(receiver, authority, name="district-office", drills=True)
    async with relaying(site, dispatch, office) as hub:
        node = await start_node(site.devices[0].device_id)
        drill = hub.engine.directives.issue(
            DirectiveRequest(action=Action.LOCKDOWN, drill=True), user="t"
        )
        event = node.service.activate(EventKind.PANIC)
        assert event is not None
        await eventually(lambda: hub.store.panic(event.event_id) is not None, hub, what="panic")
        hub.engine.directives.issue(DirectiveRequest(action=Action.ALL_CLEAR), user="t")
        await receiver.until(lambda r: len(r) >= 4)  # 2 directives + the panic twice
        await relayed(hub, lambda: not any(h["waiting"] for h in _health(hub)), "all delivered")
        async with console(hub, site) as client:
            report = (await client.get(f"/api/drills/{drill.seq}")).json()
            page = (await client.get(f"/drills/{drill.seq}")).text
            exported = (await client.get(f"/drills/{drill.seq}/report.csv")).text
        seen = {(h["key"], h["destination"]): h["state"] for h in report["handoffs"]}
        panic = f"event:{event.event_id}"
        assert seen[(f"directive:{drill.seq}", "district-office")] == "delivered"
        assert seen[(f"directive:{drill.seq}", "police-dispatch")] == "not_queued"
        assert seen[(panic, "police-dispatch")] == seen[(panic, "district-office")] == "delivered"
        assert "Hand-offs beyond the building" in page
        assert "District office (webhook): delivered " in page
        rows = [r for r in csv.DictReader(io.StringIO(exported)) if r["destination"]]
        assert {(r["destination"], r["result"]) for r in rows} >= {
            ("district-office", "delivered"),
            ("police-dispatch", "not_queued"),
        }


def _health(hub: HubService) -> list[dict[str, Any]]:
    assert hub.handoffs is not None
    return hub.handoffs.health()
