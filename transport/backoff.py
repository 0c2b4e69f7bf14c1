"""Reconnect delays with exponential growth and full jitter.

aiomqtt does not reconnect by itself; :class:`transport.link.Link` waits this long between tries.
Full jitter (a uniform draw up to the current cap) keeps 300 classrooms from reconnecting
in lock-step after a broker restart.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass
class Backoff:
    initial_s: float = 0.2
    maximum_s: float = 15.0
    factor: float = 2.0
    draw: Callable[[float, float], float] = field(default=random.uniform, repr=False)
    _cap: float = field(default=0.0, init=False, repr=False)

    def __post_init__(self) -> None:
        if not 0 < self.initial_s <= self.maximum_s:
            raise ValueError("backoff needs 0 < initial_s <= maximum_s")
        self._cap = self.initial_s

    def next_delay(self) -> float:
        """The delay before the next attempt; grows until :meth:`reset`."""
        delay = self.draw(self.initial_s / 2, self._cap)
        self._cap = min(self.maximum_s, self._cap * self.factor)
        return delay

    def reset(self) -> None:
        """Call after a successful connection."""
        self._cap = self.initial_s
