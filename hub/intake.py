"""What the hub reads from the broker: every device's messages, and its own directives.

This is the trust boundary of ARCHITECTURE.md: a device's message is held to its budget
as it arrives (:meth:`DeviceIntake.screen`, before it is decoded or even queued), then
decoded strictly, checked against the topic it came on and the room the inventory gives
the device, and only then handed to the engine. Whatever is refused is counted (the
engine's ``rejected``), never a crash.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from hub.bus import Bus, Change
from hub.engine import Engine
from hub.guard import DeviceGuard, Flood
from hub.quarantine import CutOff
from hub.store import HubStore
from protocol.codec import DecodeError, decode
from protocol.messages import Ack, DeviceStatus, Directive, Event, EventKind, Message, Receipt
from protocol.signing import BadSignature, verify
from protocol.topics import DeviceChannel, Topics

log = logging.getLogger(__name__)

_MAYBE_PANIC = f'"{EventKind.PANIC.value}"'.encode()
"""In every encoded panic event (its kind); a payload without it cannot be one."""
_DECODERS: dict[DeviceChannel, type[DeviceStatus | Event | Ack]] = {
    DeviceChannel.STATUS: DeviceStatus,
    DeviceChannel.EVENT: Event,
    DeviceChannel.ACK: Ack,
}
DEVICE_CHANNELS = tuple(_DECODERS)
"""The device channels the hub reads (it writes the others)."""

Send = Callable[[str, Message], object]
"""Publish one message on a topic (the receipt of an event)."""


class DeviceIntake:
    """The handlers the hub's link routes device topics and directive topics to."""

    def __init__(
        self,
        *,
        engine: Engine,
        guard: DeviceGuard,
        topics: Topics,
        hub_key: Ed25519PublicKey,
        send: Send,
        clock: Callable[[], float],
    ) -> None:
        self._engine = engine
        self._guard = guard
        self._topics = topics
        self._hub_key = hub_key
        self._send = send
        self._now = clock

    def screen(self, topic: str, payload: bytes | bytearray) -> bool:
        """The budget, checked as each message arrives, before it is decoded or queued
        (hub.guard). From a device over its budget only what may be a panic goes on."""
        parsed = self._topics.parse_device(topic)
        record = None if parsed is None else self._engine.presence.devices.get(parsed.device_id)
        if parsed is None or record is None:
            return True  # not a device's message, or an unknown one: on_device says which
        if self._guard.admit(parsed.device_id, record.room):
            return True
        if parsed.channel is DeviceChannel.EVENT and _MAYBE_PANIC in payload:
            return True  # decoded, and read against the panic budget, in on_device
        self._over_budget(parsed.device_id)
        return False

    def on_device(self, topic: str, payload: bytes) -> None:
        """One message on a ``device/<id>/<channel>`` topic the hub reads."""
        parsed = self._topics.parse_device(topic)
        if parsed is None or parsed.channel not in _DECODERS:
            self._reject("unexpected topic", topic)
            return
        record = self._engine.presence.devices.get(parsed.device_id)
        if record is None:
            self._reject("unknown device", topic, "not in the site inventory")
            return
        # An ignored device's messages that reach this far may hold a panic (screen).
        admitted = not self._guard.ignoring(parsed.device_id)
        try:
            message = decode(payload, _DECODERS[parsed.channel])
        except DecodeError as error:
            self._reject("malformed", topic, error.reason)
            return
        if message.device_id != parsed.device_id:
            # The broker ACL authenticates the topic, not the payload: trust the topic.
            self._reject("device id mismatch", topic, message.device_id)
            return
        if not admitted and not self._panic_from_flood(message):
            self._over_budget(parsed.device_id)
            return
        self._handle(parsed.device_id, message)

    def on_directive(self, topic: str, payload: bytes) -> None:
        """Our own retained directives, echoed back: a store restored from an older backup
        learns the seq numbers already out there instead of reusing them."""
        if not payload:
            return
        try:
            directive = decode(payload, Directive)
            verify(directive, self._hub_key)
        except (DecodeError, BadSignature) as error:
            self._reject("not ours", topic, str(error))
            return
        if directive.seq > self._engine.directives.latest_seq:
            self._engine.directives.adopt(directive)

    def _panic_from_flood(self, message: DeviceStatus | Event | Ack) -> bool:
        return (
            isinstance(message, Event)
            and message.kind is EventKind.PANIC
            and self._guard.admit_panic(message.device_id)
        )

    def _over_budget(self, device_id: str) -> None:
        self._guard.dropped(device_id)
        self._engine.rejected.count("over budget")  # the flood alarm says the rest

    def _handle(self, device_id: str, message: DeviceStatus | Event | Ack) -> None:
        record = self._engine.presence.devices[device_id]
        if message.room != record.room:
            # Counted and logged, then handled as the inventory's room: a node moved to
            # another room but not yet reinstalled must still raise its alarm, and no
            # device can reach into another room by naming it.
            self._engine.rejected.record("room mismatch", f"{device_id} says {message.room}")
        if isinstance(message, DeviceStatus):
            self._engine.presence.on_status(device_id, message)
        elif isinstance(message, Ack):
            self._engine.acks.on_ack(device_id, message)
        else:
            new = self._engine.events.on_event(device_id, message)
            if new is None:
                return
            receipt = Receipt(event_id=message.event_id, received_at=self._now(), duplicate=not new)
            self._send(self._topics.device(device_id, DeviceChannel.RECEIPT), receipt)

    def _reject(self, reason: str, topic: str, detail: str = "") -> None:
        self._engine.rejected.record(reason, f"{topic} {detail}")


def report_cut_off(bus: Bus, store: HubStore, entry: CutOff, started: bool) -> None:
    """A device cut off at the broker (hub.quarantine): live views hear it, and both its
    start and its end are in the audit record."""
    bus.publish(Change.FLOOD, device_id=entry.device_id, room=entry.room, active=started)
    store.audit(
        at=entry.since if started else entry.until,
        user="hub",
        action="device cut off at the broker" if started else "device cut-off ended",
        detail={"device_id": entry.device_id, "room": entry.room, "until": entry.until},
    )


def report_flood(bus: Bus, store: HubStore, flood: Flood, started: bool) -> None:
    """A flood is an alarm: the board and the status list it while it lasts, and its
    start is in the audit record (the guard's ``on_change``)."""
    bus.publish(Change.FLOOD, device_id=flood.device_id, room=flood.room, active=started)
    if started:
        store.audit(
            at=flood.started,
            user="hub",
            action="device over its message budget",
            detail={"device_id": flood.device_id, "room": flood.room},
        )
