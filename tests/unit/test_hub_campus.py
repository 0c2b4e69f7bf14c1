"""The hub's campus on a real SQLite file: numbering, signing, release, audit, devices, acks."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from hub.campus import Campus, DirectiveRequest, HubError
from hub.store import HubStore
from protocol.inventory import Room
from protocol.messages import Directive, EventKind
from protocol.signing import verify_directive
from protocol.srp import Action
from protocol.topics import ScopeKind
from tests.unit.conftest import FakeClock, MakeCampus
from tests.unit.factories import T0, ack, event, status


def lockdown(
    *, scope: ScopeKind = ScopeKind.SITE, target: str = "", drill: bool = False
) -> DirectiveRequest:
    return DirectiveRequest(action=Action.LOCKDOWN, scope=scope, target=target, drill=drill)


def room_of(campus: Campus, room_id: str) -> Directive | None:
    return campus.effective(campus.room(room_id))


@pytest.fixture
def reader(hub_db: Path) -> Iterator[HubStore]:
    """A second connection to the hub's file, to see what was really written."""
    store = HubStore(hub_db)
    yield store
    store.close()


# -- issuing ---------------------------------------------------------------------------------


def test_issue_numbers_signs_records_and_publishes(
    campus: Campus, published: list[Directive], hub_key: Ed25519PrivateKey, reader: HubStore
) -> None:
    issued = campus.issue(lockdown(drill=True), user="principal")
    assert issued.seq == 1
    assert issued.issued_by == "principal"
    assert issued.issued_at == T0
    assert issued.drill is True
    assert published == [issued]
    verify_directive(issued, hub_key.public_key())
    assert reader.directives() == [issued]
    assert room_of(campus, "gym") == issued


def test_seq_is_strictly_increasing(campus: Campus) -> None:
    seqs = [campus.issue(lockdown(), user="u").seq for _ in range(3)]
    seqs.append(campus.issue(DirectiveRequest(action=Action.ALL_CLEAR), user="u").seq)
    assert seqs == [1, 2, 3, 4]
    assert campus.latest_seq == 4


def test_seq_continues_after_a_restart(make_campus: MakeCampus, hub_key: Ed25519PrivateKey) -> None:
    first = make_campus()
    first.issue(lockdown(), user="u")
    before = first.issue(
        DirectiveRequest(action=Action.HOLD, scope=ScopeKind.BUILDING, target="main"), user="u"
    )

    restarted = make_campus()
    assert restarted.latest_seq == before.seq
    assert [d.seq for d in restarted.current_directives] == [1, 2]
    after = restarted.issue(DirectiveRequest(action=Action.ALL_CLEAR), user="u")
    assert after.seq > before.seq
    verify_directive(after, hub_key.public_key())


def test_seq_is_never_reused_even_after_a_refused_request(campus: Campus) -> None:
    first = campus.issue(lockdown(), user="u")
    with pytest.raises(HubError):
        campus.issue(DirectiveRequest(action=Action.EVACUATE), user="u")
    assert campus.issue(lockdown(), user="u").seq == first.seq + 1


def test_issued_directive_is_signed_with_the_hub_key(
    campus: Campus, hub_key: Ed25519PrivateKey, other_key: Ed25519PrivateKey
) -> None:
    issued = campus.issue(lockdown(), user="u")
    verify_directive(issued, hub_key.public_key())
    with pytest.raises(ValueError, match="does not match"):
        verify_directive(issued, other_key.public_key())


def test_room_scope_with_unknown_room_is_404(campus: Campus, published: list[Directive]) -> None:
    with pytest.raises(HubError, match="unknown room '999'") as caught:
        campus.issue(lockdown(scope=ScopeKind.ROOM, target="999"), user="u")
    assert caught.value.status == 404
    assert published == []


def test_unknown_building_is_404(campus: Campus) -> None:
    with pytest.raises(HubError, match="unknown building 'west'") as caught:
        campus.issue(lockdown(scope=ScopeKind.BUILDING, target="west"), user="u")
    assert caught.value.status == 404


def test_evacuate_without_location_is_400(campus: Campus, published: list[Directive]) -> None:
    with pytest.raises(HubError, match="location is required") as caught:
        campus.issue(DirectiveRequest(action=Action.EVACUATE), user="u")
    assert caught.value.status == 400
    assert published == []
    assert campus.latest_seq == 0


def test_site_scope_with_a_target_is_400(campus: Campus) -> None:
    with pytest.raises(HubError) as caught:
        campus.issue(lockdown(target="101"), user="u")
    assert caught.value.status == 400


