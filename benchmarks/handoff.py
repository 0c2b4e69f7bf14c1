"""Hand-offs beyond the building: press to webhook received, press to email accepted.

The last phase of a run. The hub is restarted with a ``relay.toml`` naming two receivers on
loopback, run by the harness itself (:mod:`roomcast.receivers`, :mod:`roomcast.smtp_sink`,
the demo's): an HTTPS webhook receiver with its own CA, which checks every signature, and
an SMTP server with STARTTLS and AUTH, as a district's would be. A relay from the start
would put its work into every other phase's numbers; a restart keeps them comparable with
earlier runs, and a new destination's cursor starts at the present, so only this phase's
presses are handed off.

Each press is timed from the moment the harness asks the simulator to press (so the press
itself, the hub's record, the relay's queue and the delivery are all inside) to the
moment the receiver has the request, or the mail server has accepted the message; both
clocks are this process's ``time.monotonic()``. Presses are ``interval_s`` apart (a
school's presses are seconds apart, not a flood), so the numbers are one hand-off's
latency, not a queue's; nothing may be lost, and a repeat (the same key twice) is
counted.
"""

from __future__ import annotations

import contextlib
import secrets
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmarks.stack import Stack
from benchmarks.stats import summary
from roomcast.receivers import Receiver, make_authority
from roomcast.smtp_sink import SmtpServer

MAIL_USER = "roomcast-bench"
WAIT_S = 30.0
"""How long after the last press every hand-off must have arrived."""


@dataclass
class Receivers:
    webhook: Receiver
    smtp: SmtpServer
    relay_toml: str


@contextlib.contextmanager
def receivers(folder: Path) -> Iterator[Receivers]:
    """A started webhook receiver and SMTP server, and the relay.toml that names them."""
    authority = make_authority(folder, "roomcast-bench-receivers")
    secret, password = secrets.token_hex(24), secrets.token_urlsafe(18)
    webhook = Receiver(authority, secret=secret.encode())
    smtp = SmtpServer(authority, login=(MAIL_USER, password))
    ca = authority.ca_file
    relay_toml = f"""\
[site]
name = "Benchmark School"
console_url = "http://127.0.0.1"
latitude = 39.78
longitude = -89.65
[site.address]
street = "1 Bench Way"
city = "Springfield"
region = "IL"
postal_code = "62701"
country = "US"

[[webhook]]
name = "dispatch"
url = "{webhook.url()}"
ca_file = "{ca}"
secret = "{secret}"

[[email]]
name = "sro"
host = "127.0.0.1"
port = {smtp.port}
security = "starttls"
ca_file = "{ca}"
username = "{MAIL_USER}"
password = "{password}"
from = "roomcast@bench.invalid"
to = ["sro@bench.invalid"]
"""
    webhook.start()
    try:
        smtp.start()
        try:
            yield Receivers(webhook, smtp, relay_toml)
        finally:
            smtp.close()
    finally:
        webhook.close()


def restart_hub_with_relay(stack: Stack, found: Receivers) -> None:
    """Stop the hub, give it the relay.toml, start it again (rooms stay connected)."""
    assert stack.hub is not None
    stack.children.stop(stack.hub)
    path = stack.site.hub.dir / "relay.toml"
    path.write_text(found.relay_toml, encoding="utf-8")
    path.chmod(0o600)  # it holds a secret and a password
    stack.start_hub()


def handoff_phase(
    stack: Stack, found: Receivers, presses: int, interval_s: float
) -> dict[str, Any]:
    rooms = stack.simulated_rooms
    started: dict[str, float] = {}
    for index in range(presses):
        at = time.monotonic()
        started[f"event:{stack.press(rooms[index % len(rooms)])}"] = at
        time.sleep(interval_s)
    wanted = set(started)
    webhook, smtp = found.webhook, found.smtp
    webhook.wait_for(lambda: wanted <= set(webhook.accepted_keys()), within_s=WAIT_S)
    smtp.wait_for(lambda: wanted <= {m.key for m in smtp.mail}, within_s=WAIT_S)
    hooks = {key: r for key in wanted if (r := webhook.first(key)) is not None}
    mails = {key: m for key in wanted if (m := smtp.first(key)) is not None}
    hook_keys = [key for key in webhook.accepted_keys() if key in wanted]
    mail_keys = [m.key for m in list(smtp.mail) if m.key in wanted]
    return {
        "presses": presses,
        "interval_ms": round(interval_s * 1000),
        "webhook": {
            "received": len(hooks),
            "lost": sorted(wanted - set(hooks)),
            "repeats": len(hook_keys) - len(set(hook_keys)),
            "signatures_valid": all(r.verified for r in hooks.values()),
            "press_to_received_ms": summary(
                [(r.arrived - started[key]) * 1000 for key, r in hooks.items()]
            ),
        },
        "email": {
            "accepted": len(mails),
            "lost": sorted(wanted - set(mails)),
            "repeats": len(mail_keys) - len(set(mail_keys)),
            "press_to_accepted_ms": summary(
                [(m.arrived - started[key]) * 1000 for key, m in mails.items()]
            ),
        },
    }
