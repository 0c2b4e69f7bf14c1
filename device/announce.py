"""What a node tells the hub about itself, unasked: its retained status, its last will,
and the events still waiting for a receipt.

The status is retained and repeated every :data:`STATUS_EVERY_S`, so the hub can tell a
silent node from a quiet one; the broker publishes the will (the same status, offline)
when the node vanishes. Events whose receipt is overdue are resent: the hub may have
died between storing an event and receipting it, and it de-duplicates, so resending is
always safe.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping

import aiomqtt

from device.config import DeviceConfig
from device.store import DeviceStore
from protocol.codec import encode
from protocol.intervals import STATUS_EVERY_S
from protocol.messages import DeviceStatus
from protocol.topics import DeviceChannel, Topics

RESEND_EVERY_S = 5.0

Send = Callable[[DeviceChannel, bytes, bool], None]
"""Publish on one of this device's channels (``retain`` last); a no-op while offline."""


class Announcer:
    """The node's status, will and outbox resends, published through ``send``."""

    def __init__(
        self,
        config: DeviceConfig,
        topics: Topics,
        store: DeviceStore,
        *,
        send: Send,
        wall_clock: Callable[[], float],
        hub_epoch: Callable[[], int],
        faults: Callable[[], Mapping[str, str]],
    ) -> None:
        self._config = config
        self._topics = topics
        self._store = store
        self._send = send
        self._now = wall_clock
        self._hub_epoch = hub_epoch
        self._faults = faults
        self.session = 0
        """Grows on every connect (kept on disk), so the hub can tell a reconnect."""

    def will(self) -> aiomqtt.Will:
        """The last will for a new connection: the first thing a connect asks for."""
        self.session = self._store.next_session()
        return self.farewell()

    def farewell(self) -> aiomqtt.Will:
        """The offline status, as the broker will publish it if the node vanishes."""
        return aiomqtt.Will(
            self._topics.device(self._config.device_id, DeviceChannel.STATUS),
            encode(self.status(online=False)),
            qos=1,
            retain=True,
        )

    def status(self, *, online: bool) -> DeviceStatus:
        return DeviceStatus(
            device_id=self._config.device_id,
            room=self._config.room,
            online=online,
            session=self.session,
            firmware=self._config.firmware,
            time=self._now(),
            hub_epoch=self._hub_epoch(),
            faults=dict(self._faults()),
        )

    def publish_status(self) -> None:
        self._send(DeviceChannel.STATUS, encode(self.status(online=True)), True)

    def resend_outbox(self, *, older_than_s: float = 0.0) -> None:
        """Send again every pending event but those made in the last ``older_than_s``.

        An event "made in the future" is due too: the node's clock stepped back since
        (NTP correcting a clock that ran ahead), and waiting for it to catch up could hold
        a panic back for hours. A resend too many is harmless: the hub de-duplicates.
        """
        now = self._now()
        for event in self._store.pending_events():
            if not 0 <= now - event.created_at < older_than_s:
                self._send(DeviceChannel.EVENT, encode(event), False)

    async def repeat(self) -> None:
        """Resend overdue events every :data:`RESEND_EVERY_S`, and the status every
        :data:`STATUS_EVERY_S`, for as long as the node runs."""
        elapsed = 0.0
        while True:
            await asyncio.sleep(RESEND_EVERY_S)
            elapsed += RESEND_EVERY_S
            self.resend_outbox(older_than_s=RESEND_EVERY_S)
            if elapsed >= STATUS_EVERY_S:
                elapsed = 0.0
                self.publish_status()
