"""The hub's engine on a real SQLite file: numbering, signing, release, audit, devices, acks."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from hub.access import http_status
from hub.directives import DirectiveRequest
from hub.engine import Engine
from hub.errors import Refused
from hub.store import HubStore
from protocol.inventory import Room
from protocol.messages import Directive, EventKind
from protocol.signing import verify_directive
from protocol.srp import Action
from protocol.topics import ScopeKind
from tests.unit.conftest import FakeClock, MakeEngine
from tests.unit.factories import T0, ack, event, status


def lockdown(
    *, scope: ScopeKind = ScopeKind.SITE, target: str = "", drill: bool = False
) -> DirectiveRequest:
    return DirectiveRequest(action=Action.LOCKDOWN, scope=scope, target=target, drill=drill)


def room_of(engine: Engine, room_id: str) -> Directive | None:
    return engine.directives.effective(engine.presence.room(room_id))


@pytest.fixture
def reader(hub_db: Path) -> Iterator[HubStore]:
    """A second connection to the hub's file, to see what was really written."""
    store = HubStore(hub_db)
    yield store
    store.close()


# -- issuing ---------------------------------------------------------------------------------


def test_issue_numbers_signs_records_and_publishes(
    engine: Engine, published: list[Directive], hub_key: Ed25519PrivateKey, reader: HubStore
) -> None:
    issued = engine.directives.issue(lockdown(drill=True), user="principal")
    assert issued.seq == 1
    assert issued.issued_by == "principal"
    assert issued.issued_at == T0
    assert issued.drill is True
    assert published == [issued]
    verify_directive(issued, hub_key.public_key())
    assert reader.directives() == [issued]
    assert room_of(engine, "gym") == issued


def test_seq_is_strictly_increasing(engine: Engine) -> None:
    seqs = [engine.directives.issue(lockdown(), user="u").seq for _ in range(3)]
    seqs.append(engine.directives.issue(DirectiveRequest(action=Action.ALL_CLEAR), user="u").seq)
    assert seqs == [1, 2, 3, 4]
    assert engine.directives.latest_seq == 4


def test_seq_continues_after_a_restart(make_engine: MakeEngine, hub_key: Ed25519PrivateKey) -> None:
    first = make_engine()
    first.directives.issue(lockdown(), user="u")
    before = first.directives.issue(
        DirectiveRequest(action=Action.HOLD, scope=ScopeKind.BUILDING, target="main"), user="u"
    )

    restarted = make_engine()
    assert restarted.directives.latest_seq == before.seq
    assert [d.seq for d in restarted.directives.current] == [1, 2]
    after = restarted.directives.issue(DirectiveRequest(action=Action.ALL_CLEAR), user="u")
    assert after.seq > before.seq
    verify_directive(after, hub_key.public_key())


def test_seq_is_never_reused_even_after_a_refused_request(engine: Engine) -> None:
    first = engine.directives.issue(lockdown(), user="u")
    with pytest.raises(Refused):
        engine.directives.issue(DirectiveRequest(action=Action.EVACUATE), user="u")
    assert engine.directives.issue(lockdown(), user="u").seq == first.seq + 1


def test_issued_directive_is_signed_with_the_hub_key(
    engine: Engine, hub_key: Ed25519PrivateKey, other_key: Ed25519PrivateKey
) -> None:
    issued = engine.directives.issue(lockdown(), user="u")
    verify_directive(issued, hub_key.public_key())
    with pytest.raises(ValueError, match="does not match"):
        verify_directive(issued, other_key.public_key())


def test_room_scope_with_unknown_room_is_404(engine: Engine, published: list[Directive]) -> None:
    with pytest.raises(Refused, match="unknown room '999'") as caught:
        engine.directives.issue(lockdown(scope=ScopeKind.ROOM, target="999"), user="u")
    assert http_status(caught.value) == 404
    assert published == []


