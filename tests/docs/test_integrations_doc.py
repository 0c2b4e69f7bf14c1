"""docs/integrations.md: its schema is the one the tests hold bodies to, and its receiver
example accepts what the hub signs (and refuses anything else)."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path
from typing import Any

import jsonschema

from hub.relay.webhook import signature

DOCS = Path(__file__).resolve().parents[2] / "docs"
TEXT = (DOCS / "integrations.md").read_text(encoding="utf-8")


def _blocks(language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", TEXT, re.DOTALL)


def test_the_documented_schema_is_the_schema_file_and_is_valid_2020_12() -> None:
    (documented,) = [json.loads(block) for block in _blocks("json")]
    assert documented == json.loads((DOCS / "webhook.schema.json").read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator.check_schema(documented)


def test_the_receiver_example_checks_what_the_hub_signs() -> None:
    (example,) = _blocks("python")
    namespace: dict[str, Any] = {}
    exec(example, namespace)
    verify = namespace["verify"]
    body, now = b'{"id":"event:abc"}', str(int(time.time()))
    headers = {"x-roomcast-timestamp": now, "x-roomcast-signature": signature(b"s" * 16, now, body)}
    assert verify(b"s" * 16, headers, body)
    assert not verify(b"t" * 16, headers, body)
    assert not verify(b"s" * 16, headers, body + b" ")
    stale = str(int(time.time()) - 3600)
    old = {"x-roomcast-timestamp": stale, "x-roomcast-signature": signature(b"s" * 16, stale, body)}
    assert not verify(b"s" * 16, old, body)
