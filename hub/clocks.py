"""Nodes whose clocks disagree with the hub's: a fault at the office, never in the room.

Nothing a node does depends on its clock being right (certificates are valid from the
epoch, staleness is monotonic time, commands are judged on the hub's clock), but a wrong
clock is still worth fixing: its log lines and event times are off, and it usually means
the node never reached NTP. Every ``status`` carries the node's clock; the hub compares
it with its own on receipt and lists a ``clock`` fault with the device's other faults
(console board, ``/api/status``, ``roomcast status``, the trouble list). The classroom
screen says nothing about it: that is for IT, not for whoever is in the hall.
"""

from __future__ import annotations

import logging

from protocol.messages import DeviceStatus

log = logging.getLogger(__name__)

CLOCK_SKEW_FAULT_S = 60.0
"""A node's clock this far from the hub's, either way, is a fault at the office."""
RESTATE_S = 60.0
"""How far the skew must move before the fault's text (and the log) say it again: the
delivery time of each status wobbles the measurement by milliseconds, never this much."""


def describe_skew(skew_s: float) -> str:
    """``3 h 2 min behind the hub``: the largest two units (of the skew to the second)."""
    seconds = round(abs(skew_s))
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, seconds = divmod(rest, 60)
    if days:
        amount = f"{days} d {hours} h"
    elif hours:
        amount = f"{hours} h {minutes} min"
    else:
        amount = f"{minutes} min {seconds} s"
    return f"{amount} {'ahead of' if skew_s > 0 else 'behind'} the hub"


class SkewWatch:
    """Each device's clock skew as last stated, so it is logged once per change."""

    def __init__(self) -> None:
        self._stated: dict[str, float] = {}

    def fault(self, device_id: str, status: DeviceStatus, *, now: float) -> dict[str, str]:
        """``{"clock": ...}`` while the device's clock is off by more than
        :data:`CLOCK_SKEW_FAULT_S`, else ``{}``. An offline status (the last will) was
        composed when the device connected, so its time says nothing: the fault stands
        as it was."""
        stated = self._stated.get(device_id)
        if status.online:
            stated = self._judge(device_id, status.time - now, stated)
        return {} if stated is None else {"clock": describe_skew(stated)}

    def _judge(self, device_id: str, skew: float, stated: float | None) -> float | None:
        if abs(skew) <= CLOCK_SKEW_FAULT_S:
            if stated is not None:
                log.info("device %s: clock agrees with the hub's again", device_id)
                del self._stated[device_id]
            return None
        if stated is None or abs(skew - stated) > RESTATE_S:
            log.warning(
                "device %s: clock %s (its NTP?); commands are judged on the hub's clock",
                device_id,
                describe_skew(skew),
            )
            self._stated[device_id] = stated = skew
        return stated
