"""The email destination: one SMTP submission per message, off the event loop.

The standard library's ``smtplib`` and ``email.message`` are used rather than an asyncio
SMTP client: a hub sends a handful of alert emails a day, smtplib is maintained with
Python itself and has STARTTLS, implicit TLS and AUTH, and every new dependency on a
life-safety hub is one more thing to audit and keep patched. Its blocking calls run in a
worker thread (``asyncio.to_thread``), under a socket timeout and an overall deadline, so
a mail server that hangs never holds the loop or the other destinations.

TLS is verified against the system's CAs or the destination's ``ca_file``; plain SMTP is
allowed only to loopback (the configuration refuses it otherwise). SMTP has no
Retry-After: a 4xx reply is retried with back-off, and so is a 5xx (recorded as
permanent), because an alert is never given up on and a person can fix the server.
"""

from __future__ import annotations

import asyncio
import smtplib
import ssl
import time
from collections.abc import Callable
from email.message import EmailMessage

from hub.relay.config import EmailDestination, Security
from hub.relay.connection import describe_error, tls_context
from hub.relay.mail_text import compose
from hub.relay.messages import Message
from hub.relay.store import Attempt, Pending, body_json

_FAILURES = (smtplib.SMTPException, TimeoutError, ssl.SSLError, OSError)


def describe_reply(error: smtplib.SMTPException) -> tuple[int | None, str]:
    """(the SMTP code, a person's words) for a refusal; 5xx is said to be permanent."""
    reply: bytes | str
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        code, reply = min(error.recipients.values())  # all refused: the first reason
    elif isinstance(error, smtplib.SMTPResponseException):
        code, reply = error.smtp_code, error.smtp_error
    elif isinstance(error, smtplib.SMTPNotSupportedError):
        return None, f"smtp: {error}"
    else:
        return None, describe_error(error)
    words = reply.decode("utf-8", "replace") if isinstance(reply, bytes) else str(reply)
    kind = " (permanent)" if 500 <= code < 600 else ""
    return code, f"smtp {code} {words}{kind}".strip()


class EmailSender:
    """Submits to one mail server; a new SMTP session per attempt (alerts are rare, and a
    held-open session would only fail at the worst moment)."""

    def __init__(
        self, destination: EmailDestination, *, clock: Callable[[], float] = time.time
    ) -> None:
        self.destination = destination
        self._now = clock
        self._tls = None if destination.security is Security.NONE else tls_context(destination)

    @property
    def settings(self) -> EmailDestination:
        return self.destination

    @property
    def name(self) -> str:
        return self.destination.name

    def takes(self, message: Message) -> bool:
        return self.destination.takes(message.kind, message.drill)

    async def aclose(self) -> None:
        pass  # nothing held between attempts

    def compose(self, pending: Pending) -> EmailMessage:
        body = body_json(pending.body)
        email = compose(
            body, sender=self.destination.sender, recipients=self.destination.recipients
        )
        email["X-Roomcast-Attempt"] = str(pending.attempts + 1)
        return email

    async def send(self, pending: Pending) -> tuple[Attempt, bool]:
        """One attempt: (what happened, delivered?). Never raises but on cancellation."""
        started, at = time.monotonic(), self._now()
        email = self.compose(pending)
        try:
            # The socket timeout bounds each read; this bounds the whole conversation.
            async with asyncio.timeout(self.destination.timeout_s):
                refused = await asyncio.to_thread(self._submit, email)
        except _FAILURES as error:
            took = (time.monotonic() - started) * 1000
            if isinstance(error, smtplib.SMTPException):
                code, result = describe_reply(error)
            else:
                code, result = None, describe_error(error)
            return Attempt(at, took, code, result), False
        took = (time.monotonic() - started) * 1000
        result = "delivered"
        if refused:  # some took it: sending again would repeat it to them, so it is done
            result += "; refused: " + ", ".join(f"{a} ({c})" for a, (c, _) in refused.items())
        return Attempt(at, took, 250, result), True

    def _submit(self, email: EmailMessage) -> dict[str, tuple[int, bytes]]:
        """The SMTP conversation, in a worker thread: the recipients refused, if some were."""
        server, timeout = self.destination, self.destination.timeout_s
        smtp: smtplib.SMTP
        if server.security is Security.TLS:
            smtp = smtplib.SMTP_SSL(server.host, server.port, timeout=timeout, context=self._tls)
        else:
            smtp = smtplib.SMTP(server.host, server.port, timeout=timeout)
        with smtp:
            smtp.ehlo()
            if server.security is Security.STARTTLS:
                smtp.starttls(context=self._tls)  # raises if the server does not offer it
                smtp.ehlo()
            if server.username is not None and server.password is not None:
                smtp.login(server.username, server.password)
            return smtp.send_message(email, server.sender, list(server.recipients))
