"""Cutting a flooding device off at the broker: the one measure that frees the hub's link.

The hub's budget (:mod:`hub.guard`) ignores a flooding device, but it still reads each of
its messages, on the one connection that carries every other room too. A device flooding
flat out fills the broker's queue to the hub, and Mosquitto then drops *other rooms'*
messages for the hub (its log: "Outgoing messages are being dropped for client ...";
docs/BENCHMARKS.md). Mosquitto has no per-client rate limit; its ACL, re-read on SIGHUP and
applied to connections already open, is the lever. So a device that goes on flooding is
listed in ``quarantine.json`` in the hub's state directory, and a privileged step outside
the hub, ``roomcast provision quarantine``, rewrites the ACL without that device's write
grants and reloads the broker. On a hub host that step is a systemd path unit watching the
file (systemd/roomcast-quarantine.path), as root; where the hub runs as the broker's own
user (the demo, the tests, the benchmarks) the hub runs it itself (``quarantine.command`` in
hub.json). Either way the hub can only ask for grants to be taken away, never given.

The hub believes the cut-off only once the privileged step confirms it (``quarantine.applied``
beside the request, written after the broker's reload); until then, or if that never
comes, the office's alarm says the broker has not been told. Once confirmed, the hub
connects to the broker afresh: the flood it had not yet read (up to the broker's queue for
it and the socket's buffers, seconds of reading) stays behind with the old connection,
while its persistent session keeps every QoS 1 message for it, every other room's press.

The device keeps its read grants, so its display still shows the directives. Its panic
button reaches nobody while it is cut off, and the office is told so in those words; a
real node keeps an unreceipted press in its outbox and sends it once the cut-off ends.
A cut-off lasts 2 minutes, doubled each time the same device floods again within the hour,
up to 32 minutes; revoking the device (provisioning) is what ends it for good.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

from hub.guard import Flood

log = logging.getLogger(__name__)

QUARANTINE_FILE = "quarantine.json"
FORMAT = 1
FIRST_CUT_OFF_S = 120.0
LONGEST_CUT_OFF_S = 32 * 60.0
REPEAT_WITHIN_S = 3600.0
"""A device that floods again this soon after its last cut-off ended gets twice as long."""
REAP_S = 5.0
"""How long a stopping hub waits for a killed quarantine command to be reaped."""
APPLY_TIMEOUT_S = 30.0
CONFIRMATION_FILE = "quarantine.applied"
"""Written beside the request by the privileged step once the broker has reloaded: the
request's ``version`` it applied. Until then the hub does not claim the device is cut off."""
CONFIRM_WITHIN_S = 30.0
POLL_S = 0.05
REQUEST_PLACEHOLDER = "{request}"
"""In ``quarantine.command``, replaced by the path of the file the hub writes."""
CONFIRMATION_PLACEHOLDER = "{confirmation}"
"""... and this by the confirmation's path (CONFIRMATION_FILE)."""


@dataclass(frozen=True)
class CutOff:
    """A device the broker has been asked to silence: what the office is told of it."""

    device_id: str
    room: str
    since: float
    until: float
    messages: int
    """What it had sent in its flood when it was cut off."""
    not_applied: str | None = None
    """Why the broker could not be told (the command failed), or None."""

    def describe(self) -> str:
        until = time.strftime("%H:%M:%S", time.localtime(self.until))
        text = (
            f"{self.device_id} (room {self.room}) flooded the hub ({self.messages:,} messages); "
            f"it is cut off at the broker until {until}. A panic from room {self.room} cannot "
            "reach the office until then: check on the room another way."
        )
        if self.not_applied is not None:
            text += f" The broker could not be told: {self.not_applied}."
        return text

    def as_dict(self) -> dict[str, object]:
        return {"text": self.describe(), "cut_off_until": self.until} | asdict(self)


DeviceAlarm = Flood | CutOff
"""What the office is told of a device misbehaving: a flood ridden out, or a cut-off."""