def test_unknown_building_is_404(engine: Engine) -> None:
    with pytest.raises(Refused, match="unknown building 'west'") as caught:
        engine.directives.issue(lockdown(scope=ScopeKind.BUILDING, target="west"), user="u")
    assert http_status(caught.value) == 404


def test_evacuate_without_location_is_400(engine: Engine, published: list[Directive]) -> None:
    with pytest.raises(Refused, match="location is required") as caught:
        engine.directives.issue(DirectiveRequest(action=Action.EVACUATE), user="u")
    assert http_status(caught.value) == 400
    assert published == []
    assert engine.directives.latest_seq == 0


def test_site_scope_with_a_target_is_400(engine: Engine) -> None:
    with pytest.raises(Refused) as caught:
        engine.directives.issue(lockdown(target="101"), user="u")
    assert http_status(caught.value) == 400


def test_release_through_issue_is_refused(engine: Engine) -> None:
    engine.directives.issue(lockdown(), user="u")
    request = DirectiveRequest(action=Action.RELEASE, scope=ScopeKind.ROOM, target="101")
    with pytest.raises(Refused, match="release") as caught:
        engine.directives.issue(request, user="u")
    assert http_status(caught.value) == 400


@pytest.mark.parametrize("hazard", ["tornado", "Tornado"])
def test_shelter_with_a_known_hazard_gets_the_default_strategy(engine: Engine, hazard: str) -> None:
    issued = engine.directives.issue(
        DirectiveRequest(action=Action.SHELTER, hazard=hazard), user="u"
    )
    assert issued.strategy == "Go to the shelter area"
    assert issued.hazard == hazard


def test_shelter_keeps_an_explicit_strategy(engine: Engine) -> None:
    request = DirectiveRequest(action=Action.SHELTER, hazard="tornado", strategy="Go to room 12")
    assert engine.directives.issue(request, user="u").strategy == "Go to room 12"


def test_shelter_with_an_unknown_hazard_and_no_strategy_is_400(engine: Engine) -> None:
    with pytest.raises(Refused, match="strategy is required") as caught:
        engine.directives.issue(DirectiveRequest(action=Action.SHELTER, hazard="bees"), user="u")
    assert http_status(caught.value) == 400


def test_every_issue_is_audited_with_the_user(
    engine: Engine, reader: HubStore, clock: FakeClock
) -> None:
    engine.directives.issue(lockdown(drill=True), user="principal")
    clock.advance(60)
    engine.directives.release("101", user="officer-jones")
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


def test_every_issue_keeps_which_displays_were_online(engine: Engine, reader: HubStore) -> None:
    """The drill debrief's "offline at issue" is recorded by the engine, whoever issues."""
    engine.presence.on_status("dev-102", status(device_id="dev-102", room="102"))
    engine.directives.issue(lockdown(drill=True), user="principal")
    released = engine.directives.release("101", user="officer-jones")
    for seq in (1, released.seq):
        assert reader.presence(seq) == {
            "dev-101-a": False,
            "dev-101-b": False,
            "dev-102": True,
            "dev-gym": False,
        }


# -- release ---------------------------------------------------------------------------------


def test_release_only_when_the_room_is_in_lockdown(engine: Engine) -> None:
    with pytest.raises(Refused, match="not in Lockdown") as caught:
        engine.directives.release("101", user="u")
    assert http_status(caught.value) == 409
    engine.directives.issue(DirectiveRequest(action=Action.HOLD), user="u")
    with pytest.raises(Refused, match=r"\(it has hold\)") as caught:
        engine.directives.release("101", user="u")
    assert http_status(caught.value) == 409


def test_release_of_a_site_lockdown_is_room_scoped_and_inherits_drill(
    engine: Engine, published: list[Directive], hub_key: Ed25519PrivateKey
) -> None:
    site = engine.directives.issue(lockdown(drill=True), user="u")
    released = engine.directives.release("101", user="u")
    assert released.action is Action.RELEASE
    assert (released.scope, released.target) == (ScopeKind.ROOM, "101")
    assert released.drill is True
    assert released.seq > site.seq
    assert published[-1] == released
    verify_directive(released, hub_key.public_key())
    assert room_of(engine, "101") == released
    assert room_of(engine, "102") == site