def test_release_through_issue_is_refused(campus: Campus) -> None:
    campus.issue(lockdown(), user="u")
    request = DirectiveRequest(action=Action.RELEASE, scope=ScopeKind.ROOM, target="101")
    with pytest.raises(HubError, match="release") as caught:
        campus.issue(request, user="u")
    assert caught.value.status == 400


@pytest.mark.parametrize("hazard", ["tornado", "Tornado"])
def test_shelter_with_a_known_hazard_gets_the_default_strategy(campus: Campus, hazard: str) -> None:
    issued = campus.issue(DirectiveRequest(action=Action.SHELTER, hazard=hazard), user="u")
    assert issued.strategy == "Go to the shelter area"
    assert issued.hazard == hazard


def test_shelter_keeps_an_explicit_strategy(campus: Campus) -> None:
    request = DirectiveRequest(action=Action.SHELTER, hazard="tornado", strategy="Go to room 12")
    assert campus.issue(request, user="u").strategy == "Go to room 12"


def test_shelter_with_an_unknown_hazard_and_no_strategy_is_400(campus: Campus) -> None:
    with pytest.raises(HubError, match="strategy is required") as caught:
        campus.issue(DirectiveRequest(action=Action.SHELTER, hazard="bees"), user="u")
    assert caught.value.status == 400


def test_every_issue_is_audited_with_the_user(
    campus: Campus, reader: HubStore, clock: FakeClock
) -> None:
    campus.issue(lockdown(drill=True), user="principal")
    clock.advance(60)
    campus.release("101", user="officer-jones")
    log = reader.audit_log()  # newest first
    assert [(e["user"], e["action"]) for e in log] == [
        ("officer-jones", "issue release"),
        ("principal", "issue lockdown"),
    ]
    assert log[0]["at"] == T0 + 60
    assert log[1]["detail"]["seq"] == 1
    assert log[1]["detail"]["drill"] is True
    assert log[1]["detail"]["term"] == "LOCKDOWN"
    assert log[0]["detail"]["target"] == "101"


# -- release ---------------------------------------------------------------------------------


def test_release_only_when_the_room_is_in_lockdown(campus: Campus) -> None:
    with pytest.raises(HubError, match="not in Lockdown") as caught:
        campus.release("101", user="u")
    assert caught.value.status == 409
    campus.issue(DirectiveRequest(action=Action.HOLD), user="u")
    with pytest.raises(HubError, match=r"\(it has hold\)") as caught:
        campus.release("101", user="u")
    assert caught.value.status == 409


def test_release_of_a_site_lockdown_is_room_scoped_and_inherits_drill(
    campus: Campus, published: list[Directive], hub_key: Ed25519PrivateKey
) -> None:
    site = campus.issue(lockdown(drill=True), user="u")
    released = campus.release("101", user="u")
    assert released.action is Action.RELEASE
    assert (released.scope, released.target) == (ScopeKind.ROOM, "101")
    assert released.drill is True
    assert released.seq > site.seq
    assert published[-1] == released
    verify_directive(released, hub_key.public_key())
    assert room_of(campus, "101") == released
    assert room_of(campus, "102") == site


def test_release_of_a_real_lockdown_is_not_a_drill(campus: Campus) -> None:
    campus.issue(lockdown(scope=ScopeKind.BUILDING, target="main"), user="u")
    assert campus.release("102", user="u").drill is False


def test_release_twice_is_409(campus: Campus) -> None:
    campus.issue(lockdown(), user="u")
    campus.release("101", user="u")
    with pytest.raises(HubError, match="it has release") as caught:
        campus.release("101", user="u")
    assert caught.value.status == 409


def test_release_of_an_unknown_room_is_404(campus: Campus) -> None:
    campus.issue(lockdown(), user="u")
    with pytest.raises(HubError) as caught:
        campus.release("999", user="u")
    assert caught.value.status == 404


def test_later_site_lockdown_supersedes_a_release(campus: Campus) -> None:
    campus.issue(lockdown(), user="u")
    campus.release("101", user="u")
    again = campus.issue(lockdown(), user="u")
    assert room_of(campus, "101") == again
    assert campus.release("101", user="u").seq > again.seq


# -- events ----------------------------------------------------------------------------------


def test_event_is_stored_once_by_id(campus: Campus, reader: HubStore) -> None:
    panic = event(device_id="dev-102", room="102")
    assert campus.on_event("dev-102", panic) is True
    assert campus.on_event("dev-102", panic) is False
    rows = list(reader.events(kinds=("panic",)))
    assert len(rows) == 1
    assert rows[0]["event_id"] == panic.event_id
    assert rows[0]["received_at"] == T0


