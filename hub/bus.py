"""In-process fan-out of campus changes to live views (console streams, the CLI's watch).

Each subscriber gets its own bounded queue; a subscriber too slow to keep up loses its
oldest updates rather than slowing the hub, and re-reads the full state on reconnect.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator
from enum import StrEnum
from typing import Any

Update = dict[str, Any]


class Change(StrEnum):
    """What changed: the ``kind`` of every update, so a page knows what to re-read."""

    DIRECTIVE = "directive"
    EVENT = "event"
    ACK = "ack"
    DEVICE = "device"
    INVENTORY = "inventory"
    CONTROL = "control"
    REJECTED = "rejected"
    FLOOD = "flood"
    HANDOFF = "handoff"
    """A relay destination's state changed (delivered, failing, recovered)."""
    WEATHER = "weather"
    """The weather feed's alerts in force or its health changed (hub.weather)."""
    ROLL = "roll"
    """A room's roll report was recorded (hub.roll)."""


class Bus:
    def __init__(self, *, depth: int = 256) -> None:
        self._depth = depth
        self._queues: set[asyncio.Queue[Update]] = set()

    def publish(self, kind: Change, **data: Any) -> None:
        update = {"kind": kind, **data}
        for queue in self._queues:
            if queue.full():
                queue.get_nowait()
            queue.put_nowait(update)

    @contextlib.contextmanager
    def subscribe(self) -> Iterator[asyncio.Queue[Update]]:
        queue: asyncio.Queue[Update] = asyncio.Queue(self._depth)
        self._queues.add(queue)
        try:
            yield queue
        finally:
            self._queues.discard(queue)
