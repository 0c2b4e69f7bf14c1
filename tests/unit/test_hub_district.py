"""A school hub's district side on a real SQLite file: requests checked and refused for
each reason, the school's own directive issued, the summary built and kept to 4 KiB."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from hub.directives import DirectiveRequest
from hub.district_requests import UNVERIFIED, DistrictDesk
from hub.district_summary import DistrictSummaries, build_summary, fit
from hub.engine import Engine
from hub.store import HubStore
from protocol.codec import MAX_PAYLOAD, DecodeError, decode, decode_any, encode
from protocol.district import DistrictRequest, DistrictSummary, SummaryDirective
from protocol.inventory import Inventory
from protocol.messages import Directive
from protocol.signing import sign
from protocol.srp import Action
from protocol.topics import DistrictChannel, ScopeKind, Topics
from tests.unit.conftest import FakeClock
from tests.unit.factories import T0, ack, event, status


@pytest.fixture
def store(hub_db: Path) -> Iterator[HubStore]:
    made = HubStore(hub_db)
    yield made
    made.close()


@pytest.fixture
def school(
    inventory: Inventory, store: HubStore, hub_key: Ed25519PrivateKey, clock: FakeClock
) -> Engine:
    return Engine(
        inventory=inventory,
        store=store,
        signing_key=hub_key,
        publish_directive=lambda _: None,
        clock=clock,
    )


@pytest.fixture
def district_key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.generate()


@pytest.fixture
def desk(
    school: Engine, store: HubStore, district_key: Ed25519PrivateKey, clock: FakeClock
) -> DistrictDesk:
    return DistrictDesk(
        district="metro",
        key=district_key.public_key(),
        topics=Topics("lincoln"),
        engine=school,
        store=store,
        clock=clock,
    )


def request(key: Ed25519PrivateKey, **changes: Any) -> DistrictRequest:
    fields: dict[str, Any] = {
        "request_id": "r-1",
        "district": "metro",
        "site": "lincoln",
        "issued_at": T0,
        "action": Action.SECURE,
        "drill": False,
        "issued_by": "safety-kim",
    }
    return sign(DistrictRequest(**(fields | changes)), key)


def offer(desk: DistrictDesk, message: DistrictRequest) -> Directive | None:
    return desk.on_request(Topics("lincoln").district_request(message.request_id), encode(message))


def audited(store: HubStore) -> list[dict[str, Any]]:
    return store.audit_search(text="district request")


def test_a_signed_fresh_request_becomes_the_schools_own_directive(
    desk: DistrictDesk, store: HubStore, district_key: Ed25519PrivateKey
) -> None:
    issued = offer(desk, request(district_key, drill=True))
    assert issued is not None
    assert (issued.action, issued.drill, issued.issued_by) == (
        Action.SECURE,
        True,
        "district:safety-kim",
    )
    (entry,) = audited(store)
    assert entry["user"] == "district:safety-kim"
    assert entry["action"] == "district request issued"
    assert entry["detail"]["request_id"] == "r-1"
    assert store.requests_of([issued.seq]) == {issued.seq: "r-1"}


@pytest.mark.parametrize(
    ("changes", "counted"),
    [
        ({"site": "adams"}, "district request for another school"),
        ({"district": "elsewhere"}, "district request another district"),
        ({"issued_at": T0 - 61}, "district request stale"),
        ({"issued_at": T0 + 61}, "district request stale"),
    ],
)
def test_requests_for_elsewhere_or_stale_are_refused_and_audited(
    desk: DistrictDesk,
    school: Engine,
    store: HubStore,
    district_key: Ed25519PrivateKey,
    changes: dict[str, Any],
    counted: str,
) -> None:
    assert offer(desk, request(district_key, **changes)) is None
    assert school.directives.latest_seq == 0
    assert school.rejected.counts[counted] == 1
    (entry,) = audited(store)
    assert entry["action"] == "district request refused"
    assert entry["user"] == "district:safety-kim"


def test_a_replay_is_refused_and_audited(
    desk: DistrictDesk, school: Engine, store: HubStore, district_key: Ed25519PrivateKey
) -> None:
    first = request(district_key)
    assert offer(desk, first) is not None
    assert offer(desk, first) is None
    assert school.directives.latest_seq == 1
    assert school.rejected.counts["district request replayed"] == 1
    assert [e["action"] for e in audited(store)] == [
        "district request refused",
        "district request issued",
    ]


def test_copies_the_district_resends_are_decided_once_and_leave_the_outcome_issued(
    desk: DistrictDesk,
    school: Engine,
    store: HubStore,
    district_key: Ed25519PrivateKey,
    clock: FakeClock,
) -> None:
    """The district resends an unanswered request with the same id, signed again with a
    fresh issued_at (district.resend): the first copy is issued, every later one refused
    as replayed, changing nothing, and the summary still says issued."""
    first = offer(desk, request(district_key))
    assert first is not None
    clock.advance(20)
    assert offer(desk, request(district_key, issued_at=clock.now)) is None
    clock.advance(40)
    assert offer(desk, request(district_key, issued_at=clock.now)) is None
    assert school.directives.latest_seq == first.seq == 1
    assert school.rejected.counts["district request replayed"] == 2
    summary = build_summary(school, store, epoch=1, heartbeat_s=10.0, now=clock.now)
    (outcome,) = summary.requests
    assert (outcome.request_id, outcome.issued, outcome.seq, outcome.reason) == (
        "r-1", True, 1, None,
    )  # fmt: skip
    assert [d.request for d in summary.directives] == ["r-1"]


def test_a_stale_copy_does_not_decide_the_id_so_a_fresh_copy_still_is(
    desk: DistrictDesk,
    school: Engine,
    store: HubStore,
    district_key: Ed25519PrivateKey,
    clock: FakeClock,
) -> None:
    """A copy the bridge queued while it was down arrives stale; the district's next copy
    of the same id is fresh and is the one the school decides."""
    assert offer(desk, request(district_key, issued_at=T0 - 90)) is None
    assert school.rejected.counts["district request stale"] == 1
    assert not store.knows_request("r-1")
    assert build_summary(school, store, epoch=1, heartbeat_s=10.0, now=T0).requests == ()
    issued = offer(desk, request(district_key, issued_at=T0 - 1))
    assert issued is not None and store.requests_of([issued.seq]) == {issued.seq: "r-1"}


def test_another_key_a_forged_field_and_garbage_are_refused_unverified(
    desk: DistrictDesk,
    school: Engine,
    store: HubStore,
    district_key: Ed25519PrivateKey,
    other_key: Ed25519PrivateKey,
) -> None:
    assert offer(desk, request(other_key)) is None
    forged = dataclasses.replace(request(district_key), action=Action.LOCKDOWN)
    assert offer(desk, forged) is None
    topic = Topics("lincoln").district_request("r-9")
    assert desk.on_request(topic, b'{"v":1,"type":"district_request"}') is None
    assert desk.on_request(topic, encode(request(district_key))) is None  # id is r-1
    assert school.directives.latest_seq == 0
    assert school.rejected.counts["district request bad signature"] == 2
    assert school.rejected.counts["district request malformed"] == 1
    assert school.rejected.counts["district request topic mismatch"] == 1
    assert {e["user"] for e in audited(store)} == {UNVERIFIED}
    assert not store.knows_request("r-1")  # an unverified id never blocks the real one


def test_a_district_hold_never_ends_the_schools_lockdown(
    desk: DistrictDesk, school: Engine, store: HubStore, district_key: Ed25519PrivateKey
) -> None:
    own = school.directives.issue(
        DirectiveRequest(action=Action.LOCKDOWN, scope=ScopeKind.BUILDING, target="main"),
        user="office",
    )
    issued = offer(desk, request(district_key, action=Action.HOLD))
    assert issued is not None  # the rest of the school holds
    assert school.directives.effective(school.presence.room("101")) == own
    assert school.directives.effective(school.presence.room("gym")) == issued
    # Site scope in Lockdown: refused, as the office would be (409).
    school.directives.issue(DirectiveRequest(action=Action.LOCKDOWN), user="office")
    assert offer(desk, request(district_key, request_id="r-2", action=Action.SECURE)) is None
    assert school.rejected.counts["district request refused by the school"] == 1


def test_a_district_all_clear_ends_only_what_the_district_started(
    desk: DistrictDesk, school: Engine, district_key: Ed25519PrivateKey, clock: FakeClock
) -> None:
    assert offer(desk, request(district_key, drill=True)) is not None
    clear = request(district_key, request_id="r-2", action=Action.ALL_CLEAR, drill=True)
    assert offer(desk, clear) is not None
    school.directives.issue(DirectiveRequest(action=Action.SHELTER, hazard="tornado"), user="o")
    again = request(district_key, request_id="r-3", action=Action.ALL_CLEAR)
    assert offer(desk, again) is None
    assert school.directives.effective(school.presence.room("gym")).action is Action.SHELTER  # type: ignore[union-attr]


def test_a_district_all_clear_is_in_force_nowhere_but_the_summary_says_who_has_it(
    desk: DistrictDesk, school: Engine, store: HubStore, district_key: Ed25519PrivateKey
) -> None:
    """The district sees its All clear confirmed room by room, as any directive it asked
    for (district.record), without its being counted as a directive in force."""
    assert offer(desk, request(district_key, drill=True)) is not None
    clear = offer(
        desk, request(district_key, request_id="r-2", action=Action.ALL_CLEAR, drill=True)
    )
    assert clear is not None
    school.acks.on_ack("dev-102", ack(device_id="dev-102", room="102", seq=clear.seq))
    summary = build_summary(school, store, epoch=3, heartbeat_s=30.0, now=T0)
    assert (summary.in_force, summary.directives) == (0, ())
    (entry,) = summary.all_clears
    assert (entry.action, entry.request, entry.confirmed, entry.total) == (
        Action.ALL_CLEAR, "r-2", 1, 3,
    )  # fmt: skip
    assert entry.pending_rooms == ("101", "gym")
    assert decode(encode(summary), DistrictSummary) == summary
    # An All clear the office issued is none of the district's business.
    school.directives.issue(DirectiveRequest(action=Action.HOLD, drill=True), user="o")
    school.directives.issue(DirectiveRequest(action=Action.ALL_CLEAR, drill=True), user="o")
    assert build_summary(school, store, epoch=3, heartbeat_s=30.0, now=T0).all_clears == ()


def test_the_summary_counts_rooms_confirmed_offline_and_alerts(
    desk: DistrictDesk, school: Engine, store: HubStore, district_key: Ed25519PrivateKey
) -> None:
    for device in ("dev-101-a", "dev-101-b", "dev-102"):
        school.presence.on_status(device, status(device_id=device, room="x"))
    issued = offer(desk, request(district_key))
    assert issued is not None
    school.acks.on_ack("dev-102", ack(device_id="dev-102", room="102", seq=issued.seq))
    school.events.on_event("dev-gym", event(device_id="dev-gym", room="gym"))
    summary = build_summary(school, store, epoch=3, heartbeat_s=30.0, now=T0)
    assert (summary.rooms, summary.in_force, summary.confirmed) == (3, 3, 1)
    (entry,) = summary.directives
    assert (entry.seq, entry.confirmed, entry.total, entry.request) == (issued.seq, 1, 3, "r-1")
    assert entry.pending_rooms == ("101", "gym")  # who does not have it yet
    assert (summary.offline, summary.offline_rooms) == (1, ("gym",))
    assert (summary.alerts, summary.alert_rooms) == (1, ("gym",))
    assert summary.requests[0].issued and summary.requests[0].seq == issued.seq
    assert decode(encode(summary), DistrictSummary) == summary


def test_a_summary_too_big_for_a_payload_is_shortened_never_its_counts() -> None:
    rooms = tuple(f"room-{i:03d}-{'x' * 50}" for i in range(64))
    big = DistrictSummary(
        site="lincoln", seq=1, epoch=1, time=T0, heartbeat_s=30.0, rooms=300, in_force=0,
        confirmed=0, alerts=300, alert_rooms=rooms, offline=300, offline_rooms=rooms,
    )  # fmt: skip
    fitted = fit(big)
    assert len(encode(fitted)) <= MAX_PAYLOAD < len(encode(big))
    assert fitted.shortened and (fitted.alerts, fitted.offline) == (300, 300)
    assert decode_any(encode(fitted)) == fitted


def test_pending_rooms_are_shortened_to_fit_and_the_counts_stay_whole() -> None:
    pending = tuple(f"room-{i:03d}-{'x' * 50}" for i in range(64))
    secure = SummaryDirective(
        seq=3, action=Action.SECURE, scope=ScopeKind.SITE, drill=True, issued_at=T0,
        confirmed=236, total=300, request="r-1", pending_rooms=pending,
    )  # fmt: skip
    big = DistrictSummary(
        site="lincoln", seq=1, epoch=1, time=T0, heartbeat_s=30.0, rooms=300, in_force=300,
        confirmed=236, directives=(secure,), alerts=0, offline=0,
    )  # fmt: skip
    fitted = fit(big)
    assert len(encode(fitted)) <= MAX_PAYLOAD < len(encode(big)) and fitted.shortened
    (kept,) = fitted.directives
    assert 0 < len(kept.pending_rooms) < 64 and (kept.confirmed, kept.total) == (236, 300)
    assert decode_any(encode(fitted)) == fitted


def test_pending_rooms_beyond_the_unconfirmed_or_not_room_names_do_not_decode() -> None:
    entry = (
        b'{"seq":2,"action":"secure","scope":"site","drill":false,"issued_at":1.0,'
        b'"confirmed":1,"total":2,"pending_rooms":["101","102"]}'
    )
    body = (
        b'{"v":1,"type":"district_summary","site":"a","seq":1,"epoch":0,"time":1.0,'
        b'"heartbeat_s":30.0,"rooms":2,"in_force":2,"confirmed":1,"alerts":0,"offline":0,'
        b'"directives":[' + entry + b"]}"
    )
    with pytest.raises(DecodeError, match="more rooms than total - confirmed"):
        decode(body, DistrictSummary)
    with pytest.raises(DecodeError, match=r"room id '1\.2' must be"):
        decode(body.replace(b'["101","102"]', b'["1.2"]'), DistrictSummary)
    assert decode(body.replace(b'["101","102"]', b'["102"]'), DistrictSummary).directives[
        0
    ].pending_rooms == ("102",)


def test_a_summary_listing_more_rooms_than_it_counts_does_not_decode() -> None:
    body = (
        b'{"v":1,"type":"district_summary","site":"a","seq":1,"epoch":0,"time":1.0,'
        b'"heartbeat_s":30.0,"rooms":1,"in_force":0,"confirmed":0,"alerts":0,'
        b'"alert_rooms":["101"],"offline":0}'
    )
    with pytest.raises(DecodeError, match="more rooms than its count"):
        decode(body, DistrictSummary)
    with pytest.raises(DecodeError, match="must be an array"):
        decode(body.replace(b'["101"]', b'"101"'), DistrictSummary)


def test_the_summary_is_published_on_change_and_as_a_heartbeat_never_per_device_heartbeat(
    school: Engine, store: HubStore, clock: FakeClock
) -> None:
    sent: list[DistrictSummary] = []

    def send(topic: str, payload: bytes) -> bool:
        assert topic == Topics("lincoln").district(DistrictChannel.SUMMARY)
        sent.append(decode(payload, DistrictSummary))
        return True

    summaries = DistrictSummaries(
        engine=school, store=store, bus=school.bus, topic=Topics("lincoln").district(
            DistrictChannel.SUMMARY), send=send, epoch=1, heartbeat_s=30.0, clock=clock,
    )  # fmt: skip
    school.presence.on_status("dev-102", status(device_id="dev-102"))
    assert summaries.publish_if_due()  # the first
    for beat in range(5):  # a node's status every few seconds: nothing new to say
        clock.advance(5)
        school.presence.on_status("dev-102", status(device_id="dev-102", session=2 + beat))
        assert not summaries.publish_if_due()
    school.directives.issue(DirectiveRequest(action=Action.HOLD), user="office")
    assert summaries.publish_if_due()  # a change
    clock.advance(29)
    assert not summaries.publish_if_due()
    clock.advance(1)
    assert summaries.publish_if_due()  # the heartbeat
    assert [s.seq for s in sent] == [1, 2, 3]
    assert sent[1].in_force == 3 and sent[1].directives[0].action is Action.HOLD


def test_a_long_or_odd_refusal_reason_never_breaks_the_summary(
    school: Engine, store: HubStore, district_key: Ed25519PrivateKey
) -> None:
    store.add_district_request(request(district_key), at=T0, seq=None, reason="why\n" * 200)
    summary = build_summary(school, store, epoch=1, heartbeat_s=10.0, now=T0)
    (refused,) = summary.requests
    assert refused.reason is not None and len(refused.reason) == 200 and "\n" not in refused.reason
    assert decode(encode(summary), DistrictSummary) == summary
