"""docs/protocol.md is normative: every example payload on it decodes with the real codec."""

from __future__ import annotations

import json
import re
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from protocol.codec import decode_any
from protocol.district import WIRE_TYPES, DistrictRequest
from protocol.messages import Command, Directive
from protocol.signing import verify

DOC = Path(__file__).resolve().parents[2] / "docs" / "protocol.md"


def _examples() -> list[bytes]:
    blocks = re.findall(r"```json\n(.*?)```", DOC.read_text(encoding="utf-8"), re.DOTALL)
    return [json.dumps(json.loads(block)).encode() for block in blocks]


def test_every_message_type_has_an_example_that_decodes() -> None:
    decoded = [decode_any(example) for example in _examples()]
    assert {message.TYPE for message in decoded} == set(WIRE_TYPES)


def test_the_signed_examples_are_signed_by_the_documented_test_key() -> None:
    signed = [
        m
        for m in map(decode_any, _examples())
        if isinstance(m, Directive | Command | DistrictRequest)
    ]
    key = Ed25519PrivateKey.from_private_bytes(bytes(range(32)))
    assert len(signed) == 3
    for message in signed:
        verify(message, key.public_key())
