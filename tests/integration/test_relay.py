"""The relay hands panics and directives to a real HTTPS webhook: signed, in order, never lost.

Every receiver here is a real server on loopback with a CA made by the test
(tests/relay_receiver.py); the hub is the real service on a real Mosquitto; the presses
come from real classroom services. Back-off and timeouts are short so each case is quick.
"""

from __future__ import annotations

import contextlib
import hmac
import json
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from hub.directives import DirectiveRequest
from hub.service import HubService
from protocol.messages import EventKind
from protocol.srp import Action
from provisioning.throwaway import ThrowawaySite
from roomcast.broker import MosquittoProcess
from tests.conftest import StartNode, hub_with
from tests.relay_receiver import (
    SECRET,
    Authority,
    Received,
    Receiver,
    Reply,
    hook,
    make_authority,
    running,
    write_relay,
)
from tests.relay_waits import attempted, press

pytestmark = pytest.mark.integration

SCHEMA = json.loads(
    (Path(__file__).parents[2] / "docs" / "webhook.schema.json").read_text(encoding="utf-8")
)


def verify(secret: bytes, headers: dict[str, str], body: bytes, *, max_age_s: float = 300) -> bool:
    """The receiver's check, as docs/integrations.md shows it."""
    timestamp = headers["x-roomcast-timestamp"]
    expected = "sha256=" + hmac.new(secret, f"{timestamp}.".encode() + body, "sha256").hexdigest()
    fresh = abs(time.time() - int(timestamp)) <= max_age_s
    return fresh and hmac.compare_digest(expected, headers["x-roomcast-signature"])


@contextlib.asynccontextmanager
async def relaying(site: ThrowawaySite, *hooks: dict[str, Any]) -> AsyncIterator[HubService]:
    write_relay(site, list(hooks))
    async with hub_with(site) as service:
        assert service.relay is not None
        yield service


def check(received: Received) -> dict[str, Any]:
    """Signed with the destination's secret, fresh, and as the schema documents it."""
    assert verify(SECRET.encode(), received.headers, received.body)
    body: dict[str, Any] = received.json
    jsonschema.validate(body, SCHEMA, format_checker=jsonschema.FormatChecker())
    assert body["id"] == received.key
    return body


async def test_a_panic_and_the_lockdown_reach_the_webhook_signed_and_as_documented(
    site: ThrowawaySite,
    mosquitto: MosquittoProcess,
    start_node: StartNode,
    receiver: Receiver,
    authority: Authority,
) -> None:
    async with relaying(site, hook(receiver, authority)) as hub:
        node = await start_node(site.devices[0].device_id)
        panic = await press(node, hub)
        lockdown = hub.engine.directives.issue(DirectiveRequest(action=Action.LOCKDOWN), user="t")
        got = await receiver.until(lambda r: len(r) >= 2)
        bodies = [check(r) for r in got]
        assert [b["id"] for b in bodies] == [f"event:{panic}", f"directive:{lockdown.seq}"]
        alert, directive = bodies
        room = hub.engine.presence.inventory.room_of(site.devices[0].device_id)
        assert room is not None
        assert alert["kind"] == "panic" and alert["drill"] is False
        assert (alert["room"], alert["room_name"], alert["building"], alert["floor"]) == (
            room.id,
            room.label,
            room.building,
            room.floor,
        )
        assert alert["device"] == site.devices[0].device_id
        assert alert["site"]["address"]["city"] == "Austin"
        assert alert["site"]["latitude"] == pytest.approx(30.2672)
        assert alert["console_url"] == f"https://hub.lincoln.example.org/alerts#alert-{panic}"
        assert directive["directive"]["action"] == "lockdown"
        assert directive["directive"]["seq"] == lockdown.seq
        attempts = await attempted(hub, lambda a: len(a) >= 2)
        assert [a["result"] for a in attempts] == ["delivered", "delivered"]
        assert all(a["status"] == 200 and a["duration_ms"] >= 0 for a in attempts)


