"""In-process fan-out of campus changes to live views (console streams, the CLI's watch).

Each subscriber gets its own bounded queue; a subscriber too slow to keep up loses its
oldest updates rather than slowing the hub, and re-reads the full state on reconnect.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator
from typing import Any

Update = dict[str, Any]


class Bus:
    def __init__(self, *, depth: int = 256) -> None:
        self._depth = depth
        self._queues: set[asyncio.Queue[Update]] = set()

    def publish(self, kind: str, **data: Any) -> None:
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
