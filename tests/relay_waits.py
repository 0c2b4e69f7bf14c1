"""What the relay's integration tests wait for: a press at the hub, a destination's attempts.

Shared by tests/integration/test_relay*.py and test_handoffs.py; each wait is bounded by
``tests.conftest.WAIT`` and wakes on the relay's own notice of an attempt, not a sleep.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from hub.service import HubService
from protocol.messages import EventKind
from tests.conftest import WAIT, Node, eventually


async def attempted(
    hub: HubService, predicate: Callable[[list[dict[str, Any]]], bool], name: str = "dispatch"
) -> list[dict[str, Any]]:
    """Wait until the recorded attempts of destination ``name`` satisfy ``predicate``."""
    assert hub.relay is not None
    changed = asyncio.Event()
    hub.relay.watchers.add(changed.set)
    try:
        async with asyncio.timeout(WAIT):
            while not predicate(attempts := hub.relay.store.attempts(name)):
                await changed.wait()
                changed.clear()
    finally:
        hub.relay.watchers.discard(changed.set)
    return attempts


async def press(node: Node, hub: HubService, kind: EventKind = EventKind.PANIC) -> str:
    """Press on ``node`` and wait until the hub has recorded it; the event id."""
    event = node.service.activate(kind)
    assert event is not None
    await eventually(
        lambda: hub.store.event_owner(event.event_id) is not None, hub, what="the hub's record"
    )
    return event.event_id
