"""The webhook destination: one signed HTTPS POST per message, never blocking the loop.

The signature is HMAC-SHA256, keyed with the destination's secret, over
``<timestamp>.<body>``: the receiver checks origin (the secret) and freshness (the
timestamp, which the signature covers, so it cannot be moved). TLS is verified against the
system's CAs or the destination's own CA file; plain http exists only for loopback (the
configuration refuses it otherwise). Every attempt has a deadline; what happened becomes
an :class:`Attempt` for the record, never an exception for the caller.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import ssl
import time
from collections.abc import Callable
from email.utils import parsedate_to_datetime

import httpx

from hub.relay import connection
from hub.relay.config import WebhookDestination
from hub.relay.connection import tls_context
from hub.relay.messages import Message
from hub.relay.store import Attempt, Pending

USER_AGENT = "roomcast-relay/1"
RETRY_AFTER_STATUSES = frozenset({429, 503})


def signature(secret: bytes, timestamp: str, body: bytes) -> str:
    """``sha256=<hex>``, as the ``X-Roomcast-Signature`` header carries it."""
    digest = hmac.new(secret, timestamp.encode("ascii") + b"." + body, hashlib.sha256)
    return f"sha256={digest.hexdigest()}"


def retry_after_s(value: str | None, *, now: float) -> float | None:
    """``Retry-After`` as seconds from now: delta-seconds or an HTTP date (RFC 9110)."""
    if value is None:
        return None
    text = value.strip()
    if text.isdigit():
        return float(text)
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        return None
    return max(0.0, when.timestamp() - now)


def describe_error(error: BaseException) -> str:
    """A person's words for a failed attempt (httpx's own timeouts are timeouts too)."""
    if isinstance(error, httpx.TimeoutException):
        return "timeout"
    return connection.describe_error(error)


class WebhookSender:
    """POSTs to one destination through its own client (its pool, its TLS, its limits)."""

    def __init__(
        self, destination: WebhookDestination, *, clock: Callable[[], float] = time.time
    ) -> None:
        self.destination = destination
        self._now = clock
        self._client = httpx.AsyncClient(
            verify=tls_context(destination),
            timeout=destination.timeout_s,
            follow_redirects=False,  # a redirect could carry an alert somewhere unchecked
            trust_env=False,  # no proxy from the environment between the hub and dispatch
        )

    @property
    def settings(self) -> WebhookDestination:
        return self.destination

    @property
    def name(self) -> str:
        return self.destination.name

    def takes(self, message: Message) -> bool:
        return self.destination.takes(message.kind, message.drill)

    async def aclose(self) -> None:
        await self._client.aclose()

    def headers(self, pending: Pending) -> dict[str, str]:
        timestamp = str(int(self._now()))
        return {
            "Content-Type": "application/json",
            "User-Agent": USER_AGENT,
            "Idempotency-Key": pending.key,
            "X-Roomcast-Timestamp": timestamp,
            "X-Roomcast-Signature": signature(self.destination.secret, timestamp, pending.body),
            "X-Roomcast-Attempt": str(pending.attempts + 1),
        }

    async def send(self, pending: Pending) -> tuple[Attempt, bool]:
        """One attempt: (what happened, delivered?). Never raises but on cancellation."""
        started, at = time.monotonic(), self._now()
        try:
            async with asyncio.timeout(self.destination.timeout_s):
                response = await self._client.post(
                    self.destination.url, content=pending.body, headers=self.headers(pending)
                )
        except (httpx.HTTPError, TimeoutError, ssl.SSLError, OSError) as error:
            took = (time.monotonic() - started) * 1000
            return Attempt(at, took, None, describe_error(error)), False
        took = (time.monotonic() - started) * 1000
        if response.is_success:
            return Attempt(at, took, response.status_code, "delivered"), True
        wait = None
        if response.status_code in RETRY_AFTER_STATUSES:
            wait = retry_after_s(response.headers.get("retry-after"), now=self._now())
        result = f"http {response.status_code} {response.reason_phrase}".strip()
        return Attempt(at, took, response.status_code, result, retry_in_s=wait), False
