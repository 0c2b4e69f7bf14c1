"""Helpers for hardware tests: bounded waits, an event recorder, a pseudo-terminal device.

Every wait here is bounded: a driver that never calls back fails the test in seconds,
not at the 60 s timeout.
"""

from __future__ import annotations

import os
import select
import threading
import time
from collections.abc import Callable
from pathlib import Path

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


class PtyDevice:
    """A serial device played by a pseudo-terminal behind a stable symlink.

    The symlink stands for ``/dev/serial/by-id/...``: unplugging removes it and closes
    the master (the "device"); replugging makes a new pty and points the link at it,
    as udev does when a USB adapter comes back.
    """

    def __init__(self, link: Path) -> None:
        self.path = link
        self._master = -1
        self._slave = -1
        self.plug()

    def plug(self) -> None:
        self._master, self._slave = os.openpty()  # the slave stays open: the device is "on"
        self.path.unlink(missing_ok=True)
        self.path.symlink_to(os.ttyname(self._slave))

    def unplug(self, *, remove_link: bool = True) -> None:
        if remove_link:
            self.path.unlink(missing_ok=True)
        os.close(self._master)
        os.close(self._slave)
        self._master = self._slave = -1

    def read(self, count: int, timeout: float = WAIT_S) -> bytes:
        """Exactly ``count`` bytes the driver wrote, or fewer if ``timeout`` ran out."""
        data = b""
        deadline = time.monotonic() + timeout
        while len(data) < count and (left := deadline - time.monotonic()) > 0:
            ready, _, _ = select.select([self._master], [], [], left)
            if ready:
                data += os.read(self._master, count - len(data))
        return data

    def close(self) -> None:
        if self._master >= 0:
            self.unplug()
