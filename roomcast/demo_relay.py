"""`roomcast demo --relay`: what dispatch, the office's inboxes and the signage would be.

Three real receivers on loopback, beside the demo's hub, with a CA of their own (the hub is
told to trust it by ``ca_file``, as a district's CA is): a webhook receiver that checks the
HMAC signature of every request, an SMTP server (STARTTLS and AUTH, as a district's mail
server), and a CAP receiver. The demo writes the ``relay.toml`` that wires the hub to them
(drills included: a demo is all drills), and each keeps what it received in a folder of its
own, one file per message and a ``received.log``, for a person to read. The scenario asks
them when each record arrived, so its report says how long each hand-off took.
"""

from __future__ import annotations

import json
import secrets
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from roomcast.handle import DemoError
from roomcast.receivers import Receiver, make_authority

MAIL_USER = "roomcast-demo"
HANDOFF_TIMEOUT_S = 10.0
"""How long the scenario waits for each record at each receiver."""

SITE_PLACEHOLDERS = """\
poll_s = 0.5

# Placeholders: a school writes its own name, civic address and coordinates here
# (docs/integrations.md): they are what a dispatcher reads to find the building.
[site]
name = "Roomcast Demo School"
console_url = "{console_url}"
latitude = 39.7817
longitude = -89.6501

[site.address]
street = "1 Demo Way"
city = "Springfield"
region = "IL"
postal_code = "62701"
country = "US"
"""


@dataclass(frozen=True)
class Record:
    """Something the scenario did whose hand-offs it reports."""

    key: str
    """The relay's idempotency key: ``event:<id>`` or ``directive:<seq>``."""
    what: str
    """panic, lockdown, release, all_clear ..."""
    started: float
    """time.monotonic() when the button was pressed or the directive was asked for."""


def _toml(value: Any) -> str:
    return json.dumps(value) if not isinstance(value, bool) else str(value).lower()


def _private(path: Path, text: str) -> Path:
    path.write_text(text + "\n", encoding="utf-8")
    path.chmod(0o600)
    return path


class DemoReceivers:
    """The webhook receiver, the SMTP sink and the CAP receiver of one demo."""

    def __init__(self, folder: Path) -> None:
        try:
            from roomcast.smtp_sink import SmtpServer
        except ImportError:
            raise DemoError(
                "--relay needs aiosmtpd for its mail sink: pip install 'roomcast[demo]'"
            ) from None
        self.folder = folder
        for part in ("webhook", "email", "cap"):
            (folder / part).mkdir(parents=True, exist_ok=True)
        self.authority = make_authority(folder / "ca", "roomcast-demo-receivers")
        secret = secrets.token_hex(24)
        self._secret_file = _private(folder / "dispatch.secret", secret)
        password = secrets.token_urlsafe(18)
        self._password_file = _private(folder / "office-email.secret", password)
        self.webhook = Receiver(self.authority, secret=secret.encode(), keep_in=folder / "webhook")
        self.cap = Receiver(self.authority, keep_in=folder / "cap")
        self.smtp = SmtpServer(
            self.authority, login=(MAIL_USER, password), keep_in=folder / "email"
        )

    def start(self) -> None:
        self.webhook.start()
        self.cap.start()
        self.smtp.start()

    def close(self) -> None:
        self.smtp.close()
        self.cap.close()
        self.webhook.close()

    def write_relay_toml(self, path: Path, *, console_url: str) -> None:
        """The hub's relay.toml: one destination of each kind, all on loopback."""
        ca = str(self.authority.ca_file)
        tables: list[tuple[str, dict[str, Any]]] = [
            (
                "webhook",
                {"name": "dispatch", "url": self.webhook.url("/hook"), "ca_file": ca}
                | {"secret_file": str(self._secret_file), "drills": True},
            ),
            (
                "email",
                {"name": "office-email", "host": "127.0.0.1", "port": self.smtp.port}
                | {"security": "starttls", "ca_file": ca, "username": MAIL_USER}
                | {"password_file": str(self._password_file), "drills": True}
                | {"from": "roomcast@demo.invalid", "to": ["office@demo.invalid"]},
            ),
            (
                "cap",
                {"name": "signage", "url": self.cap.url("/cap"), "ca_file": ca, "drills": True},
            ),
        ]
        lines = [SITE_PLACEHOLDERS.format(console_url=console_url)]
        for kind, table in tables:
            lines.append(f"[[{kind}]]")
            lines += [f"{key} = {_toml(value)}" for key, value in table.items()]
            lines.append("")
        path.write_text("\n".join(lines), encoding="utf-8")
        path.chmod(0o600)

    def describe(self) -> list[str]:
        folder = self.folder
        return [
            f"  webhook     {self.webhook.url('/hook')}  (HMAC checked) -> {folder}/webhook/",
            f"  email       smtp://127.0.0.1:{self.smtp.port}  (STARTTLS, AUTH) -> "
            f"{folder}/email/*.eml",
            f"  CAP         {self.cap.url('/cap')} -> {folder}/cap/*.xml",
            "              each folder's received.log lists what arrived, in order",
        ]

    def handoffs(self, records: list[Record]) -> list[dict[str, Any]]:
        """Each record at each receiver: delivered or not, and how long after it started."""
        found = []
        for record in records:
            found += [
                self._webhook_like(record, "dispatch", "webhook", self.webhook),
                self._email(record),
                self._webhook_like(record, "signage", "CAP", self.cap),
            ]
        return found

    def _webhook_like(
        self, record: Record, name: str, kind: str, receiver: Receiver
    ) -> dict[str, Any]:
        receiver.wait_for(lambda: receiver.first(record.key) is not None, within_s=_left(record))
        got = receiver.first(record.key)
        entry = _entry(record, name, kind, None if got is None else got.arrived)
        if kind == "webhook":
            entry["signature_valid"] = None if got is None else got.verified
        return entry

    def _email(self, record: Record) -> dict[str, Any]:
        smtp = self.smtp
        smtp.wait_for(lambda: smtp.first(record.key) is not None, within_s=_left(record))
        got = smtp.first(record.key)
        entry = _entry(record, "office-email", "email", None if got is None else got.arrived)
        entry["subject"] = None if got is None else got.subject
        return entry


def _left(record: Record) -> float:
    return max(0.0, record.started + HANDOFF_TIMEOUT_S - time.monotonic())


def _entry(record: Record, name: str, kind: str, arrived: float | None) -> dict[str, Any]:
    took = None if arrived is None else round((arrived - record.started) * 1000, 1)
    return {
        "key": record.key,
        "what": record.what,
        "destination": name,
        "kind": kind,
        "delivered": arrived is not None,
        "delivery_ms": took,
    }
