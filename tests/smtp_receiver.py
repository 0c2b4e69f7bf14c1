"""A real SMTP server on loopback (aiosmtpd), STARTTLS with the test's own CA and AUTH,
that records every message it accepts and can answer as a busy or broken server would.

``aiosmtpd``'s controller runs the server on its own loop in a thread, as a mail server is
a separate process to the hub; a test waits for what it expects with a bound.
"""

from __future__ import annotations

import asyncio
import contextlib
import email
import email.policy
import socket
import ssl
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

from provisioning.throwaway import ThrowawaySite
from tests.relay_receiver import FAST, Authority, _toml, write_relay

USER, PASSWORD = "roomcast", "mail-password-0123"


@dataclass(frozen=True)
class Mail:
    sender: str
    recipients: list[str]
    message: EmailMessage
    tls: bool
    """Whether the message came over TLS (STARTTLS or implicit)."""
    user: str | None
    """Who logged in, or None."""

    @property
    def subject(self) -> str:
        return str(self.message["Subject"])

    @property
    def text(self) -> str:
        part = self.message.get_body(("plain",))
        assert part is not None
        return str(part.get_content())  # type: ignore[attr-defined]


class SmtpServer:
    """Bound at once (so its port is known) but listening only after :meth:`start`; until
    then a connection is refused, as from a mail server that is down."""

    def __init__(self, authority: Authority, *, implicit_tls: bool = False) -> None:
        self.mail: list[Mail] = []
        self.reply: Callable[[int], str] = lambda _: "250 OK"
        """The DATA reply for the n-th message (1-based): '451 ...' for a busy server."""
        self.tried = 0
        self._changed = threading.Condition()
        self._context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self._context.load_cert_chain(authority.cert_file, authority.key_file)
        self._implicit = implicit_tls
        self._holder = socket.socket()
        self._holder.bind(("127.0.0.1", 0))  # reserved, not listening: refused
        self.port = int(self._holder.getsockname()[1])
        self._controller: Controller | None = None

    def start(self) -> None:
        self._holder.close()
        tls: dict[str, Any] = (
            # aiosmtpd counts only STARTTLS as TLS for AUTH; this socket is TLS from its
            # first byte (the test that uses it ignores aiosmtpd's warning about that).
            {"ssl_context": self._context, "auth_require_tls": False}
            if self._implicit
            else {"tls_context": self._context, "require_starttls": True}
        )
        self._controller = Controller(
            self,
            hostname="127.0.0.1",
            port=self.port,
            authenticator=self._authenticate,
            auth_required=True,
            **tls,
        )
        self._controller.start()

    def close(self) -> None:
        if self._controller is not None:
            self._controller.stop()
        self._holder.close()

    @staticmethod
    def _authenticate(
        server: SMTP, session: Session, envelope: Envelope, mechanism: str, data: Any
    ) -> AuthResult:
        good = isinstance(data, LoginPassword) and (data.login, data.password) == (
            USER.encode(),
            PASSWORD.encode(),
        )
        return AuthResult(success=good, auth_data=USER if good else None)

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        with self._changed:
            self.tried += 1
            answer = self.reply(self.tried)
            if answer.startswith("250"):
                raw = envelope.original_content or envelope.content
                assert isinstance(raw, bytes)
                parsed = email.message_from_bytes(raw, policy=email.policy.default)
                assert isinstance(parsed, EmailMessage)
                self.mail.append(
                    Mail(
                        str(envelope.mail_from),
                        list(envelope.rcpt_tos),
                        parsed,
                        session.ssl is not None or self._implicit,
                        session.auth_data if session.authenticated else None,
                    )
                )
            self._changed.notify_all()
        return answer

    async def until(
        self, predicate: Callable[[list[Mail]], bool], *, within_s: float = 10.0
    ) -> list[Mail]:
        """Wait (off the loop) until ``predicate(mail)`` holds; fail after ``within_s``."""

        def wait() -> bool:
            with self._changed:
                return self._changed.wait_for(lambda: predicate(self.mail), within_s)

        if not await asyncio.to_thread(wait):
            subjects = [m.subject for m in self.mail]
            raise AssertionError(f"smtp: timed out after {within_s} s; got {subjects}")
        with self._changed:
            return list(self.mail)


@contextlib.contextmanager
def serving(server: SmtpServer, *, start: bool = True) -> Iterator[SmtpServer]:
    if start:
        server.start()
    try:
        yield server
    finally:
        server.close()


def mailbox(server: SmtpServer, authority: Authority, **settings: Any) -> dict[str, Any]:
    """An [[email]] table for ``server``, as IT would write it."""
    return (
        {
            "name": "sro",
            "host": "127.0.0.1",
            "port": server.port,
            "security": "tls" if server._implicit else "starttls",
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