def test_release_of_a_real_lockdown_is_not_a_drill(engine: Engine) -> None:
    engine.directives.issue(lockdown(scope=ScopeKind.BUILDING, target="main"), user="u")
    assert engine.directives.release("102", user="u").drill is False


def test_release_twice_is_409(engine: Engine) -> None:
    engine.directives.issue(lockdown(), user="u")
    engine.directives.release("101", user="u")
    with pytest.raises(Refused, match="it has release") as caught:
        engine.directives.release("101", user="u")
    assert http_status(caught.value) == 409


def test_release_of_an_unknown_room_is_404(engine: Engine) -> None:
    engine.directives.issue(lockdown(), user="u")
    with pytest.raises(Refused) as caught:
        engine.directives.release("999", user="u")
    assert http_status(caught.value) == 404


def test_later_site_lockdown_supersedes_a_release(engine: Engine) -> None:
    engine.directives.issue(lockdown(), user="u")
    engine.directives.release("101", user="u")
    again = engine.directives.issue(lockdown(), user="u")
    assert room_of(engine, "101") == again
    assert engine.directives.release("101", user="u").seq > again.seq


# -- events ----------------------------------------------------------------------------------


def test_event_is_stored_once_by_id(engine: Engine, reader: HubStore) -> None:
    panic = event(device_id="dev-102", room="102")
    assert engine.events.on_event("dev-102", panic) is True
    assert engine.events.on_event("dev-102", panic) is False
    rows = list(reader.events(kinds=("panic",)))
    assert len(rows) == 1
    assert rows[0]["event_id"] == panic.event_id
    assert rows[0]["received_at"] == T0


def test_event_dedupe_survives_a_restart(make_engine: MakeEngine, reader: HubStore) -> None:
    panic = event(device_id="dev-102", room="102")
    assert make_engine().events.on_event("dev-102", panic) is True
    assert make_engine().events.on_event("dev-102", panic) is False
    assert len(list(reader.events(kinds=("panic",)))) == 1


def test_event_room_comes_from_the_inventory_not_the_payload(
    engine: Engine, reader: HubStore
) -> None:
    claimed = event(device_id="dev-gym", room="101")
    engine.events.on_event("dev-gym", claimed)
    (row,) = reader.events(kinds=("panic",))
    assert row["room"] == "gym"


def test_panic_and_its_cancel_both_stay_in_the_record(engine: Engine, reader: HubStore) -> None:
    engine.events.on_event("dev-102", event(event_id="evt-1", device_id="dev-102", room="102"))
    cancel = event(
        event_id="evt-2", device_id="dev-102", room="102", kind=EventKind.CANCEL, cancels="evt-1"
    )
    engine.events.on_event("dev-102", cancel)
    rows = list(reader.events(kinds=("panic", "cancel")))
    assert sorted(r["event_id"] for r in rows) == ["evt-1", "evt-2"]


def test_unknown_device_is_counted_and_ignored(engine: Engine, reader: HubStore) -> None:
    assert engine.events.on_event("ghost", event(device_id="ghost")) is None  # refused: no receipt
    engine.presence.on_status("ghost", status(device_id="ghost"))
    engine.acks.on_ack("ghost", ack(device_id="ghost"))
    assert engine.rejected.counts["unknown device"] == 3
    assert list(reader.events(kinds=("panic",))) == []
    assert "ghost" not in engine.presence.devices