def test_event_dedupe_survives_a_restart(make_campus: MakeCampus, reader: HubStore) -> None:
    panic = event(device_id="dev-102", room="102")
    assert make_campus().on_event("dev-102", panic) is True
    assert make_campus().on_event("dev-102", panic) is False
    assert len(list(reader.events(kinds=("panic",)))) == 1


def test_event_room_comes_from_the_inventory_not_the_payload(
    campus: Campus, reader: HubStore
) -> None:
    claimed = event(device_id="dev-gym", room="101")
    campus.on_event("dev-gym", claimed)
    (row,) = reader.events(kinds=("panic",))
    assert row["room"] == "gym"


def test_panic_and_its_cancel_both_stay_in_the_record(campus: Campus, reader: HubStore) -> None:
    campus.on_event("dev-102", event(event_id="evt-1", device_id="dev-102", room="102"))
    cancel = event(
        event_id="evt-2", device_id="dev-102", room="102", kind=EventKind.CANCEL, cancels="evt-1"
    )
    campus.on_event("dev-102", cancel)
    rows = list(reader.events(kinds=("panic", "cancel")))
    assert sorted(r["event_id"] for r in rows) == ["evt-1", "evt-2"]


def test_unknown_device_is_counted_and_ignored(campus: Campus, reader: HubStore) -> None:
    assert campus.on_event("ghost", event(device_id="ghost")) is None  # refused: no receipt
    campus.on_status("ghost", status(device_id="ghost"))
    campus.on_ack("ghost", ack(device_id="ghost"))
    assert campus.rejected["unknown device"] == 3
    assert list(reader.events(kinds=("panic",))) == []
    assert "ghost" not in campus.devices


def test_acknowledge_alert_is_audited_and_only_once(campus: Campus, reader: HubStore) -> None:
    campus.on_event("dev-102", event(device_id="dev-102", room="102"))
    campus.acknowledge_alert("evt-0001", user="secretary")
    with pytest.raises(HubError) as caught:
        campus.acknowledge_alert("evt-0001", user="secretary")
    assert caught.value.status == 404
    (row,) = reader.events(kinds=("panic",))
    assert row["acknowledged_by"] == "secretary"
    assert reader.audit_log()[0]["action"] == "acknowledge alert"


# -- status ----------------------------------------------------------------------------------


def test_status_updates_the_device_record(campus: Campus, clock: FakeClock) -> None:
    clock.advance(5)
    campus.on_status(
        "dev-102", status(device_id="dev-102", room="102", session=3, faults={"display": "gone"})
    )
    record = campus.devices["dev-102"]
    assert (record.online, record.session, record.faults) == (True, 3, {"display": "gone"})
    assert record.last_seen == T0 + 5


def test_stale_will_is_dropped_but_a_newer_one_accepted(campus: Campus) -> None:
    campus.on_status("dev-102", status(device_id="dev-102", room="102", session=5))
    campus.on_status("dev-102", status(device_id="dev-102", room="102", session=4, online=False))
    assert campus.devices["dev-102"].online is True
    assert campus.devices["dev-102"].session == 5
    assert campus.rejected["stale will"] == 1

    campus.on_status("dev-102", status(device_id="dev-102", room="102", session=5, online=False))
    assert campus.devices["dev-102"].online is False
    campus.on_status("dev-102", status(device_id="dev-102", room="102", session=6, online=True))
    campus.on_status("dev-102", status(device_id="dev-102", room="102", session=7, online=False))
    assert campus.devices["dev-102"].online is False
    assert campus.devices["dev-102"].session == 7
    assert campus.rejected["stale will"] == 1


# -- acks and the report ---------------------------------------------------------------------


def _ack(campus: Campus, clock: FakeClock, device: str, room: str, seq: int, at: float) -> None:
    clock.now = T0 + at
    campus.on_ack(device, ack(device_id=device, room=room, seq=seq, shown_at=clock.now))


def test_directive_report_counts_rooms_where_every_display_acked(
    campus: Campus, clock: FakeClock
) -> None:
    issued = campus.issue(lockdown(drill=True), user="u")
    _ack(campus, clock, "dev-101-a", "101", issued.seq, 0.1)
    _ack(campus, clock, "dev-102", "102", issued.seq, 0.2)
    _ack(campus, clock, "dev-101-b", "101", issued.seq, 0.4)
    _ack(campus, clock, "dev-102", "102", issued.seq, 0.9)  # a duplicate changes nothing
    report = campus.directive_report(issued)
    assert report["total"] == 3
    assert report["acked"] == 2
    assert report["rooms"] == {"101": 400.0, "102": 200.0, "gym": None}
    assert report["ack_ms"] == {"p50": 200.0, "p95": 400.0, "max": 400.0}
    assert report["drill"] is True
    assert report["term"] == "LOCKDOWN"


