"""District requests end to end, on real processes: three NATS nodes (JetStream, MQTT,
TLS), three schools each with its own Mosquitto bridged to them, a real hub and its rooms'
device services. The district signs; each school hub checks and issues its own directive;
the acks come back to the district in the school's summary."""

from __future__ import annotations

import asyncio
import dataclasses
import io
import json
import time
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from district.console_store import ConsoleStore
from hub.directives import DirectiveRequest
from hub.district_requests import UNVERIFIED
from protocol.district import DistrictSummary
from protocol.factors import current_code
from protocol.messages import Directive, EventKind
from protocol.srp import Action
from protocol.topics import DistrictChannel, Topics
from provisioning.district import DistrictLayout, set_group
from provisioning.district_users import add_user, enrol_totp
from roomcast.cli import main as roomcast_main
from tests.conftest import eventually
from tests.district.conftest import NatsCluster, district_client
from tests.district.schools import (
    School,
    bridged,
    district_key,
    district_of,
    district_request,
    next_summary,
    send_request,
)

pytestmark = [pytest.mark.integration, pytest.mark.timeout(240)]
SCHOOLS = ("lincoln", "adams", "jefferson")
ALL_SITES = "roomcast/v1/+/district/#"
REACH_S = 60.0


def start_all(cluster: NatsCluster) -> None:
    for node in cluster.nodes:
        cluster.start(node.name)


def latest(school: School) -> Directive | None:
    directives = school.running_hub.engine.directives
    return directives.issued(directives.latest_seq) if directives.latest_seq else None


async def every_room_confirms(school: School, request_id: str) -> Directive:
    """Wait until the school issued a directive for ``request_id`` and every room acked it."""
    hub = school.running_hub

    def done() -> bool:
        directive = latest(school)
        return (
            directive is not None
            and hub.store.requests_of([directive.seq]) == {directive.seq: request_id}
            and school.confirmed(directive)
        )

    await eventually(done, hub, within_s=REACH_S, what=f"every room of {school.name} to ack")
    directive = latest(school)
    assert directive is not None
    return directive


def confirmed_for(request_id: str) -> object:
    def check(summary: DistrictSummary) -> bool:
        return any(
            d.request == request_id and d.confirmed == d.total == summary.rooms
            for d in summary.directives
        )

    return check


SENDER_PASSWORD = "a district safety officer's"


@dataclasses.dataclass(frozen=True)
class Sender:
    """A real district user who may send (``safety-kim``): her password is on stdin, and
    her second factor (a safety officer needs one) was set up by IT."""

    name: str
    secret: str

    def code(self) -> list[str]:
        """``--code`` with the code her app shows now (taken once, by one send)."""
        return ["--code", current_code(self.secret, time.time())]


def add_sender(district: DistrictLayout, monkeypatch: pytest.MonkeyPatch) -> Sender:
    add_user(district.root, "safety-kim", "safety-officer", SENDER_PASSWORD)
    secret = enrol_totp(district.root, "safety-kim").secret
    monkeypatch.setattr("sys.stdin", io.StringIO(SENDER_PASSWORD + "\n"))
    return Sender("safety-kim", secret)


def console_audit(state: Path) -> list[dict[str, object]]:
    store = ConsoleStore(state / "console.db")
    try:
        return store.audit_log()
    finally:
        store.close()


async def roomcast_cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    """The ``roomcast`` command in-process (its own event loop, on a thread)."""
    code = await asyncio.to_thread(roomcast_main, list(argv))
    out, err = capsys.readouterr()
    return code, out, err


