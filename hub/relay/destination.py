"""What the relay's sender needs of a destination, whatever it speaks (HTTPS, SMTP).

A destination is a name, a rule for what it takes, and one attempt at a time: ``send``
tries one queued message and says what happened as an :class:`~hub.relay.store.Attempt`
(the protocol's status code, a person's words, and a retry-after hint where the protocol
has one), never as an exception. The ordering, the durable outbox, the back-off and the
record of every attempt stay in :mod:`hub.relay.relay`, the same for every kind.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from hub.relay.cap_post import CapSender
from hub.relay.config import (
    CapDestination,
    DestinationSettings,
    EmailDestination,
    WebhookDestination,
)
from hub.relay.mail import EmailSender
from hub.relay.messages import Message
from hub.relay.store import Attempt, Pending
from hub.relay.webhook import WebhookSender


class Destination(Protocol):
    @property
    def settings(self) -> DestinationSettings: ...

    @property
    def name(self) -> str: ...

    def takes(self, message: Message) -> bool: ...

    async def send(self, pending: Pending) -> tuple[Attempt, bool]:
        """One attempt: (what happened, delivered?). Never raises but on cancellation."""
        ...

    async def aclose(self) -> None: ...


def open_destination(settings: DestinationSettings, *, clock: Callable[[], float]) -> Destination:
    """The sender for ``settings``' kind; raises OSError/ValueError if its TLS cannot be set
    up (a CA file broken since the hub started), which the relay retries."""
    if isinstance(settings, CapDestination):  # before its base class, the webhook
        return CapSender(settings, clock=clock)
    if isinstance(settings, WebhookDestination):
        return WebhookSender(settings, clock=clock)
    if isinstance(settings, EmailDestination):
        return EmailSender(settings, clock=clock)
    raise TypeError(f"no sender for {type(settings).__name__}")


def queued_body(settings: DestinationSettings, message: Message) -> bytes:
    """What is queued for ``settings``: the record's CAP alert in its scope, or the JSON."""
    if isinstance(settings, CapDestination) and message.cap is not None:
        return message.cap.render(settings.audience)
    return message.body