def test_room_with_one_display_still_to_ack_is_not_counted(
    campus: Campus, clock: FakeClock
) -> None:
    issued = campus.issue(lockdown(), user="u")
    _ack(campus, clock, "dev-101-a", "101", issued.seq, 0.1)
    report = campus.directive_report(issued)
    assert report["acked"] == 0
    assert report["rooms"]["101"] is None
    assert report["ack_ms"] == {"p50": None, "p95": None, "max": None}


def test_ack_of_another_seq_does_not_count(campus: Campus, clock: FakeClock) -> None:
    old = campus.issue(lockdown(), user="u")
    new = campus.issue(DirectiveRequest(action=Action.ALL_CLEAR), user="u")
    _ack(campus, clock, "dev-gym", "gym", old.seq, 0.3)
    assert campus.directive_report(new)["acked"] == 0
    assert campus.directive_report(old)["acked"] == 1


def test_building_report_covers_only_its_rooms(campus: Campus, clock: FakeClock) -> None:
    issued = campus.issue(lockdown(scope=ScopeKind.BUILDING, target="annex"), user="u")
    _ack(campus, clock, "dev-gym", "gym", issued.seq, 0.25)
    report = campus.directive_report(issued)
    assert report["total"] == 1
    assert report["rooms"] == {"gym": 250.0}


def test_acks_are_recovered_after_a_restart(make_campus: MakeCampus, clock: FakeClock) -> None:
    first = make_campus()
    issued = first.issue(lockdown(), user="u")
    _ack(first, clock, "dev-gym", "gym", issued.seq, 0.3)
    restarted = make_campus()
    report = restarted.directive_report(issued)
    assert report["acked"] == 1
    assert report["rooms"]["gym"] == 300.0


def test_acks_before_a_restart_still_count_when_more_arrive_after_it(
    make_campus: MakeCampus, clock: FakeClock
) -> None:
    """The hub restarts mid-drill: late displays ack, the earlier acks must not vanish."""
    first = make_campus()
    issued = first.issue(lockdown(), user="u")
    _ack(first, clock, "dev-gym", "gym", issued.seq, 0.3)
    restarted = make_campus()
    _ack(restarted, clock, "dev-102", "102", issued.seq, 2.0)
    report = restarted.directive_report(issued)
    assert report["rooms"]["gym"] == 300.0
    assert report["rooms"]["102"] == 2000.0
    assert report["acked"] == 2


# -- Lockdown is released room by room, never by a broadcast of something else -------------


def test_a_lockdown_cannot_be_replaced_at_its_scope_by_anything_but_the_all_clear(
    make_campus: MakeCampus,
) -> None:
    campus = make_campus()
    campus.issue(DirectiveRequest(action=Action.LOCKDOWN), user="office")
    with pytest.raises(HubError, match="is in Lockdown") as refused:
        campus.issue(DirectiveRequest(action=Action.HOLD), user="office")
    assert refused.value.status == 409
    assert all(campus.effective(r).action is Action.LOCKDOWN for r in rooms(campus))
    campus.issue(DirectiveRequest(action=Action.ALL_CLEAR), user="office")
    assert all(campus.effective(r).action is Action.ALL_CLEAR for r in rooms(campus))


def test_a_broader_hold_leaves_a_room_lockdown_in_force_and_the_report_says_so(
    make_campus: MakeCampus,
) -> None:
    campus = make_campus()
    locked = rooms(campus)[0]
    campus.issue(
        DirectiveRequest(action=Action.LOCKDOWN, scope=ScopeKind.ROOM, target=locked.id),
        user="office",
    )
    hold = campus.issue(DirectiveRequest(action=Action.HOLD), user="office")
    assert campus.effective(locked).action is Action.LOCKDOWN
    report = campus.directive_report(hold)
    assert locked.id in report["held"] and "LOCKDOWN" in report["held"][locked.id]
    assert report["total"] == len(rooms(campus)) - 1


def test_an_all_clear_takes_the_drill_flag_of_what_it_ends(make_campus: MakeCampus) -> None:
    campus = make_campus()
    campus.issue(DirectiveRequest(action=Action.LOCKDOWN, drill=True), user="office")
    with pytest.raises(HubError, match="drill"):
        campus.issue(DirectiveRequest(action=Action.ALL_CLEAR, drill=False), user="office")
    clear = campus.issue(DirectiveRequest(action=Action.ALL_CLEAR), user="office")
    assert clear.drill is True


def rooms(campus: Campus) -> list[Room]:
    return sorted(campus.inventory.rooms.values(), key=lambda r: r.id)