def test_acknowledge_alert_is_audited_and_only_once(engine: Engine, reader: HubStore) -> None:
    engine.events.on_event("dev-102", event(device_id="dev-102", room="102"))
    engine.acks.acknowledge_alert("evt-0001", user="secretary")
    with pytest.raises(Refused) as caught:
        engine.acks.acknowledge_alert("evt-0001", user="secretary")
    assert http_status(caught.value) == 404
    (row,) = reader.events(kinds=("panic",))
    assert row["acknowledged_by"] == "secretary"
    assert reader.audit_log()[0]["action"] == "acknowledge alert"


# -- status ----------------------------------------------------------------------------------


def test_status_updates_the_device_record(engine: Engine, clock: FakeClock) -> None:
    clock.advance(5)
    engine.presence.on_status(
        "dev-102", status(device_id="dev-102", room="102", session=3, faults={"display": "gone"})
    )
    record = engine.presence.devices["dev-102"]
    assert (record.online, record.session, record.faults) == (True, 3, {"display": "gone"})
    assert record.last_seen == T0 + 5


def test_stale_will_is_dropped_but_a_newer_one_accepted(engine: Engine) -> None:
    engine.presence.on_status("dev-102", status(device_id="dev-102", room="102", session=5))
    engine.presence.on_status(
        "dev-102", status(device_id="dev-102", room="102", session=4, online=False)
    )
    assert engine.presence.devices["dev-102"].online is True
    assert engine.presence.devices["dev-102"].session == 5
    assert engine.rejected.counts["stale will"] == 1

    engine.presence.on_status(
        "dev-102", status(device_id="dev-102", room="102", session=5, online=False)
    )
    assert engine.presence.devices["dev-102"].online is False
    engine.presence.on_status(
        "dev-102", status(device_id="dev-102", room="102", session=6, online=True)
    )
    engine.presence.on_status(
        "dev-102", status(device_id="dev-102", room="102", session=7, online=False)
    )
    assert engine.presence.devices["dev-102"].online is False
    assert engine.presence.devices["dev-102"].session == 7
    assert engine.rejected.counts["stale will"] == 1


# -- acks and the report ---------------------------------------------------------------------


def _ack(engine: Engine, clock: FakeClock, device: str, room: str, seq: int, at: float) -> None:
    clock.now = T0 + at
    engine.acks.on_ack(device, ack(device_id=device, room=room, seq=seq, shown_at=clock.now))


def test_directive_report_counts_rooms_where_every_display_acked(
    engine: Engine, clock: FakeClock
) -> None:
    issued = engine.directives.issue(lockdown(drill=True), user="u")
    _ack(engine, clock, "dev-101-a", "101", issued.seq, 0.1)
    _ack(engine, clock, "dev-102", "102", issued.seq, 0.2)
    _ack(engine, clock, "dev-101-b", "101", issued.seq, 0.4)
    _ack(engine, clock, "dev-102", "102", issued.seq, 0.9)  # a duplicate changes nothing
    report = engine.acks.directive_report(issued)
    assert report["total"] == 3
    assert report["acked"] == 2
    assert report["rooms"] == {"101": 400.0, "102": 200.0, "gym": None}
    assert report["ack_ms"] == {"p50": 200.0, "p95": 400.0, "max": 400.0}
    assert report["drill"] is True
    assert report["term"] == "LOCKDOWN"


def test_room_with_one_display_still_to_ack_is_not_counted(
    engine: Engine, clock: FakeClock
) -> None:
    issued = engine.directives.issue(lockdown(), user="u")
    _ack(engine, clock, "dev-101-a", "101", issued.seq, 0.1)
    report = engine.acks.directive_report(issued)
    assert report["acked"] == 0
    assert report["rooms"]["101"] is None
    assert report["ack_ms"] == {"p50": None, "p95": None, "max": None}


def test_ack_of_another_seq_does_not_count(engine: Engine, clock: FakeClock) -> None:
    old = engine.directives.issue(lockdown(), user="u")
    new = engine.directives.issue(DirectiveRequest(action=Action.ALL_CLEAR), user="u")
    _ack(engine, clock, "dev-gym", "gym", old.seq, 0.3)
    assert engine.acks.directive_report(new)["acked"] == 0
    assert engine.acks.directive_report(old)["acked"] == 1