class BrokerQuarantine:
    """The devices cut off at the broker, kept in a file the privileged step reads."""

    def __init__(
        self,
        path: Path,
        *,
        command: Sequence[str] = (),
        clock: Callable[[], float] = time.time,
        on_change: Callable[[CutOff, bool], None] = lambda entry, started: None,
        on_applied: Callable[[bool], None] = lambda applied: None,
        on_cut_off_applied: Callable[[], None] = lambda: None,
    ) -> None:
        self.path = path
        places = {
            REQUEST_PLACEHOLDER: str(path),
            CONFIRMATION_PLACEHOLDER: str(path.with_name(CONFIRMATION_FILE)),
        }
        self._command = tuple(places.get(word, word) for word in command)
        self._now = clock
        self._on_change = on_change
        self._on_applied = on_applied
        """Told after each request, whether the broker confirmed it (live views re-read)."""
        self._on_cut_off_applied = on_cut_off_applied
        """Told once the broker drops a newly cut-off device's messages: the hub's link
        may still hold its backlog, which a fresh connection leaves behind."""
        self.confirmation = path.with_name(CONFIRMATION_FILE)
        self._version, self._entries = _load(path)
        self._fresh = False
        """A cut-off began that the broker has not yet confirmed."""
        self._last: dict[str, tuple[float, float]] = {}
        """device id -> (when its last cut-off ends, how long it was), for repeats."""
        self._dirty = asyncio.Event()
        self._not_applied: str | None = None

    def cut_off(self, flood: Flood) -> float:
        """Ask for ``flood``'s device to be cut off (the guard's ``on_cut_off``): until when."""
        now = self._now()
        ended, length = self._last.get(flood.device_id, (0.0, 0.0))
        repeat = now - ended < REPEAT_WITHIN_S
        length = min(2 * length, LONGEST_CUT_OFF_S) if repeat else FIRST_CUT_OFF_S
        entry = CutOff(flood.device_id, flood.room, now, now + length, flood.received)
        self._entries[flood.device_id] = entry
        self._last[flood.device_id] = (entry.until, length)
        self._fresh = True
        log.critical(
            "CUT OFF: device %s (room %s) sent %d messages; asking the broker to drop what it "
            "sends for %.0f s (%s)",
            flood.device_id,
            flood.room,
            flood.received,
            length,
            self.path,
        )
        self._changed(entry, started=True)
        return entry.until

    def expire(self) -> None:
        """End the cut-offs whose time is up (the heartbeat calls this)."""
        now = self._now()
        for entry in [e for e in self._entries.values() if e.until <= now]:
            del self._entries[entry.device_id]
            log.warning("cut-off over: device %s (room %s)", entry.device_id, entry.room)
            self._changed(entry, started=False)

    def forget(self, device_id: str) -> None:
        """A revoked device: the ACL no longer names it, so there is nothing to cut off."""
        entry = self._entries.pop(device_id, None)
        self._last.pop(device_id, None)
        if entry is not None:
            self._changed(entry, started=False)

    def entries(self) -> list[CutOff]:
        return [
            replace(entry, not_applied=self._not_applied)
            for entry in sorted(self._entries.values(), key=lambda e: e.since)
        ]

    def cut_off_ids(self) -> frozenset[str]:
        return frozenset(self._entries)

    async def run(self) -> None:
        """Have the broker agree with the file: at start if there is one (written again, so
        the path unit runs too; a hub that never cut a device off asks nothing), and after
        every change; each time, wait for the broker's confirmation."""
        if self.path.exists():
            self._write()
            self._dirty.set()
        while True:
            await self._dirty.wait()
            self._dirty.clear()
            if self._command and not await self._apply():
                continue
            await self._await_confirmation()

    async def _await_confirmation(self) -> None:
        version = self._version
        for _ in range(int(CONFIRM_WITHIN_S / POLL_S)):
            if self._confirmed() >= version:
                break
            if self._version > version:
                return  # a newer request: its confirmation covers this one
            await asyncio.sleep(POLL_S)  # another process writes it: no event to wait on
        else:
            self._failed(
                f"no confirmation in {self.confirmation} within {CONFIRM_WITHIN_S:.0f} s "
                "(is roomcast-quarantine.path running? journalctl -u roomcast-quarantine)"
            )
            return
        self._not_applied = None
        log.info("the broker confirmed the cut-offs (request %d)", version)
        self._on_applied(True)
        if self._fresh:
            self._fresh = False
            self._on_cut_off_applied()

    def _confirmed(self) -> int:
        """The request version the broker last confirmed, or -1."""
        try:
            return int(json.loads(self.confirmation.read_text(encoding="utf-8"))["version"])
        except (OSError, ValueError, TypeError, KeyError):
            return -1

    def _changed(self, entry: CutOff, *, started: bool) -> None:
        self._write()
        self._dirty.set()
        self._on_change(entry, started)

    def _write(self) -> None:
        """Atomically, so the path unit never reads half a file. Not fsynced: a file lost
        to a power cut only ends a cut-off early, and the flood would start a new one."""
        devices = {
            e.device_id: {k: v for k, v in asdict(e).items() if k != "not_applied"}
            for e in self._entries.values()
        }
        self._version += 1
        request = {"format": FORMAT, "version": self._version, "devices": devices}
        text = json.dumps(request, indent=2, sort_keys=True)
        temporary = self.path.with_name(self.path.name + ".tmp")
        temporary.write_text(text + "\n", encoding="utf-8")
        temporary.replace(self.path)

    async def _apply(self) -> bool:
        try:
            process = await asyncio.create_subprocess_exec(
                *self._command,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.STDOUT,
            )
        except OSError as error:
            self._failed(f"cannot run {self._command[0]}: {error}")
            return False
        try:
            output, _ = await asyncio.wait_for(process.communicate(), APPLY_TIMEOUT_S)
        except TimeoutError:
            self._failed(f"{self._command[0]} took longer than {APPLY_TIMEOUT_S:.0f} s")
            return False
        finally:
            if process.returncode is None:  # timed out, or the hub is stopping: reap it
                with contextlib.suppress(ProcessLookupError):  # it ended meanwhile
                    process.kill()
                # Bounded like every wait: a hub stopping must never hang on its child.
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(process.wait(), REAP_S)
        lines = output.decode(errors="replace").strip().splitlines()
        if process.returncode != 0:
            self._failed(f"{self._command[0]} exited {process.returncode}: {lines[-1:]}")
            return False
        log.info("broker quarantine applied: %s", lines[-1] if lines else "ok")
        return True

    def _failed(self, why: str) -> None:
        self._not_applied = why
        log.error("the broker quarantine could not be applied: %s", why)
        self._on_applied(False)


def _load(path: Path) -> tuple[int, dict[str, CutOff]]:
    """The request version and the cut-offs a previous run left; a broken file is logged
    and read as none (a flood that goes on cuts the device off again within a second)."""
    try:
        data: Any = json.loads(path.read_text(encoding="utf-8"))
        version = int(data.get("version", 0))
        entries = {
            device_id: CutOff(
                device_id=device_id,
                room=str(fields["room"]),
                since=float(fields["since"]),
                until=float(fields["until"]),
                messages=int(fields["messages"]),
            )
            for device_id, fields in data["devices"].items()
        }
    except FileNotFoundError:
        return 0, {}
    except (OSError, ValueError, TypeError, KeyError, AttributeError) as error:
        log.error("ignoring %s (%s): no device is cut off at the start", path, error)
        return 0, {}
    return version, entries
