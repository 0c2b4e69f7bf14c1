"""Helpers for hardware tests: bounded waits, an event recorder (ptys: tests.serial_fakes).

Every wait here is bounded: a driver that never calls back fails the test in seconds,
not at the 60 s timeout.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from tests.serial_fakes import PtyDevice

__all__ = ["WAIT_S", "PtyDevice", "Recorder", "wait_until"]

WAIT_S = 5.0


def wait_until(predicate: Callable[[], bool], timeout: float = WAIT_S) -> bool:
    """Poll ``predicate`` until true or ``timeout``; for state kept by a library thread."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.005)
    return predicate()


class Recorder:
    """Collects (what, detail) events from driver threads and lets a test wait for them."""

    def __init__(self) -> None:
        self.events: list[tuple[str, ...]] = []
        self._changed = threading.Condition()

    def activation(self, kind: str) -> None:
        self._add(("activation", kind))

    def fault(self, part: str, reason: str) -> None:
        self._add(("fault" if reason else "recovered", part, reason))

    def _add(self, event: tuple[str, ...]) -> None:
        with self._changed:
            self.events.append(event)
            self._changed.notify_all()

    def kinds(self) -> list[str]:
        return [event[0] for event in self.events]

    def wait_for(self, count: int, timeout: float = WAIT_S) -> list[tuple[str, ...]]:
        """Wait until at least ``count`` events arrived; return them all."""
        with self._changed:
            self._changed.wait_for(lambda: len(self.events) >= count, timeout)
            return list(self.events)
