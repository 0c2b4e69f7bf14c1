"""The strict codec: every message round-trips, every malformed payload is a DecodeError."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from protocol.codec import MAX_PAYLOAD, DecodeError, check_depth, decode, decode_any, encode
from protocol.messages import (
    MAX_TEXT,
    MESSAGE_TYPES,
    Ack,
    CommandKind,
    DeviceStatus,
    Directive,
    Event,
    EventKind,
    HubState,
    Message,
    MessageError,
    Receipt,
)
from protocol.srp import Action
from protocol.topics import InvalidName, ScopeKind
from tests.unit.factories import (
    ack,
    body_of,
    command,
    directive,
    event,
    hub_state,
    receipt,
    status,
    wire,
)

SAMPLES: list[Message] = [
    hub_state(epoch=7, heartbeat_s=2.5, latest_seq=41),
    hub_state(online=False),
    directive(seq=9, sig="c2lnbmF0dXJl"),
    directive(
        seq=10,
        scope=ScopeKind.ROOM,
        target="101",
        action=Action.EVACUATE,
        drill=True,
        location="Football field",
        note="Use the north stairs",
    ),
    directive(
        seq=11,
        scope=ScopeKind.BUILDING,
        target="main",
        action=Action.SHELTER,
        hazard="tornado",
        strategy="Go to the shelter area",
    ),
    directive(seq=12, scope=ScopeKind.ROOM, target="gym", action=Action.RELEASE),
    directive(seq=13, action=Action.ALL_CLEAR, note="Ünïcödé ✓ note"),
    status(session=4, hub_epoch=7, faults={"display": "no answer on I2C 0x3c"}),
    status(online=False),
    event(),
    event(event_id="evt-0002", kind=EventKind.CANCEL, cancels="evt-0001", detail="false alarm"),
    event(event_id="evt-0003", kind=EventKind.ALL_ACCOUNTED),
    ack(seq=9, shown_at=1_700_000_001.5),
    receipt(),
    receipt(duplicate=True),
    command(seq=4, kind=CommandKind.REPUBLISH, sig="c2lnbmF0dXJl"),
]


def _id(message: Message) -> str:
    return message.TYPE


# -- round trips -----------------------------------------------------------------------------


def test_every_message_type_has_a_sample() -> None:
    assert {m.TYPE for m in SAMPLES} == set(MESSAGE_TYPES)


@pytest.mark.parametrize("message", SAMPLES, ids=_id)
def test_round_trip_through_decode(message: Message) -> None:
    assert decode(encode(message), type(message)) == message


@pytest.mark.parametrize("message", SAMPLES, ids=_id)
def test_round_trip_through_decode_any(message: Message) -> None:
    decoded = decode_any(encode(message))
    assert type(decoded) is type(message)
    assert decoded == message


@pytest.mark.parametrize("message", SAMPLES, ids=_id)
def test_wire_form_is_compact_utf8_json_with_version_and_type_first(message: Message) -> None:
    payload = encode(message)
    assert payload.startswith(b'{"v":1,"type":"' + message.TYPE.encode() + b'",')
    assert b", " not in payload and b": " not in payload
    assert len(payload) <= MAX_PAYLOAD


def test_enums_travel_as_their_values() -> None:
    body = body_of(SAMPLES[3])
    assert body["scope"] == "room"
    assert body["action"] == "evacuate"
    assert body_of(event())["kind"] == "panic"


def test_non_ascii_text_is_sent_as_utf8_not_escaped() -> None:
    payload = encode(directive(action=Action.ALL_CLEAR, note="Café ✓"))
    assert "Café ✓".encode() in payload


def test_float_field_given_as_json_int_decodes_as_float() -> None:
    body = body_of(ack()) | {"shown_at": 1_700_000_000}
    decoded = decode(wire(body), Ack)
    assert decoded.shown_at == 1_700_000_000.0
    assert type(decoded.shown_at) is float


def test_optional_fields_take_their_defaults_when_absent() -> None:
    body = body_of(hub_state(latest_seq=5))
    del body["latest_seq"]
    assert decode(wire(body), HubState).latest_seq == 0
    body = body_of(status())
    del body["faults"], body["hub_epoch"]
    decoded = decode(wire(body), DeviceStatus)
    assert decoded.faults == {}
    assert decoded.hub_epoch == 0


def test_optional_text_may_be_null() -> None:
    body = body_of(directive()) | {"note": None}
    assert decode(wire(body), Directive).note is None


# -- the envelope ----------------------------------------------------------------------------


def _reason(payload: bytes, expected: type[Message] = Ack) -> str:
    with pytest.raises(DecodeError) as caught:
        decode(payload, expected)
    assert caught.value.reason == str(caught.value)
    return caught.value.reason


def test_payload_of_exactly_max_size_is_accepted() -> None:
    payload = encode(ack())
    padded = payload[:-1] + b" " * (MAX_PAYLOAD - len(payload)) + b"}"
    assert len(padded) == MAX_PAYLOAD
    assert decode(padded, Ack) == ack()


def test_oversized_payload_is_rejected_before_parsing() -> None:
    payload = encode(ack())
    padded = payload[:-1] + b" " * (MAX_PAYLOAD + 1 - len(payload)) + b"}"
    reason = _reason(padded)
    assert reason == f"payload is {MAX_PAYLOAD + 1} bytes; the limit is {MAX_PAYLOAD}"


def test_not_utf8_is_rejected() -> None:
    assert _reason(b'{"v":1,"type":"ack","room":"\xff\xfe"}') == "payload is not UTF-8"


@pytest.mark.parametrize("payload", [b"", b'{"v":1,', b"{'v': 1}", b"v=1"])
def test_not_json_is_rejected_with_position(payload: bytes) -> None:
    reason = _reason(payload)
    assert reason.startswith("payload is not JSON (")
    assert " at " in reason


@pytest.mark.parametrize(
    ("payload", "kind"),
    [
        (b"[1, 2]", "list"),
        (b"42", "int"),
        (b"4.2", "float"),
        (b'"ack"', "str"),
        (b"null", "NoneType"),
    ],
)
def test_json_that_is_not_an_object_is_rejected(payload: bytes, kind: str) -> None:
    assert _reason(payload) == f"payload is a JSON {kind}, not an object"


def test_missing_version_is_rejected() -> None:
    body = body_of(ack())
    del body["v"]
    assert _reason(wire(body)) == "unsupported protocol version None (this side speaks v1)"


@pytest.mark.parametrize(("version", "shown"), [(2, "2"), (0, "0"), ("1", "'1'"), (True, "True")])
def test_wrong_version_is_rejected(version: Any, shown: str) -> None:
    body = body_of(ack()) | {"v": version}
    assert _reason(wire(body)) == f"unsupported protocol version {shown} (this side speaks v1)"


def test_version_given_as_float_is_rejected_like_any_int_field() -> None:
    # Int fields reject 1.0 (see test_int_field_rejects_a_float); the version is an int too.
    body = body_of(ack()) | {"v": 1.0}
    with pytest.raises(DecodeError, match="version"):
        decode(wire(body), Ack)


def test_type_other_than_expected_is_rejected() -> None:
    assert _reason(encode(ack()), Receipt) == "expected type 'receipt', got 'ack'"


def test_missing_type_is_rejected() -> None:
    body = body_of(ack())
    del body["type"]
    assert _reason(wire(body)) == "expected type 'ack', got None"


def test_unknown_type_is_rejected_by_decode_any() -> None:
    body = body_of(ack()) | {"type": "reboot"}
    with pytest.raises(DecodeError, match=r"^unknown message type 'reboot'$"):
        decode_any(wire(body))


@pytest.mark.parametrize("kind", [["ack"], {"ack": 1}])
def test_non_string_type_is_a_decode_error_not_a_crash(kind: Any) -> None:
    body = body_of(ack()) | {"type": kind}
    with pytest.raises(DecodeError, match="unknown message type"):
        decode_any(wire(body))


@pytest.mark.parametrize("token", [b"NaN", b"Infinity", b"-Infinity", b"1e999"])
def test_non_finite_numbers_are_rejected(token: bytes) -> None:
    # NaN and Infinity are not JSON (RFC 8259); SQLite stores NaN as NULL.
    payload = encode(ack()).replace(b'"shown_at":1700000000.25', b'"shown_at":' + token)
    assert token in payload
    with pytest.raises(DecodeError):
        decode(payload, Ack)


# -- fields ----------------------------------------------------------------------------------


def test_missing_required_field_is_named() -> None:
    body = body_of(ack())
    del body["seq"]
    assert _reason(wire(body)) == "ack: missing field 'seq'"


def test_missing_required_directive_field_is_named() -> None:
    body = body_of(directive())
    del body["drill"]
    assert _reason(wire(body), Directive) == "directive: missing field 'drill'"


def test_unknown_extra_fields_are_listed() -> None:
    body = body_of(ack()) | {"zeta": 1, "alpha": 2}
    assert _reason(wire(body)) == "ack: unknown field(s) ['alpha', 'zeta']"


@pytest.mark.parametrize(
    ("field", "value", "reason"),
    [
        ("seq", True, "ack.seq must be int, not bool"),
        ("seq", False, "ack.seq must be int, not bool"),
        ("seq", 1.0, "ack.seq must be int, not float"),
        ("seq", 1.5, "ack.seq must be int, not float"),
        ("seq", "1", "ack.seq must be int, not str"),
        ("seq", None, "ack.seq must be int, not NoneType"),
        ("seq", [1], "ack.seq must be int, not list"),
        ("shown_at", "now", "ack.shown_at must be float, not str"),
        ("shown_at", True, "ack.shown_at must be float, not bool"),
        ("shown_at", None, "ack.shown_at must be float, not NoneType"),
        ("device_id", 101, "ack.device_id must be str, not int"),
        ("room", {"id": "101"}, "ack.room must be str, not dict"),
    ],
)
def test_wrong_json_types_are_rejected(field: str, value: Any, reason: str) -> None:
    body = body_of(ack()) | {field: value}
    assert _reason(wire(body)) == reason


@pytest.mark.parametrize(
    ("value", "kind"), [(1, "int"), (0, "int"), ("true", "str"), (None, "NoneType")]
)
def test_bool_field_rejects_non_bool(value: Any, kind: str) -> None:
    body = body_of(hub_state()) | {"online": value}
    assert _reason(wire(body), HubState) == f"hub_state.online must be bool, not {kind}"


def test_optional_text_rejects_a_number() -> None:
    body = body_of(directive()) | {"note": 5}
    assert _reason(wire(body), Directive) == "directive.note must be str, not int"


@pytest.mark.parametrize("faults", [["display"], "display", {"display": 1}, {"display": None}])
def test_faults_must_be_an_object_of_strings(faults: Any) -> None:
    body = body_of(status()) | {"faults": faults}
    assert _reason(wire(body), DeviceStatus) == "status.faults must be an object of strings"


@pytest.mark.parametrize("value", ["panic", "LOCKDOWN", "Lockdown", "lockout", "", 1, None, []])
def test_invalid_enum_value_lists_the_allowed_ones(value: Any) -> None:
    body = body_of(directive()) | {"action": value}
    reason = _reason(wire(body), Directive)
    assert reason.startswith(f"directive.action: {value!r} is not one of [")
    assert "'lockdown'" in reason and "'all_clear'" in reason


def test_invalid_event_kind_is_rejected() -> None:
    body = body_of(event()) | {"kind": "PANIC"}
    assert "event.kind: 'PANIC' is not one of" in _reason(wire(body), Event)


def test_invalid_scope_is_rejected() -> None:
    body = body_of(directive()) | {"scope": "district"}
    assert "directive.scope: 'district' is not one of" in _reason(wire(body), Directive)


# -- topic-level ids -------------------------------------------------------------------------


BAD_IDS = ["Dev-101", "dev.101", "dev 101", "d" * 65, "", "dev/101", "dev+", "dev#", "dév"]


@pytest.mark.parametrize("bad", BAD_IDS)
@pytest.mark.parametrize("field", ["device_id", "room"])
def test_invalid_ids_in_an_ack_are_rejected(field: str, bad: str) -> None:
    body = body_of(ack()) | {field: bad}
    reason = _reason(wire(body))
    assert reason.startswith("ack: ")
    assert "must be 1-64 characters of a-z, 0-9, '_' or '-'" in reason


@pytest.mark.parametrize("bad", BAD_IDS)
def test_invalid_event_ids_are_rejected(bad: str) -> None:
    body = body_of(event()) | {"event_id": bad}
    assert "event id" in _reason(wire(body), Event)


@pytest.mark.parametrize("bad", ["Main", "main.hall", "main hall"])
def test_invalid_directive_target_is_rejected(bad: str) -> None:
    body = body_of(directive(scope=ScopeKind.BUILDING, target="main")) | {"target": bad}
    assert "building id" in _reason(wire(body), Directive)


def test_sixty_four_character_id_is_accepted() -> None:
    long_id = "a" * 64
    assert decode(wire(body_of(ack()) | {"device_id": long_id}), Ack).device_id == long_id


def test_direct_construction_validates_ids_too() -> None:
    with pytest.raises(InvalidName, match="device id 'Dev' must be"):
        ack(device_id="Dev")


# -- message-level rules ---------------------------------------------------------------------


def _directive_reason(**changes: Any) -> str:
    body = body_of(directive()) | changes
    return _reason(wire(body), Directive)


def test_evacuate_needs_a_location() -> None:
    assert _directive_reason(action="evacuate") == "directive: location is required"
    assert _directive_reason(action="evacuate", location="") == "directive: location is required"


def test_shelter_needs_a_hazard_and_a_strategy() -> None:
    assert _directive_reason(action="shelter", strategy="Seal the room") == (
        "directive: hazard is required"
    )
    assert _directive_reason(action="shelter", hazard="hazmat") == (
        "directive: strategy is required"
    )


@pytest.mark.parametrize("action", ["lockdown", "hold", "secure", "shelter", "all_clear"])
def test_only_evacuate_has_a_location(action: str) -> None:
    extra = {"hazard": "hazmat", "strategy": "Seal the room"} if action == "shelter" else {}
    reason = _directive_reason(action=action, location="Field", **extra)
    assert reason == "directive: only Evacuate has a location"


@pytest.mark.parametrize("details", [{"hazard": "tornado"}, {"strategy": "Go to the shelter"}])
def test_only_shelter_has_hazard_or_strategy(details: dict[str, str]) -> None:
    reason = _directive_reason(action="lockdown", **details)
    assert reason == "directive: only Shelter has a hazard and a strategy"


@pytest.mark.parametrize(("scope", "target"), [("site", ""), ("building", "main")])
def test_release_must_be_room_scoped(scope: str, target: str) -> None:
    reason = _directive_reason(action="release", scope=scope, target=target)
    assert reason == "directive: a Lockdown is released room by room: release needs a room scope"


def test_site_scope_has_no_target_and_others_need_one() -> None:
    expected = "directive: a site directive has no target; a building or room one needs one"
    assert _directive_reason(scope="site", target="101") == expected
    assert _directive_reason(scope="room", target="") == expected
    assert _directive_reason(scope="building", target="") == expected


@pytest.mark.parametrize("seq", [0, -1])
def test_directive_seq_must_be_positive(seq: int) -> None:
    assert _directive_reason(seq=seq) == "directive: seq must be a positive integer"


def test_directive_needs_an_issuer() -> None:
    assert _directive_reason(issued_by="") == "directive: issued_by is required"


def test_cancel_must_name_what_it_cancels_and_panic_must_not() -> None:
    expected = "event: a cancel event, and only a cancel event, names what it cancels"
    assert _reason(wire(body_of(event()) | {"kind": "cancel"}), Event) == expected
    assert _reason(wire(body_of(event()) | {"cancels": "evt-0000"}), Event) == expected


def test_cancels_must_be_a_valid_event_id() -> None:
    body = body_of(event(kind=EventKind.CANCEL, cancels="evt-1")) | {"cancels": "EVT 1"}
    assert "event id 'EVT 1'" in _reason(wire(body), Event)


@pytest.mark.parametrize("char", ["\x00", "\x07", "\n", "\r", "\t", "\x1b", "\x1f"])
def test_control_characters_in_text_are_rejected(char: str) -> None:
    assert _directive_reason(note=f"Stay{char}put") == "directive: note contains control characters"


@pytest.mark.parametrize("char", ["\x7f", "\x85", "\x9b"])
def test_del_and_c1_control_characters_in_text_are_rejected(char: str) -> None:
    # DEL and the C1 range (U+0080-U+009F; U+009B is an 8-bit CSI escape) are control
    # characters too (Unicode category Cc), just like those below U+0020.
    with pytest.raises(DecodeError, match="control characters"):
        decode(wire(body_of(directive()) | {"note": f"Stay{char}put"}), Directive)


def test_control_characters_in_event_detail_and_fault_text_are_rejected() -> None:
    assert "detail contains control characters" in _reason(
        wire(body_of(event()) | {"detail": "a\x1b[2Jb"}), Event
    )
    body = body_of(status()) | {"faults": {"display": "bad\nline"}}
    assert "faults.display contains control characters" in _reason(wire(body), DeviceStatus)


def test_text_up_to_max_text_is_accepted_and_longer_is_rejected() -> None:
    at_limit = "x" * MAX_TEXT
    assert decode(wire(body_of(directive()) | {"note": at_limit}), Directive).note == at_limit
    reason = _directive_reason(note="x" * (MAX_TEXT + 1))
    assert reason == f"directive: note is {MAX_TEXT + 1} characters; the limit is {MAX_TEXT}"


def test_long_location_is_rejected() -> None:
    reason = _directive_reason(action="evacuate", location="y" * (MAX_TEXT + 1))
    assert reason.startswith("directive: location is 201 characters")


def test_negative_session_is_rejected() -> None:
    body = body_of(status()) | {"session": -1}
    assert _reason(wire(body), DeviceStatus) == "status: session must not be negative"


def test_empty_firmware_and_empty_fault_reason_are_rejected() -> None:
    assert _reason(wire(body_of(status()) | {"firmware": ""}), DeviceStatus) == (
        "status: firmware is required"
    )
    body = body_of(status()) | {"faults": {"display": ""}}
    assert _reason(wire(body), DeviceStatus) == "status: faults.display is required"


@pytest.mark.parametrize("seq", [0, -3])
def test_ack_seq_must_be_positive(seq: int) -> None:
    assert _reason(wire(body_of(ack()) | {"seq": seq})) == "ack: seq must be a positive integer"


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"epoch": -1}, "hub_state: epoch and latest_seq must not be negative"),
        ({"latest_seq": -1}, "hub_state: epoch and latest_seq must not be negative"),
        ({"heartbeat_s": 0}, "hub_state: heartbeat_s 0.0 is outside 0-3600 s"),
        ({"heartbeat_s": 3601}, "hub_state: heartbeat_s 3601.0 is outside 0-3600 s"),
    ],
)
def test_hub_state_rules(changes: dict[str, Any], reason: str) -> None:
    assert _reason(wire(body_of(hub_state()) | changes), HubState) == reason


def test_receipt_event_id_is_checked() -> None:
    assert "event id" in _reason(wire(body_of(receipt()) | {"event_id": "Evt.1"}), Receipt)


def test_constructors_raise_message_error_directly() -> None:
    with pytest.raises(MessageError, match="location is required"):
        directive(action=Action.EVACUATE)
    with pytest.raises(MessageError, match="session must not be negative"):
        status(session=-1)


def _decode_both(payload: bytes, expected: type[Message]) -> list[Message | None]:
    """Decode with both entry points; None where the payload was a DecodeError."""
    results: list[Message | None] = []
    for decoder in (lambda p: decode(p, expected), decode_any):
        try:
            results.append(decoder(payload))
        except DecodeError:
            results.append(None)
    return results


# -- nothing but DecodeError -----------------------------------------------------------------

ODD_VALUES: list[Any] = [None, True, 0, -1, 2.5, "", "X" * 300, [], {}, {"a": "b"}, [1, "a"]]


@pytest.mark.parametrize("message", SAMPLES, ids=_id)
def test_any_odd_value_in_any_field_is_a_decode_error_or_a_valid_message(
    message: Message,
) -> None:
    """Deterministic fuzzing: never an exception other than DecodeError.

    ``type`` itself is left to test_non_string_type_is_a_decode_error_not_a_crash.
    """
    original = body_of(message)
    for key in original.keys() - {"type"}:
        for value in ODD_VALUES:
            payload = wire(original | {key: value})
            for result in _decode_both(payload, type(message)):
                assert result is None or type(result) is type(message), (key, value)


def test_decoded_payload_is_the_same_whatever_the_key_order() -> None:
    body = body_of(SAMPLES[3])
    reordered = dict(reversed(list(body.items())))
    assert json.dumps(reordered) != json.dumps(body)
    assert decode(wire(reordered), Directive) == SAMPLES[3]


def test_integers_beyond_64_bits_are_rejected() -> None:
    # Both stores keep these in SQLite INTEGER columns (signed 64-bit): a larger value
    # decodes today and then raises OverflowError in HubStore.add_ack / save_device.
    body = body_of(ack()) | {"seq": 2**63}
    with pytest.raises(DecodeError):
        decode(wire(body), Ack)


def test_session_beyond_64_bits_is_rejected() -> None:
    body = body_of(status()) | {"session": 2**64}
    with pytest.raises(DecodeError):
        decode(wire(body), DeviceStatus)


def test_largest_64_bit_integer_is_accepted() -> None:
    assert decode(wire(body_of(ack()) | {"seq": 2**63 - 1}), Ack).seq == 2**63 - 1


# -- hostile shapes: bounded before they are believed ----------------------------------------


@pytest.mark.parametrize("opener", [b"[", b"{", b'{"a":'])
@pytest.mark.parametrize("levels", [5, 50, 2000])
def test_deep_nesting_is_a_decode_error_not_a_recursion_error(opener: bytes, levels: int) -> None:
    """A few KB of ``[[[[`` used to end the hub with RecursionError from json.loads."""
    payload = (opener * levels)[:MAX_PAYLOAD]
    for result in _decode_both(payload, DeviceStatus):
        assert result is None


def test_nesting_inside_a_field_is_refused_with_its_reason() -> None:
    body = body_of(status())
    payload = wire(body)[:-1] + b',"x":' + b"[" * 10 + b"]" * 10 + b"}"
    with pytest.raises(DecodeError, match="nests deeper than"):
        decode(payload, DeviceStatus)


def test_brackets_inside_strings_do_not_count_as_nesting() -> None:
    message = event(detail='[[[[[[{{{{{{ \\" [[[[')
    assert decode(encode(message), Event) == message


def test_real_messages_are_within_the_depth_limit() -> None:
    for message in SAMPLES:
        check_depth(encode(message))


def test_integer_too_large_for_a_float_field_is_a_decode_error() -> None:
    # float(10**400) raises OverflowError; it must never leave the codec.
    body = body_of(ack()) | {"shown_at": 10**400}
    with pytest.raises(DecodeError, match="64-bit"):
        decode(wire(body), Ack)


@pytest.mark.parametrize("value", [-1.0, 5e9, 1e300])
@pytest.mark.parametrize(
    ("make", "field"),
    [(ack, "shown_at"), (event, "created_at"), (status, "time"), (hub_state, "time")],
)
def test_times_outside_1970_to_2100_are_refused(make: Any, field: str, value: float) -> None:
    message = make()
    with pytest.raises(DecodeError, match="between 1970 and 2100"):
        decode(wire(body_of(message) | {field: value}), type(message))


def test_an_old_boot_clock_is_still_a_time() -> None:
    """A Pi that booted at the epoch reports small times: odd, but not malformed."""
    assert decode(wire(body_of(ack()) | {"shown_at": 12.5}), Ack).shown_at == 12.5


def test_too_many_faults_are_refused() -> None:
    faults = {f"part{i}": "broken" for i in range(17)}
    with pytest.raises(DecodeError, match="limit is 16"):
        decode(wire(body_of(status()) | {"faults": faults}), DeviceStatus)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=40,
)


@settings(max_examples=300, deadline=None)
@given(key=st.sampled_from(["seq", "shown_at", "room", "device_id", "x"]), value=json_values)
def test_any_json_value_anywhere_is_a_decode_error_or_a_message(key: str, value: Any) -> None:
    payload = json.dumps(body_of(ack()) | {key: value}).encode()
    for result in _decode_both(payload, Ack):
        assert result is None or isinstance(result, Ack)


@settings(max_examples=300, deadline=None)
@given(payload=st.binary(max_size=MAX_PAYLOAD + 10))
def test_any_bytes_are_a_decode_error_or_a_message(payload: bytes) -> None:
    for result in _decode_both(payload, Event):
        assert result is None or isinstance(result, Event)
