"""Helpers for the device tests: a node config without a bundle, signed directives,
a running service, bounded waits, and a pseudo-terminal standing in for a USB serial port.

Every wait is bounded: a service that never reacts fails the test in seconds.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from device.config import DeviceConfig
from device.service import DeviceService
from protocol.codec import encode
from protocol.messages import Directive, Receipt
from protocol.signing import sign_directive
from protocol.srp import Action
from protocol.topics import DeviceChannel, ScopeKind, Topics
from roomcast.broker import free_port
from transport.endpoint import BrokerEndpoint

WAIT_S = 10.0
T0 = 1_700_000_000.0


def node_config(state_dir: Path, key: Ed25519PrivateKey, **changes: Any) -> DeviceConfig:
    """A classroom node whose broker is a closed port: it keeps retrying in the
    background while the test feeds it messages directly."""
    fields: dict[str, Any] = {
        "site": "test",
        "device_id": "dev-101",
        "room": "101",
        "building": "main",
        "room_name": "Science Lab",
        "broker": BrokerEndpoint(host="127.0.0.1", port=free_port()),
        "hub_public_key": key.public_key(),
        "state_dir": state_dir,
    }
    return DeviceConfig(**(fields | changes))


class Feed:
    """Plays the hub for a service with no broker: signed directives and receipts,
    handed in exactly as the MQTT link hands over a message."""

    def __init__(self, service: DeviceService, key: Ed25519PrivateKey) -> None:
        self._service = service
        self._key = key
        self._topics = Topics(service.config.site)
        self._seq = 0

    def directive(self, action: Action, *, drill: bool = False, **details: str) -> Directive:
        self._seq += 1
        directive = sign_directive(
            Directive(
                seq=self._seq,
                issued_at=T0 + self._seq,
                scope=ScopeKind.SITE,
                action=action,
                drill=drill,
                issued_by="office",
                **details,
            ),
            self._key,
        )
        self._service.link.deliver(self._topics.directive(ScopeKind.SITE), encode(directive))
        return directive

    def receipt(self, event_id: str) -> None:
        topic = self._topics.device(self._service.config.device_id, DeviceChannel.RECEIPT)
        self._service.link.deliver(topic, encode(Receipt(event_id=event_id, received_at=T0)))


@asynccontextmanager
async def running(service: DeviceService) -> AsyncIterator[DeviceService]:
    """The service's ``run()`` in a task for the length of the block."""
    task = asyncio.create_task(service.run())
    await asyncio.sleep(0)
    try:
        yield service
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


async def until(
    predicate: Callable[[], bool], *, within_s: float = WAIT_S, what: str = "condition"
) -> None:
    """Wait (bounded) for something a service does on its loop or a driver thread."""
    deadline = time.monotonic() + within_s
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {within_s} s waiting for {what}")
        await asyncio.sleep(0.01)