async def test_drills_go_only_where_they_are_wanted_and_say_so(
    site: ThrowawaySite,
    mosquitto: MosquittoProcess,
    receiver: Receiver,
    authority: Authority,
) -> None:
    dispatch = hook(receiver, authority, url=receiver.url("/dispatch"))
    office = hook(receiver, authority, name="office", url=receiver.url("/office"), drills=True)
    async with relaying(site, dispatch, office) as hub:
        drill = hub.engine.directives.issue(
            DirectiveRequest(action=Action.LOCKDOWN, drill=True), user="t"
        )
        ended = hub.engine.directives.issue(DirectiveRequest(action=Action.ALL_CLEAR), user="t")
        real = hub.engine.directives.issue(DirectiveRequest(action=Action.HOLD), user="t")
        await receiver.until(lambda r: len(r) >= 4)
        seqs = [drill.seq, ended.seq, real.seq]
        assert receiver.keys("/office") == [f"directive:{seq}" for seq in seqs]
        assert receiver.keys("/dispatch") == [f"directive:{real.seq}"]
        drills = [check(r)["drill"] for r in receiver.received if r.path == "/office"]
        assert drills == [True, True, False]


async def test_a_panic_during_a_drill_still_reaches_dispatch_as_real(
    site: ThrowawaySite,
    mosquitto: MosquittoProcess,
    start_node: StartNode,
    receiver: Receiver,
    authority: Authority,
) -> None:
    """A press in a drill Lockdown may be a real emergency: the destination that takes no
    drills hears it, marked as pressed during a drill, and not the drill's directive."""
    async with relaying(site, hook(receiver, authority, url=receiver.url("/dispatch"))) as hub:
        node = await start_node(site.devices[0].device_id)
        drill = hub.engine.directives.issue(
            DirectiveRequest(action=Action.LOCKDOWN, drill=True), user="t"
        )
        panic = await press(node, hub)
        (got,) = await receiver.until(lambda r: len(r) >= 1)
        body = check(got)
        assert body["id"] == f"event:{panic}" != f"directive:{drill.seq}"
        assert body["drill"] is False and body["during_drill"] is True


async def test_what_was_queued_when_the_hub_stopped_is_delivered_after_restart_once_per_key(
    site: ThrowawaySite,
    mosquitto: MosquittoProcess,
    start_node: StartNode,
    receiver: Receiver,
    authority: Authority,
) -> None:
    receiver.reply = lambda _: Reply(503)
    async with relaying(site, hook(receiver, authority)) as first:
        node = await start_node(site.devices[0].device_id)
        panic = await press(node, first)
        lockdown = first.engine.directives.issue(DirectiveRequest(action=Action.LOCKDOWN), user="t")
        cancel = await press(node, first, EventKind.CANCEL)
        expected = [f"event:{panic}", f"directive:{lockdown.seq}", f"event:{cancel}"]
        assert first.relay is not None
        await attempted(first, lambda a: len(a) >= 2)
        assert [m["key"] for m in first.relay.store.queued("dispatch")] == expected
    # The hub's task was cancelled mid-retry; a new hub on the same store takes over.
    receiver.reply = lambda _: Reply(200)
    async with relaying(site, hook(receiver, authority)) as second:
        await attempted(second, lambda a: sum(x["result"] == "delivered" for x in a) >= 3)
        assert receiver.accepted_keys() == expected  # in order, each key once
        assert second.relay is not None
        assert all(m["delivered_at"] for m in second.relay.store.queued("dispatch"))


async def test_a_receiver_that_is_down_then_up_gets_the_alert(
    site: ThrowawaySite, mosquitto: MosquittoProcess, authority: Authority
) -> None:
    with running(Receiver(authority), start=False) as down:
        async with relaying(site, hook(down, authority)) as hub:
            seq = hub.engine.directives.issue(DirectiveRequest(action=Action.HOLD), user="t").seq
            refused = await attempted(hub, lambda a: len(a) >= 2)
            assert {a["result"] for a in refused} == {"connection refused"}
            down.start()
            got = await down.until(lambda r: len(r) >= 1)
            assert [r.key for r in got] == [f"directive:{seq}"]
            attempts = await attempted(hub, lambda a: a[-1]["result"] == "delivered")
            assert attempts[0]["status"] is None and attempts[0]["retry_in_s"] > 0


async def test_a_500_is_retried_until_it_succeeds(
    site: ThrowawaySite, mosquitto: MosquittoProcess, receiver: Receiver, authority: Authority
) -> None:
    receiver.reply = lambda r: Reply(500 if len(receiver.received) <= 2 else 200)
    async with relaying(site, hook(receiver, authority)) as hub:
        seq = hub.engine.directives.issue(DirectiveRequest(action=Action.HOLD), user="t").seq
        attempts = await attempted(hub, lambda a: a and a[-1]["result"] == "delivered")
        assert [a["status"] for a in attempts] == [500, 500, 200]
        assert attempts[0]["result"].startswith("http 500")
        assert receiver.keys() == [f"directive:{seq}"] * 3
        assert all(verify(SECRET.encode(), r.headers, r.body) for r in receiver.received)
        assert len({r.body for r in receiver.received}) == 1  # every retry sends the same
        assert [r.headers["x-roomcast-attempt"] for r in receiver.received] == ["1", "2", "3"]


