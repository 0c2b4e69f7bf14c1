"""Classroom buttons on gpiozero pins, implementing :class:`hardware.interfaces.Inputs`.

gpiozero reports edges from its own threads (synchronously in the caller's thread on
mock pins); the gesture logic lives in :class:`hardware.patterns.PatternMachine`. Here
edges are queued with their time and a single watcher thread feeds the machines, wakes
at their deadlines, and calls the handlers: one thread, so handlers see events in order
and never concurrently. We do not use gpiozero's ``when_held``: its hold thread would
be a second clock, and the stuck-button timer needs one anyway.
"""

from __future__ import annotations

import enum
import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from gpiozero import Button
from gpiozero.exc import GPIOZeroError

from hardware.config import ButtonBinding
from hardware.errors import PartUnavailable
from hardware.interfaces import ActivationHandler, FaultHandler
from hardware.patterns import PatternMachine, Signal

log = logging.getLogger(__name__)


class _Edge(enum.Enum):
    PRESS = "press"
    RELEASE = "release"
    HELD_AT_START = "held at start"


class GpioInputs:
    """The node's buttons, each bound to an event kind by its own gesture.

    Args:
        bindings: Parsed ``hardware.buttons``.
        pin_factory: A gpiozero pin factory (see :func:`hardware.pins.make_pin_factory`);
            gpiozero's global default is never touched.

    Raises:
        PartUnavailable: a pin cannot be claimed (in use, invalid, fixed pull).
    """

    def __init__(self, bindings: Sequence[ButtonBinding], *, pin_factory: Any) -> None:
        self._bindings = tuple(bindings)
        self._machines = [
            PatternMachine(b.pattern, stuck_after_s=b.stuck_after_s, debounce_s=b.debounce_s)
            for b in self._bindings
        ]
        self._edges: deque[tuple[int, float, _Edge]] = deque()
        self._wake = threading.Condition()
        self._closed = False
        self._watcher: threading.Thread | None = None
        self._on_activation: ActivationHandler | None = None
        self._on_fault: FaultHandler | None = None
        self._buttons: list[Any] = []
        try:
            for binding in self._bindings:
                self._buttons.append(_open_button(binding, pin_factory))
        except PartUnavailable:
            self._close_buttons()
            raise

    def start(self, on_activation: ActivationHandler, on_fault: FaultHandler) -> None:
        """Begin watching; handlers are called on the watcher thread, never concurrently."""
        if self._watcher is not None or self._closed:
            raise RuntimeError("inputs already started or closed")
        self._on_activation, self._on_fault = on_activation, on_fault
        for index, button in enumerate(self._buttons):
            button.when_pressed = self._edge_handler(index, _Edge.PRESS)
            button.when_released = self._edge_handler(index, _Edge.RELEASE)
            # Read after hooking the edges: a press in between is then queued, not lost.
            if button.is_pressed:
                self._push(index, _Edge.HELD_AT_START)
        self._watcher = threading.Thread(target=self._watch, name="roomcast-buttons", daemon=True)
        self._watcher.start()

    def close(self) -> None:
        """Stop watching and release the pins (the pin factory stays the caller's)."""
        with self._wake:
            self._closed = True
            self._wake.notify_all()
        watcher = self._watcher
        if watcher is not None and watcher is not threading.current_thread():
            watcher.join(timeout=5.0)
        self._close_buttons()

    def _close_buttons(self) -> None:
        for button in self._buttons:
            button.close()
        self._buttons.clear()

    def _edge_handler(self, index: int, edge: _Edge) -> Callable[[], None]:
        def on_edge() -> None:
            self._push(index, edge)

        return on_edge

    def _push(self, index: int, edge: _Edge) -> None:
        with self._wake:
            self._edges.append((index, time.monotonic(), edge))
            self._wake.notify_all()

    def _watch(self) -> None:
        while True:
            with self._wake:
                if self._closed:
                    return
                signals = self._advance(time.monotonic())
                if not signals:
                    self._wake.wait(self._timeout())
                    continue
            self._dispatch(signals)

    def _advance(self, now: float) -> list[tuple[int, Signal]]:
        """Feed queued edges to the machines in order, then let time catch up."""
        signals: list[tuple[int, Signal]] = []
        while self._edges:
            index, at, edge = self._edges.popleft()
            machine = self._machines[index]
            if edge is _Edge.RELEASE:
                produced = machine.release(at)
            else:
                produced = machine.press(at, armed=edge is _Edge.PRESS)
            signals += [(index, signal) for signal in produced]
        for index, machine in enumerate(self._machines):
            signals += [(index, signal) for signal in machine.tick(now)]
        return signals

    def _timeout(self) -> float | None:
        deadlines = [d for m in self._machines if (d := m.next_deadline()) is not None]
        return None if not deadlines else max(0.0, min(deadlines) - time.monotonic())

    def _dispatch(self, signals: list[tuple[int, Signal]]) -> None:
        for index, signal in signals:
            binding = self._bindings[index]
            try:
                self._report(binding, signal)
            except Exception:
                # One failing handler must not stop the watcher: the next press matters.
                log.exception("handler failed for %s %s", binding.part, signal.value)

    def _report(self, binding: ButtonBinding, signal: Signal) -> None:
        assert self._on_activation is not None and self._on_fault is not None
        if signal is Signal.ACTIVATED:
            log.info("%s %s pattern completed", binding.part, binding.kind)
            self._on_activation(binding.kind)
        elif signal is Signal.STUCK:
            log.warning("%s stuck down", binding.part)
            self._on_fault(
                binding.part,
                f"{binding.kind} button on GPIO{binding.pin} held "
                f"down for {binding.stuck_after_s:g} s: stuck or jammed; free the "
                "button or check its cable",
            )
        else:
            log.info("%s released after being stuck", binding.part)
            self._on_fault(binding.part, "")


def _open_button(binding: ButtonBinding, pin_factory: Any) -> Any:
    try:
        # No bounce_time: the pattern machine debounces, identically on every backend.
        return Button(
            binding.pin, pull_up=binding.pull_up, bounce_time=None, pin_factory=pin_factory
        )
    except (GPIOZeroError, OSError) as error:
        raise PartUnavailable(
            binding.part,
            f"GPIO{binding.pin}",
            str(error),
            "Check hardware.buttons pin numbers (BCM GPIO numbers, not "
            "header positions) and that no other program holds the pin",
        ) from error


if TYPE_CHECKING:  # mypy proves the drivers fit the protocols the service types against
    from hardware.interfaces import Inputs

    def _fits(inputs: GpioInputs) -> Inputs:
        return inputs
