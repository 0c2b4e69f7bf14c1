"""Ed25519 signatures on directives: only exactly what the hub signed verifies."""

from __future__ import annotations

import base64
import dataclasses
import json
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from protocol.codec import canonical, decode, encode
from protocol.messages import Directive
from protocol.signing import BadSignature, sign_directive, verify_directive
from protocol.srp import Action
from protocol.topics import ScopeKind
from tests.unit.factories import body_of, directive, wire


@pytest.fixture
def signed(hub_key: Ed25519PrivateKey) -> Directive:
    return sign_directive(
        directive(seq=5, scope=ScopeKind.BUILDING, target="main", drill=True), hub_key
    )


def test_signed_directive_verifies(signed: Directive, hub_key: Ed25519PrivateKey) -> None:
    verify_directive(signed, hub_key.public_key())
    assert len(base64.b64decode(signed.sig, validate=True)) == 64


def test_signing_changes_only_the_sig(signed: Directive) -> None:
    unsigned = directive(seq=5, scope=ScopeKind.BUILDING, target="main", drill=True)
    assert signed.sig
    assert dataclasses.replace(signed, sig="") == unsigned


def test_signature_survives_the_wire(signed: Directive, hub_key: Ed25519PrivateKey) -> None:
    received = decode(encode(signed), Directive)
    verify_directive(received, hub_key.public_key())


def test_signature_survives_the_wire_when_the_time_was_a_whole_number(
    hub_key: Ed25519PrivateKey,
) -> None:
    # A float field given a Python int (valid for a `float` annotation) is encoded as "5"
    # when signed but decodes as 5.0, so the canonical bytes differ on the device.
    signed = sign_directive(directive(issued_at=1_700_000_000), hub_key)
    received = decode(encode(signed), Directive)
    verify_directive(received, hub_key.public_key())


@pytest.mark.parametrize(
    "changes",
    [
        {"action": Action.ALL_CLEAR},
        {"drill": False},
        {"seq": 6},
        {"target": "annex"},
        {"issued_at": 1_700_000_000.5},
        {"issued_by": "intruder"},
        {"note": "Come out"},
    ],
)
def test_any_tampered_field_fails(
    signed: Directive, hub_key: Ed25519PrivateKey, changes: dict[str, Any]
) -> None:
    tampered = dataclasses.replace(signed, **changes)
    with pytest.raises(BadSignature, match="does not match the hub's key"):
        verify_directive(tampered, hub_key.public_key())


def test_tampering_on_the_wire_fails(signed: Directive, hub_key: Ed25519PrivateKey) -> None:
    body = body_of(signed) | {"action": "all_clear"}
    with pytest.raises(BadSignature):
        verify_directive(decode(wire(body), Directive), hub_key.public_key())


def test_another_key_fails(signed: Directive, other_key: Ed25519PrivateKey) -> None:
    with pytest.raises(BadSignature, match="does not match the hub's key"):
        verify_directive(signed, other_key.public_key())


def test_signature_made_by_another_key_fails(
    hub_key: Ed25519PrivateKey, other_key: Ed25519PrivateKey
) -> None:
    forged = sign_directive(directive(), other_key)
    with pytest.raises(BadSignature):
        verify_directive(forged, hub_key.public_key())


def test_unsigned_directive_fails(hub_key: Ed25519PrivateKey) -> None:
    with pytest.raises(BadSignature, match=r"^directive is unsigned$"):
        verify_directive(directive(), hub_key.public_key())


@pytest.mark.parametrize("sig", ["not base64!", "abc", "ab=c", "****"])
def test_non_base64_signature_fails(sig: str, hub_key: Ed25519PrivateKey) -> None:
    with pytest.raises(BadSignature, match=r"^signature is not base64$"):
        verify_directive(directive(sig=sig), hub_key.public_key())


def test_base64_of_the_wrong_length_fails(signed: Directive, hub_key: Ed25519PrivateKey) -> None:
    truncated = base64.b64encode(base64.b64decode(signed.sig)[:32]).decode()
    with pytest.raises(BadSignature, match="does not match"):
        verify_directive(dataclasses.replace(signed, sig=truncated), hub_key.public_key())


def test_replayed_signature_from_another_directive_fails(
    signed: Directive, hub_key: Ed25519PrivateKey
) -> None:
    other = sign_directive(directive(seq=99, action=Action.ALL_CLEAR), hub_key)
    with pytest.raises(BadSignature):
        verify_directive(dataclasses.replace(signed, sig=other.sig), hub_key.public_key())


def test_canonical_encoding_is_sorted_and_leaves_out_the_sig(signed: Directive) -> None:
    data = canonical(signed, without="sig")
    body = json.loads(data)
    assert "sig" not in body
    assert list(body) == sorted(body)
    assert body["v"] == 1 and body["type"] == "directive"
    assert data == canonical(dataclasses.replace(signed, sig=""), without="sig")


def test_canonical_encoding_is_independent_of_field_order(
    signed: Directive, hub_key: Ed25519PrivateKey
) -> None:
    body = body_of(signed)
    reordered = dict(reversed(list(body.items())))
    assert wire(reordered) != wire(body)
    received = decode(wire(reordered), Directive)
    assert canonical(received, without="sig") == canonical(signed, without="sig")
    verify_directive(received, hub_key.public_key())