async def test_a_district_secure_to_two_of_three_schools_and_the_refusals(
    tmp_path: Path,
    district: DistrictLayout,
    cluster: NatsCluster,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    key = district_key(district)
    sender = add_sender(district, monkeypatch)
    async with (
        district_of(tmp_path, district, lambda: start_all(cluster), SCHOOLS) as schools,
        district_client(district.service, cluster.nodes[-1], name="district") as desk,
    ):
        lincoln, adams, jefferson = schools
        await desk.subscribe(ALL_SITES, qos=1)
        await bridged(desk, schools)
        # The district's own command, to a named group: preview, send, record, follow.
        set_group(district.root, "near-elm", ["lincoln", "adams"])
        state = tmp_path / "district-state"
        code, out, err = await roomcast_cli(
            capsys, "district", "request", "--district-dir", str(district.root), "secure",
            "--group", "near-elm", "--drill", "--user", sender.name, *sender.code(),
            "--password-stdin", "--yes",
            "--node", cluster.nodes[-1].name, "--state-dir", str(state),
        )  # fmt: skip
        result = json.loads(out)
        assert code == 0 and result["ok"], (result, err)
        # In the district console's audit log, as a send from the console would be.
        sent = [a for a in console_audit(state) if a["action"] == "district directive sent"]
        assert [(a["user"], a["detail"]["request"]) for a in sent] == [  # type: ignore[index]
            (sender.name, result["request_id"])
        ]
        assert sent[0]["detail"]["schools"] == "lincoln, adams"  # type: ignore[index]
        assert "DRILL: SECURE for 2 school(s) (group near-elm):\n" in err
        request_id = result["request_id"]
        for school in (lincoln, adams):
            directive = await every_room_confirms(school, request_id)
            assert (directive.action, directive.drill) == (Action.SECURE, True)
            assert directive.issued_by == "district:safety-kim"
        assert jefferson.running_hub.engine.directives.latest_seq == 0
        assert all(node.service.shown_seq == 0 for node in jefferson.nodes)
        # The acks come back to the district in each school's summary...
        for school in (lincoln, adams):
            summary = await next_summary(desk, school.name, confirmed_for(request_id))  # type: ignore[arg-type]
            assert summary.confirmed == summary.in_force == summary.rooms == 2
        # ... and into the district's record: both confirmed, no room pending, Jefferson
        # never named.
        code, out, _ = await roomcast_cli(
            capsys, "district", "requests", "--district-dir", str(district.root),
            "--state-dir", str(state), "--id", request_id, "--json",
        )  # fmt: skip
        record = json.loads(out)
        assert code == 0 and (record["group"], record["drill"]) == ("near-elm", True)
        assert list(record["schools"]) == ["lincoln", "adams"]
        for outcome in record["schools"].values():
            assert (outcome["state"], outcome["confirmed"], outcome["total"]) == (
                "confirmed", 2, 2,
            )  # fmt: skip
            assert outcome["pending_rooms"] == [] and outcome["sent"]

        # Refused: the same request id again, one signed by another key, one for Adams
        # published on Lincoln's topic. None changes a room; each is counted and audited.
        await send_request(desk, district_request(key, "lincoln", request_id=request_id))
        await send_request(desk, district_request(Ed25519PrivateKey.generate(), "lincoln"))
        await send_request(
            desk, district_request(key, "adams", request_id="r-misdirected"), to="lincoln"
        )
        hub = lincoln.running_hub
        reasons = (
            "district request replayed",
            "district request bad signature",
            "district request for another school",
        )
        await eventually(
            lambda: all(hub.engine.rejected.counts[r] == 1 for r in reasons),
            hub,
            what=lambda: f"the three refusals (counts: {dict(hub.engine.rejected.counts)})",
        )
        refused = hub.store.audit_search(text="district request refused")
        assert {e["user"] for e in refused} == {"district:safety-kim", UNVERIFIED}
        assert {e["detail"].get("request_id") for e in refused} >= {request_id, "r-misdirected"}
        assert hub.engine.directives.latest_seq == 1
        assert adams.running_hub.engine.directives.latest_seq == 1
        summary = await next_summary(
            desk, "lincoln", lambda s: any(o.request_id == "r-misdirected" for o in s.requests)
        )
        (misdirected,) = [o for o in summary.requests if o.request_id == "r-misdirected"]
        assert not misdirected.issued and "another school" in (misdirected.reason or "")


async def test_a_nats_node_killed_during_a_district_request_loses_no_room(
    tmp_path: Path, district: DistrictLayout, cluster: NatsCluster
) -> None:
    key = district_key(district)
    async with (
        district_of(tmp_path, district, lambda: start_all(cluster), SCHOOLS[:2]) as schools,
        district_client(district.service, cluster.nodes[-1], name="district") as desk,
    ):
        await desk.subscribe(ALL_SITES, qos=1)
        await bridged(desk, schools)
        for school in schools:
            await send_request(desk, district_request(key, school.name, request_id="r-kill"))
        cluster.kill(cluster.nodes[0].name)  # the node both bridges are connected to
        for school in schools:
            directive = await every_room_confirms(school, "r-kill")
            assert directive.action is Action.SECURE


async def test_a_school_cut_off_keeps_working_and_tells_the_district_when_back(
    tmp_path: Path, district: DistrictLayout, cluster: NatsCluster
) -> None:
    async with (
        district_of(
            tmp_path, district, lambda: start_all(cluster), SCHOOLS[:2],
            proxied=frozenset({"lincoln"}),
        ) as schools,
        district_client(district.service, cluster.nodes[-1], name="district") as desk,
    ):  # fmt: skip
        lincoln = schools[0]
        hub = lincoln.running_hub
        await desk.subscribe(ALL_SITES, qos=1)
        bridge = Topics("lincoln").district(DistrictChannel.BRIDGE)
        states: list[bytes] = []

        def seen(topic: str, payload: bytes) -> None:
            if topic == bridge:
                states.append(payload)

        await bridged(desk, schools)
        lincoln.cut()
        # Locally, everything still works: a panic reaches the office, a Lockdown every room.
        press = lincoln.nodes[0]
        press.service.activate(EventKind.PANIC)
        await eventually(lambda: len(hub.store.open_panics()) == 1, hub, what="the panic")
        lockdown = hub.engine.directives.issue(
            DirectiveRequest(action=Action.LOCKDOWN), user="office-jones"
        )
        await eventually(
            lambda: lincoln.confirmed(lockdown), hub, *lincoln.nodes, what="every room to ack"
        )
        lincoln.restore()

        def caught_up(summary: DistrictSummary) -> bool:
            return summary.alerts == 1 and any(
                d.seq == lockdown.seq and d.confirmed == d.total == 2 for d in summary.directives
            )

        summary = await next_summary(desk, "lincoln", caught_up, seen=seen)
        assert summary.alert_rooms == (press.service.config.room,)
        assert b"0" in states and states[-1] == b"1", states  # the district saw the cut
