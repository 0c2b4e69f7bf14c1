"""Which devices the site has, which are online, and how each one says it is.

The inventory (rooms and their displays) lives here, because presence is where it changes
at run time: a room provisioned while the hub runs joins, a revoked device leaves. A status
reaches here only after the hub's intake checked its topic, budget and encoding; what is
left to check needs the device's record: a will that arrives after the device reconnected
is stale.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field

from hub.bus import Bus, Change
from hub.clocks import SkewWatch
from hub.errors import NotFound
from hub.rejections import Rejections
from hub.store import HubStore
from protocol.intervals import OFFLINE_AFTER_S
from protocol.inventory import Inventory, Room
from protocol.messages import DeviceStatus

log = logging.getLogger(__name__)


@dataclass
class DeviceRecord:
    room: str
    online: bool = False
    session: int = -1
    firmware: str = ""
    faults: dict[str, str] = field(default_factory=dict)
    last_seen: float | None = None


class Presence:
    def __init__(
        self,
        *,
        inventory: Inventory,
        store: HubStore,
        bus: Bus,
        rejected: Rejections,
        clock: Callable[[], float],
    ) -> None:
        self.inventory = inventory
        self.devices = {d: DeviceRecord(room=r) for d, r in inventory.devices.items()}
        self._store, self._bus, self._rejected, self._now = store, bus, rejected, clock
        self._clocks = SkewWatch()

    def room(self, room_id: str) -> Room:
        room = self.inventory.rooms.get(room_id)
        if room is None:
            raise NotFound(f"unknown room {room_id!r}; see the site inventory")
        return room

    def known_device(self, device_id: str) -> DeviceRecord | None:
        """The device's record, or None (counted) for one the inventory does not list."""
        record = self.devices.get(device_id)
        if record is None:
            self._rejected.record("unknown device", f"{device_id} is not in the site inventory")
        return record

    def on_status(self, device_id: str, status: DeviceStatus) -> None:
        record = self.known_device(device_id)
        if record is None:
            return
        if not status.online and status.session < record.session:
            # The device already reconnected; the broker delivered its old will late.
            self._rejected.record(
                "stale will", f"{device_id} session {status.session} < {record.session}"
            )
            return
        record.online, record.session = status.online, status.session
        record.firmware, record.faults, record.last_seen = (
            status.firmware,
            status.faults | self._clocks.fault(device_id, status, now=self._now()),
            self._now(),
        )
        self._store.save_device(status, room=record.room, seen_at=record.last_seen)
        self._bus.publish(
            Change.DEVICE, device_id=device_id, room=record.room, online=status.online
        )

    def sweep(self) -> list[str]:
        """Mark silent devices offline; returns the ids newly marked.

        See :mod:`protocol.intervals`: silence means a dead node or link even when its
        last will was lost.
        """
        now, silent = self._now(), []
        for device_id, record in self.devices.items():
            if record.online and (record.last_seen or 0) < now - OFFLINE_AFTER_S:
                record.online = False
                silent.append(device_id)
                log.warning(
                    "device %s (room %s) silent for %.0f s: offline",
                    device_id,
                    record.room,
                    OFFLINE_AFTER_S,
                )
                self._bus.publish(
                    Change.DEVICE, device_id=device_id, room=record.room, online=False
                )
        return silent

    def roll_call(self) -> list[tuple[str, str, bool]]:
        """Every display as (device, room, online) now: kept with each directive issued,
        for the drill debrief's "offline at issue"."""
        return [(device, record.room, record.online) for device, record in self.devices.items()]

    def replace_inventory(self, inventory: Inventory) -> None:
        """New rooms and devices join; removed (revoked) devices are dropped."""
        added = set(inventory.devices) - set(self.devices)
        removed = set(self.devices) - set(inventory.devices)
        for device_id in added:
            self.devices[device_id] = DeviceRecord(room=inventory.devices[device_id])
        for device_id in removed:
            del self.devices[device_id]
        for device_id, room in inventory.devices.items():
            self.devices[device_id].room = room
        self.inventory = inventory
        self._bus.publish(
            Change.INVENTORY, rooms=len(inventory.rooms), devices=len(inventory.devices)
        )
        log.warning(
            "inventory reloaded: %d rooms, %d devices (+%d, -%d)",
            len(inventory.rooms),
            len(inventory.devices),
            len(added),
            len(removed),
        )
