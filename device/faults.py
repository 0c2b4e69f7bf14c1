"""Fault reports that arrive before anyone is listening.

Parts are opened before the service runs (a serial output needs its fault handler in its
constructor, and a display that fails to open is a fault before there is a loop to hand
it to). :class:`FaultRelay` keeps those reports and replays them once the service
attaches, then forwards every later one; drivers call it from their own threads.
"""

from __future__ import annotations

import threading
import unicodedata

from hardware.interfaces import FaultHandler
from protocol.messages import MAX_TEXT


def for_status(text: str) -> str:
    """A fault's part or reason as the status message can carry it: one line, at most
    ``MAX_TEXT`` characters. Drivers explain at length (and the log keeps all of it);
    a status that fails validation would take the node down with the part."""
    line = "".join(" " if unicodedata.category(c) == "Cc" else c for c in text).strip()
    return line if len(line) <= MAX_TEXT else line[: MAX_TEXT - 3].rstrip() + "..."


class FaultRelay:
    """A :data:`~hardware.interfaces.FaultHandler` that buffers until a handler attaches."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._handler: FaultHandler | None = None
        self._pending: dict[str, str] = {}

    def __call__(self, part: str, reason: str) -> None:
        with self._lock:
            handler = self._handler
            if handler is None:
                if reason:
                    self._pending[part] = reason
                else:
                    self._pending.pop(part, None)  # recovered before anyone listened
                return
        handler(part, reason)

    @property
    def pending(self) -> dict[str, str]:
        """Faults reported and not yet handed to a handler (part -> reason)."""
        with self._lock:
            return dict(self._pending)

    def attach(self, handler: FaultHandler) -> None:
        """Forward to ``handler`` from now on, starting with what was kept."""
        with self._lock:
            self._handler = handler
            pending, self._pending = self._pending, {}
        for part, reason in pending.items():
            handler(part, reason)

    def detach(self) -> None:
        """Keep reports again (the service stopped; its loop may be gone)."""
        with self._lock:
            self._handler = None
