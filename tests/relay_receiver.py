"""The relay tests' HTTPS webhook receiver (:mod:`roomcast.receivers`, the demo's too) and
the relay.toml they write for it.

The receiver is a threaded ``http.server`` behind ``ssl`` with the test's own CA: the relay
talks to it exactly as to a dispatch centre. Each test scripts the answers (``reply``);
every request is kept with its headers, its body and when it arrived, and a test waits for
what it expects with a bound.
"""

from __future__ import annotations

import json
from typing import Any

from provisioning.throwaway import ThrowawaySite
from roomcast.receivers import (
    Authority,
    Received,
    Receiver,
    Reply,
    make_authority,
    running,
)

__all__ = [
    "FAST",
    "SECRET",
    "Authority",
    "Received",
    "Receiver",
    "Reply",
    "hook",
    "make_authority",
    "running",
    "write_relay",
]

SECRET = "test-secret-0123456789abcdef"
FAST = {"timeout_s": 2.0, "backoff_initial_s": 0.05, "backoff_max_s": 0.2}
"""Quick retries; a timeout long enough for a TLS handshake on a loaded machine (a test of
timeouts sets its own), so an attempt that did arrive is not repeated for being slow."""


def _toml(value: Any) -> str:
    return json.dumps(value) if not isinstance(value, bool) else str(value).lower()


def write_relay(site: ThrowawaySite, hooks: list[dict[str, Any]]) -> None:
    """relay.toml beside hub.json, as IT would write it."""
    lines = [
        "poll_s = 0.2",
        "[site]",
        'name = "Lincoln Elementary"',
        'console_url = "https://hub.lincoln.example.org"',
        "latitude = 30.2672",
        "longitude = -97.7431",
        "[site.address]",
        'street = "100 Main St"',
        'city = "Austin"',
        'region = "TX"',
        'postal_code = "78701"',
        'country = "US"',
    ]
    for hook in hooks:
        lines.append("[[webhook]]")
        lines += [f"{key} = {_toml(value)}" for key, value in ({"secret": SECRET} | hook).items()]
    (site.hub.dir / "relay.toml").write_text("\n".join(lines) + "\n", encoding="utf-8")


def hook(receiver: Receiver, authority: Authority, **settings: Any) -> dict[str, Any]:
    return (
        {
            "name": "dispatch",
            "url": receiver.url(),
            "ca_file": str(authority.ca_file),
        }
        | FAST
        | settings
    )
