"""Deliberate-activation patterns as a pure state machine fed with explicit times.

A panic press must be deliberate (badge systems elsewhere saw 1 in 10 alerts sent by
accident), so a button activates only when a pattern completes: held for ``hold_s``, or
pressed ``presses`` times within ``window_s``. A short bump does nothing. A button held
far beyond any pattern is stuck (a jammed cap, a shorted cable): that is a fault to
report once, never a stream of activations.

The machine knows nothing of GPIO or threads: the adapter in :mod:`hardware.buttons`
feeds it edges and clock ticks, and tests feed it times they choose.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass


@dataclass(frozen=True)
class HoldPattern:
    """Activate once the button has been held down for ``hold_s`` seconds."""

    hold_s: float

    def __post_init__(self) -> None:
        if not self.hold_s > 0:
            raise ValueError(f"hold_s must be > 0, got {self.hold_s}")

    @property
    def duration_s(self) -> float:
        """Longest time a completing gesture takes."""
        return self.hold_s


@dataclass(frozen=True)
class PressPattern:
    """Activate on the ``presses``-th press, all of them started within ``window_s``."""

    presses: int
    window_s: float

    def __post_init__(self) -> None:
        if self.presses < 1 or not self.window_s > 0:
            raise ValueError(f"need presses >= 1 and window_s > 0, got {self}")

    @property
    def duration_s(self) -> float:
        """Longest time a completing gesture takes."""
        return self.window_s


Pattern = HoldPattern | PressPattern


class Signal(enum.Enum):
    """What the machine reports to the adapter."""

    ACTIVATED = "activated"
    STUCK = "stuck"
    RECOVERED = "recovered"


class PatternMachine:
    """Tracks one button; every method takes ``now`` (seconds, monotonic) and returns signals.

    Args:
        pattern: The gesture that activates.
        stuck_after_s: Held this long, the button is reported stuck (once).
        debounce_s: Presses shorter than this are contact bounce and never count.
    """

    def __init__(self, pattern: Pattern, *, stuck_after_s: float, debounce_s: float) -> None:
        if stuck_after_s <= pattern.duration_s:
            raise ValueError("stuck_after_s must exceed the pattern's duration")
        self.pattern = pattern
        self._stuck_after_s = stuck_after_s
        self._debounce_s = debounce_s
        self._pressed_at: float | None = None
        self._armed = False
        self._stuck = False
        self._press_starts: list[float] = []

    @property
    def pressed(self) -> bool:
        """Whether the machine believes the button is down."""
        return self._pressed_at is not None

    @property
    def stuck(self) -> bool:
        """Whether a stuck fault is outstanding."""
        return self._stuck

    def press(self, now: float, *, armed: bool = True) -> list[Signal]:
        """The button went down. ``armed=False`` for one found already down at start-up.

        A button that was down before we looked cannot have been pressed deliberately
        in front of us, so it may become stuck but never activates until released.
        """
        if self._pressed_at is not None:
            return []  # a repeated edge: keep the first press time
        self._pressed_at = now
        self._armed = armed
        return self.tick(now)

    def release(self, now: float) -> list[Signal]:
        """The button came up: may complete a press pattern or end a stuck fault."""
        if self._pressed_at is None:
            return []
        signals = self.tick(now)  # a late tick must not lose a hold that completed
        started, self._pressed_at = self._pressed_at, None
        if self._stuck:
            self._stuck = False
            self._press_starts.clear()
            return [*signals, Signal.RECOVERED]
        counts = self._armed and now - started >= self._debounce_s
        if counts and isinstance(self.pattern, PressPattern):
            signals.extend(self._count_press(started, now, self.pattern))
        return signals

    def tick(self, now: float) -> list[Signal]:
        """Time passed: completes a hold, or declares the button stuck."""
        if self._pressed_at is None:
            return []
        held = now - self._pressed_at
        signals: list[Signal] = []
        if self._armed and isinstance(self.pattern, HoldPattern) and held >= self.pattern.hold_s:
            self._armed = False  # one activation per press, however long the hold
            signals.append(Signal.ACTIVATED)
        if not self._stuck and held >= self._stuck_after_s:
            self._stuck = True
            self._armed = False
            signals.append(Signal.STUCK)
        return signals

    def next_deadline(self) -> float | None:
        """When :meth:`tick` next has something to decide, or None if only an edge can."""
        if self._pressed_at is None:
            return None
        deadlines: list[float] = []
        if self._armed and isinstance(self.pattern, HoldPattern):
            deadlines.append(self._pressed_at + self.pattern.hold_s)
        if not self._stuck:
            deadlines.append(self._pressed_at + self._stuck_after_s)
        return min(deadlines, default=None)

    def _count_press(self, started: float, now: float, pattern: PressPattern) -> list[Signal]:
        self._press_starts.append(started)
        self._press_starts = [t for t in self._press_starts if t >= now - pattern.window_s]
        if len(self._press_starts) < pattern.presses:
            return []
        self._press_starts.clear()
        return [Signal.ACTIVATED]
