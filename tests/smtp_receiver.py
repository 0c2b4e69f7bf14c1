"""The relay tests' SMTP server (:mod:`roomcast.smtp_sink`, the demo's sink too) with the
tests' login, and the ``[[email]]`` tables they write for it.

``aiosmtpd``'s controller runs the server on its own loop in a thread, as a mail server is
a separate process to the hub; a test waits for what it expects with a bound.
"""

from __future__ import annotations

from typing import Any

from provisioning.throwaway import ThrowawaySite
from roomcast import smtp_sink
from roomcast.smtp_sink import Mail, serving
from tests.relay_receiver import FAST, Authority, _toml, write_relay

__all__ = ["PASSWORD", "USER", "Mail", "SmtpServer", "mailbox", "serving"]

USER, PASSWORD = "roomcast", "mail-password-0123"


class SmtpServer(smtp_sink.SmtpServer):
    """The sink, logging in the tests' user (:data:`USER`, :data:`PASSWORD`)."""

    def __init__(self, authority: Authority, *, implicit_tls: bool = False) -> None:
        super().__init__(authority, login=(USER, PASSWORD), implicit_tls=implicit_tls)


def mailbox(server: SmtpServer, authority: Authority, **settings: Any) -> dict[str, Any]:
    """An [[email]] table for ``server``, as IT would write it."""
    return (
        {
            "name": "sro",
            "host": "127.0.0.1",
            "port": server.port,
            "security": "tls" if server.implicit_tls else "starttls",
            "username": USER,
            "password": PASSWORD,
            "from": "roomcast@lincoln.example.org",
            "to": ["sro@district.example.org", "principal@lincoln.example.org"],
            "ca_file": str(authority.ca_file),
        }
        | FAST
        | {"timeout_s": 3.0}  # a TLS handshake and AUTH on a busy test machine
        | settings
    )


def write_relay_with_email(
    site: ThrowawaySite, hooks: list[dict[str, Any]], emails: list[dict[str, Any]]
) -> None:
    """relay.toml with webhooks (tests/relay_receiver.py's writer) and [[email]] tables."""
    write_relay(site, hooks)
    lines = []
    for table in emails:
        lines.append("[[email]]")
        lines += [f"{key} = {_toml(value)}" for key, value in table.items()]
    path = site.hub.dir / "relay.toml"
    with path.open("a", encoding="utf-8") as file:
        file.write("\n".join(lines) + "\n")
