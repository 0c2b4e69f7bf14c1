"""The count of what the hub refused to believe from devices, by reason.

Every part that hears from devices reports here; the office sees the counts in the status,
live views hear each change, and the log is throttled so a hostile device cannot flood it.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable

from hub.bus import Bus, Change
from hub.guard import LogThrottle

log = logging.getLogger(__name__)


class Rejections:
    def __init__(self, *, bus: Bus, clock: Callable[[], float]) -> None:
        self.counts: Counter[str] = Counter()
        self._bus, self._now = bus, clock
        self._log = LogThrottle()

    def record(self, reason: str, detail: str) -> None:
        """Count and log a message that was refused; live views see the count change."""
        self.counts[reason] += 1
        if self._log.should_log(reason, self._now()):
            log.warning("rejected: %s: %s (%d so far)", reason, detail, self.counts[reason])
        self._bus.publish(Change.REJECTED, reason=reason)

    def count(self, reason: str) -> None:
        """Count without a log line or an update: harmless repeats, or a flood (hub.guard
        reports the flood itself)."""
        self.counts[reason] += 1
