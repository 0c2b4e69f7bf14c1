"""The CAP destination: a CAP 1.2 alert POSTed over the webhook's own wire.

Everything but the body and its headers is the webhook's (:mod:`hub.relay.webhook`):
verified TLS, a deadline per attempt, no redirects, Retry-After. The type is
``application/xml``: ``application/cap+xml`` is not registered with IANA, and the CAP
receivers in use (and the OASIS and IPAWS profiles' examples) take ``application/xml``
or ``text/xml``. The HMAC signature headers are sent when the destination has a secret.
"""

from __future__ import annotations

from hub.relay.config import CapDestination
from hub.relay.store import Pending
from hub.relay.webhook import USER_AGENT, WebhookSender, signature

CONTENT_TYPE = "application/xml; charset=utf-8"


class CapSender(WebhookSender):
    destination: CapDestination

    def headers(self, pending: Pending) -> dict[str, str]:
        headers = {
            "Content-Type": CONTENT_TYPE,
            "User-Agent": USER_AGENT,
            "Idempotency-Key": pending.key,
            "X-Roomcast-Attempt": str(pending.attempts + 1),
        }
        if self.destination.secret:
            timestamp = str(int(self._now()))
            headers["X-Roomcast-Timestamp"] = timestamp
            headers["X-Roomcast-Signature"] = signature(
                self.destination.secret, timestamp, pending.body
            )
        return headers
