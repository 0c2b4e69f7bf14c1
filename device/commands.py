"""Signed commands from the hub: checked in full before anything is done.

A command is obeyed only if it decodes, the hub's key signed it, it is addressed to this
device, its ``seq`` is newer than the last command obeyed (kept on disk, so a replay after
a reboot is refused too), and it is fresh *by the hub's clock* (:mod:`device.hubclock`):
the node's own clock may be hours or days off, so comparing ``expires_at`` with it would
refuse every command on a node that runs ahead and accept one the broker queued hours ago
on a node that runs behind. The ``seq`` stays the replay guard; the time check only
refuses what waited too long. Then :class:`CommandRunner` does what it says: blink the LED
for a technician (never in a Lockdown), or republish.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from device.hubclock import HubClock
from device.refused import Refused
from device.store import DeviceStore
from protocol.codec import DecodeError, decode
from protocol.messages import Command, CommandKind
from protocol.signing import BadSignature, PublicKey, verify

log = logging.getLogger(__name__)

COMMAND_CLOCK_TOLERANCE_S = 10.0
"""Slack in the freshness check, either way, for delivery time and the hub's own clock
corrections: a command is refused as expired once the hub's clock (as estimated) is this
far past its ``expires_at`` (the hub gives a command 60 s), and as issued in the future
once its ``issued_at`` is this far (plus the estimate's possible lag, one heartbeat)
ahead of the hub's clock, which only a hub whose clock was wrong when it signed does."""


@dataclass
class CommandCheck:
    device_id: str
    hub_key: PublicKey
    store: DeviceStore
    hub_clock: HubClock

    def accept(self, payload: bytes) -> Command:
        """The command, if it may be obeyed; else :class:`Refused`."""
        try:
            command = decode(payload, Command)
            verify(command, self.hub_key)
        except DecodeError as error:
            raise Refused("malformed", error.reason) from None
        except BadSignature as error:
            raise Refused("bad signature", str(error)) from None
        if command.device_id != self.device_id:
            raise Refused("wrong device", f"addressed to {command.device_id}")
        if command.seq <= self.store.last_command_seq():
            raise Refused("replayed or stale", f"command seq {command.seq}")
        self._check_fresh(command)
        self.store.accept_command_seq(command.seq)
        return command

    def _check_fresh(self, command: Command) -> None:
        """Fresh by the hub's clock. With no hub time heard yet, refused: a command that
        arrives before any ``hub_state`` is most likely one the broker kept for this node
        while it was away (they are delivered first on reconnect), and its age cannot be
        told. Refusing costs little: the office sends it again, and it is then obeyed."""
        hub_now = self.hub_clock.now()
        if hub_now is None:
            raise Refused("no hub time", f"seq {command.seq}: no hub_state heard yet")
        if hub_now > command.expires_at + COMMAND_CLOCK_TOLERANCE_S:
            late = hub_now - command.expires_at
            raise Refused("expired command", f"seq {command.seq} expired {late:.0f} s ago")
        ahead = command.issued_at - hub_now
        if ahead > COMMAND_CLOCK_TOLERANCE_S + self.hub_clock.lag_bound_s:
            raise Refused("issued in the future", f"seq {command.seq}: {ahead:.0f} s ahead")


@dataclass
class CommandRunner:
    """Checks each command and obeys it: ``identify`` blinks the LED (the room's cues refuse
    it during a Lockdown, when a light would show the room is occupied), ``republish``
    sends the status, ack and pending events again."""

    check: CommandCheck
    identify: Callable[[], object]
    republish: Callable[[], None]

    def obey(self, payload: bytes) -> Command:
        """Check the command and do it; :class:`Refused` if it may not be obeyed."""
        command = self.check.accept(payload)
        log.info(
            "%s: command #%d %s from %s",
            self.check.device_id,
            command.seq,
            command.kind.value,
            command.issued_by,
        )
        if command.kind is CommandKind.IDENTIFY:
            self.identify()
        else:  # REPUBLISH
            self.republish()
        return command
