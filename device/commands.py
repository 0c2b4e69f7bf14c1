"""Signed commands from the hub: checked in full before anything is done.

A command is obeyed only if it decodes, the hub's key signed it, it is addressed to this
device, its ``seq`` is newer than the last command obeyed (kept on disk, so a replay after
a reboot is refused too), and it has not expired. Then :class:`CommandDesk` does what
it says: blink the LED for a technician (never in a Lockdown), or republish.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from device.store import DeviceStore
from protocol.codec import DecodeError, decode
from protocol.messages import Command, CommandKind
from protocol.signing import BadSignature, PublicKey, verify

log = logging.getLogger(__name__)


class Refused(Exception):
    """Why a command was not obeyed: ``reason`` is the counter's name."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason, self.detail = reason, detail


@dataclass
class CommandCheck:
    device_id: str
    hub_key: PublicKey
    store: DeviceStore
    wall_clock: Callable[[], float]

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
        if self.wall_clock() > command.expires_at:
            raise Refused("expired command", f"seq {command.seq} expired at {command.expires_at}")
        self.store.accept_command_seq(command.seq)
        return command


@dataclass
class CommandDesk:
    """Checks each command and obeys it: ``identify`` blinks the LED (the signals refuse
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
