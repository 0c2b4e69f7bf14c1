"""A serial port held open against unplugs, that keeps a device in the state it was told.

USB relay boards and sign adapters get unplugged, knocked loose and power-cycled; a
relay board comes back with every relay off, a sign with its own idle message. After
an All clear at one school the strobes kept flashing; here every output converges to
the current state after any fault:

* the owner hands over the *whole* state as frames (:meth:`SerialLink.send_state`);
* a worker thread writes them, re-writes them after every reopen, and again every
  ``refresh_s`` (which also revives a device that lost power behind a live adapter);
* a failed write, or the port's device node vanishing, closes the port, reports a fault
  once, and retries the open with exponential backoff; success reports recovery.

pyserial-asyncio is not a dependency: one small thread per port keeps the blocking
writes off the event loop and needs nothing from it.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hardware.interfaces import FaultHandler

# pyserial is imported by the methods that use a port, so a node with no relay board or
# sign (the only users of a link) never loads it: each module a node imports stays
# resident, and memory is what a Raspberry Pi has least of (docs/BENCHMARKS.md).

log = logging.getLogger(__name__)

WRITE_TIMEOUT_S = 2.0
"""A wedged adapter must not hold the worker forever."""


@dataclass(frozen=True)
class RetryPolicy:
    """How fast a link notices trouble and how patiently it reopens.

    Attributes:
        first_s: Wait before the first reopen attempt; doubles on each failure.
        max_s: Longest wait between attempts.
        probe_s: How often an idle link checks that its port's device node still exists.
    """

    first_s: float = 0.5
    max_s: float = 30.0
    probe_s: float = 1.0


class SerialLink:
    """One serial port and the frames that put its device in the current state.

    Args:
        part: Name in fault reports, e.g. ``relay:/dev/ttyUSB0``.
        port: Device path; prefer a stable ``/dev/serial/by-id/...`` link.
        baudrate: Line speed.
        on_fault: Called with (part, reason) on failure and (part, "") on recovery, from
            the worker thread.
        fix: What a person should check, appended to fault reasons.
        refresh_s: Re-send the state this often even when nothing changed.
        frame_gap_s: Pause between frames (slow relay boards drop back-to-back frames).
        retry: Backoff and probing; tests shorten it.
    """

    def __init__(
        self,
        *,
        part: str,
        port: str,
        baudrate: int,
        on_fault: FaultHandler,
        fix: str,
        refresh_s: float,
        frame_gap_s: float = 0.0,
        retry: RetryPolicy | None = None,
    ) -> None:
        self.part = part
        self._port = port
        self._baudrate = baudrate
        self._on_fault = on_fault
        self._fix = fix
        self._refresh_s = refresh_s
        self._frame_gap_s = frame_gap_s
        self._retry = retry or RetryPolicy()
        self._wake = threading.Condition()
        self._stopping = threading.Event()
        self._frames: list[bytes] | None = None  # None: told nothing yet, so send nothing
        self._dirty = False
        self._last_sent = 0.0
        self._serial: Any = None
        self._faulted = False
        self._worker = threading.Thread(target=self._run, name=f"roomcast-{part}", daemon=True)
        self._worker.start()

    @property
    def connected(self) -> bool:
        """Whether the port is open and the last write succeeded."""
        return self._serial is not None and not self._faulted

    def send_state(self, frames: Sequence[bytes]) -> None:
        """Make ``frames`` the device's state: written now, after any reopen, and on refresh."""
        with self._wake:
            self._frames = list(frames)
            self._dirty = True
            self._wake.notify_all()

    def close(self) -> None:
        """Stop the worker and close the port. The device keeps its last state."""
        self._stopping.set()
        with self._wake:
            self._wake.notify_all()
        if self._worker is not threading.current_thread():
            self._worker.join(timeout=WRITE_TIMEOUT_S + 3.0)
        self._close_port()

    def _run(self) -> None:
        backoff = self._retry.first_s
        while not self._stopping.is_set():
            if self._serial is None:
                if not self._open():
                    self._stopping.wait(backoff)
                    backoff = min(backoff * 2, self._retry.max_s)
                    continue
                backoff = self._retry.first_s
            if not Path(self._port).exists():
                self._lost(f"{self._port} vanished (unplugged?)")
                continue
            frames = self._next_frames()
            if frames is not None and self._write(frames):
                self._healthy()

    def _open(self) -> bool:
        import serial

        try:
            self._serial = serial.Serial(
                self._port, self._baudrate, timeout=0, write_timeout=WRITE_TIMEOUT_S, exclusive=True
            )
        except (serial.SerialException, OSError, ValueError) as error:
            self._report(f"cannot open {self._port}: {error}")
            return False
        log.info("%s: opened %s", self.part, self._port)
        with self._wake:
            self._dirty = self._frames is not None  # the device forgot: tell it again
        if self._frames is None:
            self._healthy()
        return True

    def _next_frames(self) -> list[bytes] | None:
        """Frames to write now (changed, or refresh due), after waiting at most a probe."""
        with self._wake:
            timeout = self._retry.probe_s
            if self._frames is not None:
                timeout = min(timeout, self._last_sent + self._refresh_s - time.monotonic())
            if not self._dirty and timeout > 0:
                self._wake.wait(timeout)
            if self._stopping.is_set() or self._frames is None:
                return None
            if not (self._dirty or self._refresh_due()):
                return None
            self._dirty = False
            return list(self._frames)

    def _refresh_due(self) -> bool:
        return self._frames is not None and time.monotonic() >= self._last_sent + self._refresh_s

    def _write(self, frames: list[bytes]) -> bool:
        import serial

        try:
            for index, frame in enumerate(frames):
                if index and self._frame_gap_s and self._stopping.wait(self._frame_gap_s):
                    return False
                self._serial.write(frame)
        except (serial.SerialException, OSError) as error:
            self._lost(f"write to {self._port} failed: {error}")
            return False
        with self._wake:
            self._last_sent = time.monotonic()
        return True

    def _lost(self, reason: str) -> None:
        self._close_port()
        self._report(reason)

    def _close_port(self) -> None:
        port, self._serial = self._serial, None
        if port is not None:
            import serial

            try:
                port.close()
            except (serial.SerialException, OSError):
                log.debug("%s: close failed", self.part, exc_info=True)

    def _report(self, reason: str) -> None:
        if self._faulted:
            return  # one report per outage, not one per retry
        self._faulted = True
        log.warning("%s: %s", self.part, reason)
        self._notify(f"{reason}; {self._fix}; retrying")

    def _healthy(self) -> None:
        if not self._faulted:
            return
        self._faulted = False
        log.info("%s: back, state re-sent", self.part)
        self._notify("")

    def _notify(self, reason: str) -> None:
        try:
            self._on_fault(self.part, reason)
        except Exception:
            log.exception("%s: fault handler failed", self.part)