async def test_429_with_retry_after_is_honoured(
    site: ThrowawaySite, mosquitto: MosquittoProcess, receiver: Receiver, authority: Authority
) -> None:
    first = Reply(429, {"Retry-After": "1"})
    receiver.reply = lambda r: first if len(receiver.received) == 1 else Reply(200)
    async with relaying(site, hook(receiver, authority, backoff_max_s=5)) as hub:
        hub.engine.directives.issue(DirectiveRequest(action=Action.SECURE), user="t")
        got = await receiver.until(lambda r: len(r) >= 2)
        assert got[1].arrived - got[0].arrived >= 1.0  # a lower bound only
        attempts = await attempted(hub, lambda a: len(a) >= 2)
        assert attempts[0]["status"] == 429 and attempts[0]["retry_in_s"] == 1.0


async def test_a_slow_receiver_hits_the_attempt_timeout_and_is_retried(
    site: ThrowawaySite, mosquitto: MosquittoProcess, receiver: Receiver, authority: Authority
) -> None:
    receiver.reply = lambda r: Reply(200, delay_s=2.0 if len(receiver.received) == 1 else 0)
    async with relaying(site, hook(receiver, authority, timeout_s=0.3)) as hub:
        hub.engine.directives.issue(DirectiveRequest(action=Action.HOLD), user="t")
        attempts = await attempted(hub, lambda a: a and a[-1]["result"] == "delivered")
        assert attempts[0]["result"] == "timeout"
        assert 250 <= attempts[0]["duration_ms"] < 2000
        assert len(receiver.keys()) >= 2


async def test_a_certificate_from_another_ca_is_refused_and_reported(
    site: ThrowawaySite, mosquitto: MosquittoProcess, tmp_path: Path, authority: Authority
) -> None:
    stranger = make_authority(tmp_path / "stranger", "stranger")
    with running(Receiver(stranger)) as impostor:
        async with relaying(site, hook(impostor, authority)) as hub:
            hub.engine.directives.issue(DirectiveRequest(action=Action.HOLD), user="t")
            attempts = await attempted(hub, lambda a: len(a) >= 2)
            assert all(a["result"].startswith("tls: certificate refused") for a in attempts)
            assert all(a["status"] is None for a in attempts)
            assert not impostor.received
            assert hub.connected.is_set()  # the MQTT side never noticed


async def test_a_destination_that_is_down_never_delays_another(
    site: ThrowawaySite,
    mosquitto: MosquittoProcess,
    start_node: StartNode,
    receiver: Receiver,
    authority: Authority,
) -> None:
    with running(Receiver(authority), start=False) as down:
        broken = hook(down, authority, name="broken", staff_assist=True)
        office = hook(receiver, authority, name="office", staff_assist=True)
        dispatch = hook(receiver, authority, url=receiver.url("/dispatch"))
        async with relaying(site, broken, office, dispatch) as hub:
            node = await start_node(site.devices[0].device_id)
            panic = await press(node, hub)
            assist = await press(node, hub, EventKind.STAFF_ASSIST)
            await receiver.until(lambda r: len({(x.path, x.key) for x in r}) >= 3)
            # At least once, in order: a slow answer may be repeated, under its own key.
            assert _once(receiver.keys("/hook")) == [f"event:{panic}", f"event:{assist}"]
            assert _once(receiver.keys("/dispatch")) == [f"event:{panic}"]  # no staff-assist
            kinds = {r.key: check(r)["kind"] for r in receiver.received}
            assert kinds[f"event:{assist}"] == "staff_assist"
            refused = await attempted(hub, lambda a: len(a) >= 2, name="broken")
            assert {a["key"] for a in refused} == {f"event:{panic}"}  # still on the first
            assert node.service.connected.is_set() and hub.connected.is_set()


async def test_without_relay_toml_the_hub_runs_without_a_relay(hub: HubService) -> None:
    assert hub.relay is None


def _once(keys: list[str]) -> list[str]:
    """Idempotency keys in the order first received (a receiver drops the repeats)."""
    return list(dict.fromkeys(keys))