def test_building_report_covers_only_its_rooms(engine: Engine, clock: FakeClock) -> None:
    issued = engine.directives.issue(lockdown(scope=ScopeKind.BUILDING, target="annex"), user="u")
    _ack(engine, clock, "dev-gym", "gym", issued.seq, 0.25)
    report = engine.acks.directive_report(issued)
    assert report["total"] == 1
    assert report["rooms"] == {"gym": 250.0}


def test_acks_are_recovered_after_a_restart(make_engine: MakeEngine, clock: FakeClock) -> None:
    first = make_engine()
    issued = first.directives.issue(lockdown(), user="u")
    _ack(first, clock, "dev-gym", "gym", issued.seq, 0.3)
    restarted = make_engine()
    report = restarted.acks.directive_report(issued)
    assert report["acked"] == 1
    assert report["rooms"]["gym"] == 300.0


def test_acks_before_a_restart_still_count_when_more_arrive_after_it(
    make_engine: MakeEngine, clock: FakeClock
) -> None:
    """The hub restarts mid-drill: late displays ack, the earlier acks must not vanish."""
    first = make_engine()
    issued = first.directives.issue(lockdown(), user="u")
    _ack(first, clock, "dev-gym", "gym", issued.seq, 0.3)
    restarted = make_engine()
    _ack(restarted, clock, "dev-102", "102", issued.seq, 2.0)
    report = restarted.acks.directive_report(issued)
    assert report["rooms"]["gym"] == 300.0
    assert report["rooms"]["102"] == 2000.0
    assert report["acked"] == 2


# -- Lockdown is released room by room, never by a broadcast of something else -------------


def test_a_lockdown_cannot_be_replaced_at_its_scope_by_anything_but_the_all_clear(
    make_engine: MakeEngine,
) -> None:
    engine = make_engine()
    engine.directives.issue(DirectiveRequest(action=Action.LOCKDOWN), user="office")
    with pytest.raises(Refused, match="is in Lockdown") as refused:
        engine.directives.issue(DirectiveRequest(action=Action.HOLD), user="office")
    assert http_status(refused.value) == 409
    assert all(engine.directives.effective(r).action is Action.LOCKDOWN for r in rooms(engine))
    engine.directives.issue(DirectiveRequest(action=Action.ALL_CLEAR), user="office")
    assert all(engine.directives.effective(r).action is Action.ALL_CLEAR for r in rooms(engine))


def test_a_broader_hold_leaves_a_room_lockdown_in_force_and_the_report_says_so(
    make_engine: MakeEngine,
) -> None:
    engine = make_engine()
    locked = rooms(engine)[0]
    engine.directives.issue(
        DirectiveRequest(action=Action.LOCKDOWN, scope=ScopeKind.ROOM, target=locked.id),
        user="office",
    )
    hold = engine.directives.issue(DirectiveRequest(action=Action.HOLD), user="office")
    assert engine.directives.effective(locked).action is Action.LOCKDOWN
    report = engine.acks.directive_report(hold)
    assert locked.id in report["held"] and "LOCKDOWN" in report["held"][locked.id]
    assert report["total"] == len(rooms(engine)) - 1


def test_an_all_clear_takes_the_drill_flag_of_what_it_ends(make_engine: MakeEngine) -> None:
    engine = make_engine()
    engine.directives.issue(DirectiveRequest(action=Action.LOCKDOWN, drill=True), user="office")
    with pytest.raises(Refused, match="drill"):
        engine.directives.issue(
            DirectiveRequest(action=Action.ALL_CLEAR, drill=False), user="office"
        )
    clear = engine.directives.issue(DirectiveRequest(action=Action.ALL_CLEAR), user="office")
    assert clear.drill is True


def rooms(engine: Engine) -> list[Room]:
    return sorted(engine.presence.inventory.rooms.values(), key=lambda r: r.id)
