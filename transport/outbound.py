"""Publishing without blocking the caller, on whichever client the session has right now.

Both services publish from message handlers and timers that must not wait for a PUBACK.
A publish lost with the link is not retried here: the services redo what matters on
reconnect (status, acks, directives) or the other side resends (events, receipts).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Coroutine
from typing import Any

import aiomqtt


class Outbound:
    def __init__(self) -> None:
        self.client: aiomqtt.Client | None = None
        """Set by the session while connected; None while the link is down."""
        self._tasks: set[asyncio.Task[None]] = set()

    def publish(self, topic: str, payload: bytes, *, retain: bool = False) -> bool:
        """QoS 1 in the background; False (nothing sent) while disconnected."""
        client = self.client
        if client is None:
            return False
        self.spawn(client.publish(topic, payload, qos=1, retain=retain))
        return True

    def spawn(self, coroutine: Coroutine[Any, Any, None]) -> None:
        """Run ``coroutine`` in the background; a link lost meanwhile is not an error."""

        async def guarded() -> None:
            with contextlib.suppress(aiomqtt.MqttError):
                await coroutine

        task = asyncio.get_running_loop().create_task(guarded())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def cancel(self) -> None:
        for task in list(self._tasks):
            task.cancel()
