"""A real SMTP server on loopback (aiosmtpd), STARTTLS with its own CA and AUTH, that keeps
every message it accepts and can answer as a busy or broken server would.

The demo's mail sink (``roomcast demo --relay``) and the relay's tests run this one class.
It speaks what a district's mail server speaks (STARTTLS required, AUTH LOGIN/PLAIN), so
the hub's email destination is shown the way a school would run it, not over plain SMTP.
``aiosmtpd``'s controller runs the server on its own loop in a thread, as a mail server
is a separate process to the hub. aiosmtpd is imported only by this module, which only
``roomcast demo --relay`` and the tests load: the hub never needs it (it sends with the
standard library's ``smtplib``), so it is the ``demo`` extra, not a hub dependency.
"""

from __future__ import annotations

import asyncio
import contextlib
import email
import email.policy
import json
import logging
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

from roomcast.receivers import Authority, file_name


@dataclass(frozen=True)
class Mail:
    sender: str
    recipients: list[str]
    message: EmailMessage
    tls: bool
    """Whether the message came over TLS (STARTTLS or implicit)."""
    user: str | None
    """Who logged in, or None."""
    arrived: float = 0.0
    """time.monotonic() when the server accepted it."""

    @property
    def subject(self) -> str:
        return str(self.message["Subject"])

    @property
    def key(self) -> str:
        """The relay's idempotency key (``X-Roomcast-Id``)."""
        return str(self.message["X-Roomcast-Id"])

    @property
    def text(self) -> str:
        part = self.message.get_body(("plain",))
        assert part is not None
        return str(part.get_content())


class SmtpServer:
    """Bound at once (so its port is known) but listening only after :meth:`start`; until
    then a connection is refused, as from a mail server that is down."""

    def __init__(
        self,
        authority: Authority,
        *,
        login: tuple[str, str],
        implicit_tls: bool = False,
        keep_in: Path | None = None,
    ) -> None:
        self.mail: list[Mail] = []
        self.reply: Callable[[int], str] = lambda _: "250 OK"
        """The DATA reply for the n-th message (1-based): '451 ...' for a busy server."""
        self.tried = 0
        self._login = (login[0].encode(), login[1].encode())
        self._keep_in = keep_in
        self._changed = threading.Condition()
        self._context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self._context.load_cert_chain(authority.cert_file, authority.key_file)
        self.implicit_tls = implicit_tls
        self._holder = socket.socket()
        self._holder.bind(("127.0.0.1", 0))  # reserved, not listening: refused
        self.port = int(self._holder.getsockname()[1])
        self._controller: Controller | None = None

    def start(self) -> None:
        # aiosmtpd warns of a deprecation of its own on every login (Session.login_data):
        # noise in the demo's terminal and the benchmark's, nothing a person can act on.
        logging.getLogger("mail.log").setLevel(logging.ERROR)
        self._holder.close()
        tls: dict[str, Any] = (
            # aiosmtpd counts only STARTTLS as TLS for AUTH; this socket is TLS from its
            # first byte (the test that uses it ignores aiosmtpd's warning about that).
            {"ssl_context": self._context, "auth_require_tls": False}
            if self.implicit_tls
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

    def _authenticate(
        self, server: SMTP, session: Session, envelope: Envelope, mechanism: str, data: Any
    ) -> AuthResult:
        good = isinstance(data, LoginPassword) and (data.login, data.password) == self._login
        return AuthResult(success=good, auth_data=self._login[0].decode() if good else None)

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        with self._changed:
            self.tried += 1
            answer = self.reply(self.tried)
            if answer.startswith("250"):
                raw = envelope.original_content or envelope.content
                assert isinstance(raw, bytes)
                parsed = email.message_from_bytes(raw, policy=email.policy.default)
                assert isinstance(parsed, EmailMessage)
                mail = Mail(
                    str(envelope.mail_from),
                    list(envelope.rcpt_tos),
                    parsed,
                    session.ssl is not None or self.implicit_tls,
                    session.auth_data if session.authenticated else None,
                    time.monotonic(),
                )
                self.mail.append(mail)
                self._keep(mail, raw)
            self._changed.notify_all()
        return answer

    def _keep(self, mail: Mail, raw: bytes) -> None:
        if self._keep_in is None:
            return
        name = file_name(len(self.mail), mail.key, ".eml")
        (self._keep_in / name).write_bytes(raw)
        line = {"file": name, "key": mail.key, "subject": mail.subject, "tls": mail.tls}
        with (self._keep_in / "received.log").open("a", encoding="utf-8") as log:
            log.write(json.dumps(line) + "\n")

    def first(self, key: str) -> Mail | None:
        """The first accepted message with idempotency key ``key``, if any."""
        with self._changed:
            return next((m for m in self.mail if m.key == key), None)

    def wait_for(self, predicate: Callable[[], bool], *, within_s: float) -> bool:
        """Block until ``predicate()`` holds (checked on every message), at most
        ``within_s``; whether it held."""
        with self._changed:
            return self._changed.wait_for(predicate, within_s)

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
