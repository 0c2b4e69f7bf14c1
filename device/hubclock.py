"""The hub's clock, as this node estimates it: what the freshness of a command is judged by.

A node's own wall clock proves nothing: a Pi has no real-time clock and boots with an old
time, and NTP may step it hours later. The hub's clock is the site's reference, and every
``hub_state`` carries it. The node keeps the hub time of the newest one together with
the *monotonic* time it arrived, and moves the estimate on by the monotonic clock: a step
of the node's wall clock (NTP catching up after boot, a technician's ``date -s``) does
not move it, and the node's wall clock is never read at all.

The estimate lags the hub's clock by the age of the ``hub_state`` it came from: the
delivery time (milliseconds) for a heartbeat, but up to one heartbeat for the retained
copy the broker hands over on connect. :attr:`HubClock.lag_bound_s` says how much, for
checks that must not refuse a fresh message because of that lag.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass
class HubClock:
    """The hub's time now, from the last ``hub_state`` heard; ``None`` until one is."""

    monotonic: Callable[[], float] = time.monotonic
    _hub_time: float | None = field(default=None, init=False)
    _heard_at: float = field(default=0.0, init=False)
    _heartbeat_s: float = field(default=0.0, init=False)

    def heard(self, hub_time: float, *, heartbeat_s: float) -> None:
        """An online ``hub_state`` arrived: its ``time`` is the hub's clock about now.

        Only an online state may be used: the hub's last will (``online: false``) was
        composed when the hub connected, and the broker publishes it any time later.
        """
        self._hub_time, self._heard_at = hub_time, self.monotonic()
        self._heartbeat_s = heartbeat_s

    def now(self) -> float | None:
        """The hub's clock now (Unix seconds), or ``None`` if no hub time is known yet."""
        if self._hub_time is None:
            return None
        return self._hub_time + (self.monotonic() - self._heard_at)

    @property
    def lag_bound_s(self) -> float:
        """How far behind the hub's clock :meth:`now` may be: a retained state's age."""
        return self._heartbeat_s
