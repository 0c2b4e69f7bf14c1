"""Property-based tests (hypothesis) on every decoder and on the effective-directive rule."""

from __future__ import annotations

import contextlib
import json
import random

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from protocol.codec import DecodeError, decode, decode_any, encode
from protocol.messages import (
    MAX_HEADCOUNT,
    MESSAGE_TYPES,
    Ack,
    Directive,
    Event,
    EventKind,
    Receipt,
    Roll,
)
from protocol.rules import DirectiveBook, combine
from protocol.srp import Action, is_idle
from protocol.topics import ScopeKind

LEVEL = st.from_regex(r"[a-z0-9_-]{1,12}", fullmatch=True)
TIME = st.floats(min_value=0, max_value=4e9, allow_nan=False)
TYPES = list(MESSAGE_TYPES.values())
JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=12,
)


@given(st.binary(max_size=5000), st.sampled_from(TYPES))
def test_any_bytes_decode_or_fail_cleanly(payload: bytes, expected: type) -> None:
    try:
        decode(payload, expected)
    except DecodeError as error:
        assert error.reason


@given(st.dictionaries(st.text(max_size=12), JSON, max_size=10), st.sampled_from(TYPES))
def test_any_json_object_decodes_or_fails_cleanly(body: dict[str, object], kind: type) -> None:
    body |= {"v": 1, "type": kind.TYPE}  # type: ignore[attr-defined]
    try:
        message = decode_any(json.dumps(body).encode())
    except DecodeError:
        return
    assert decode_any(encode(message)) == message  # whatever decodes, round-trips


@st.composite
def directives(draw: st.DrawFn, seq: st.SearchStrategy[int] | None = None) -> Directive:
    scope = draw(st.sampled_from(ScopeKind))
    action = draw(st.sampled_from([a for a in Action if a is not Action.RELEASE]))
    if scope is ScopeKind.ROOM and draw(st.booleans()):
        action = Action.RELEASE
    return Directive(
        seq=draw(st.integers(1, 2**40) if seq is None else seq),
        issued_at=draw(TIME),
        scope=scope,
        target="" if scope is ScopeKind.SITE else draw(st.sampled_from(["a", "b", "101"])),
        action=action,
        drill=draw(st.booleans()),
        location="Flag pole" if action is Action.EVACUATE else None,
        hazard="tornado" if action is Action.SHELTER else None,
        strategy="Drop, cover and hold" if action is Action.SHELTER else None,
        issued_by=draw(LEVEL),
    )


COUNT = st.none() | st.integers(0, MAX_HEADCOUNT)


@st.composite
def rolls(draw: st.DrawFn) -> Roll:
    return Roll(
        missing=draw(COUNT), extra=draw(COUNT), injured=draw(COUNT), help=draw(st.booleans())
    )


@st.composite
def any_message(draw: st.DrawFn) -> object:
    device, room = draw(LEVEL), draw(LEVEL)
    kind = draw(st.sampled_from([k for k in EventKind if k is not EventKind.CANCEL]))
    return draw(
        st.sampled_from(
            [
                draw(directives()),
                Ack(
                    device_id=device,
                    room=room,
                    seq=draw(st.integers(1, 2**40)),
                    shown_at=draw(TIME),
                ),
                Receipt(event_id=draw(LEVEL), received_at=draw(TIME)),
                Event(
                    event_id=draw(LEVEL),
                    device_id=device,
                    room=room,
                    kind=kind,
                    created_at=draw(TIME),
                    seq=draw(st.integers(1, 2**40)) if kind is EventKind.ROLL else None,
                    roll=draw(rolls()) if kind is EventKind.ROLL else None,
                ),
            ]
        )
    )


@given(any_message())
def test_every_valid_message_round_trips(message: object) -> None:
    assert decode_any(encode(message)) == message  # type: ignore[arg-type]


@settings(suppress_health_check=[HealthCheck.too_slow])
@given(any_message(), st.randoms(use_true_random=False))
def test_mutated_payloads_decode_or_fail_cleanly(message: object, rng: random.Random) -> None:
    payload = bytearray(encode(message))  # type: ignore[arg-type]
    for _ in range(rng.randint(1, 4)):
        position = rng.randrange(len(payload))
        match rng.randrange(3):
            case 0:
                payload[position] = rng.randrange(256)
            case 1:
                del payload[position]
            case _:
                payload.insert(position, rng.randrange(256))
    with contextlib.suppress(DecodeError):  # anything else escaping is the failure
        decode_any(bytes(payload))


@given(
    st.lists(directives(seq=st.integers(1, 60)), max_size=25, unique_by=lambda d: d.seq),
    st.randoms(use_true_random=False),
)
def test_effective_directive_follows_the_rule_in_any_order_and_never_unlocks(
    issued: list[Directive], rng: random.Random
) -> None:
    room, building = "101", "a"
    newest: dict[tuple[ScopeKind, str], Directive] = {}
    for d in sorted(issued, key=lambda d: d.seq):
        newest[(d.scope, d.target)] = d
    covering = [
        d
        for (scope, target), d in newest.items()
        if scope is ScopeKind.SITE
        or (scope is ScopeKind.BUILDING and target == building)
        or (scope is ScopeKind.ROOM and target == room)
    ]
    expected = combine(covering)
    for order in (issued, rng.sample(issued, len(issued))):
        book = DirectiveBook()
        for directive in order:
            book.offer(directive)
        assert book.effective(room=room, building=building) == expected
    lockdowns = [d for d in covering if d.action is Action.LOCKDOWN]
    enders = [d for d in covering if is_idle(d.action)]
    if lockdowns and all(e.seq < max(d.seq for d in lockdowns) for e in enders):
        assert expected is not None and expected.action is Action.LOCKDOWN
