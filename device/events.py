"""Completed presses and faults become durable events; presses are confirmed to the room.

An event is committed to the outbox before it is sent, so a power cut right after the
press loses nothing; it leaves the outbox only when the hub's receipt arrives. The last
panic is kept in the store with it, so a cancel pressed after a restart (a power cut, a
crash) still withdraws it while the cancel window lasts. A staff report names the
directive on the screen (``seq``): at the hub it is the room's roll for that directive.
The LED confirms a press twice, when it is stored and when it is receipted (never in a
Lockdown: see :mod:`device.cues`); nothing about it is ever drawn on the screen.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable

from device.config import DeviceConfig
from device.cues import RoomCues
from device.faults import for_status
from device.store import DeviceStore
from protocol.codec import encode
from protocol.messages import ROLL_KINDS, Directive, Event, EventKind
from protocol.srp import is_idle

log = logging.getLogger(__name__)


class EventOutbox:
    """The node's events: made, stored, sent through ``send``, and receipted."""

    def __init__(
        self,
        config: DeviceConfig,
        store: DeviceStore,
        *,
        send: Callable[[bytes], None],
        cues: RoomCues,
        wall_clock: Callable[[], float],
        effective: Callable[[], Directive | None],
    ) -> None:
        self._config = config
        self._store = store
        self._send = send
        self._cues = cues
        self._now = wall_clock
        self._effective = effective
        self._sent: dict[str, EventKind] = {}
        self._last_panic = self._kept_panic()
        """The panic a cancel would withdraw: event id and ``time.monotonic()`` pressed."""

    def activate(self, kind: EventKind) -> Event | None:
        """A completed activation pattern: stored durably first, sent, then confirmed.

        Nothing about it reaches the screen: staff reports are silent, and a display
        seen from the hall must not show that anyone is in the room.
        """
        event = self._cancel_last_panic() if kind is EventKind.CANCEL else self._press(kind)
        if event is not None:
            self._sent[event.event_id] = event.kind
            self._cues.accepted(event.kind, self._effective())
        return event

    def fault(self, part: str, reason: str) -> Event:
        return self._event(EventKind.FAULT, detail=for_status(f"{part}: {reason}"))

    def receipted(self, event_id: str) -> bool:
        """The hub has the event: drop it from the outbox and tell the room it arrived."""
        if not self._store.remove_event(event_id):
            return False
        kind = self._sent.pop(event_id, None)
        if kind is not None:
            self._cues.delivered(kind, self._effective())
        return True

    def _press(self, kind: EventKind) -> Event:
        event = self._event(kind, seq=self._roll_seq(kind))
        if kind is EventKind.PANIC:
            self._last_panic = (event.event_id, time.monotonic())
        return event

    def _roll_seq(self, kind: EventKind) -> int | None:
        """A staff report is the room's roll for the directive on its screen (the hub
        records it against that one, however late it arrives); none when idle."""
        shown = self._effective()
        if kind not in ROLL_KINDS or shown is None or is_idle(shown.action):
            return None
        return shown.seq

    def _kept_panic(self) -> tuple[str, float] | None:
        """The store's last panic, if still inside the window by the wall clock (the
        monotonic clock restarts with the process); a clock that went back refuses it."""
        kept = self._store.last_panic()
        if kept is None:
            return None
        panic_id, pressed_at = kept
        elapsed = self._now() - pressed_at
        if not 0 <= elapsed <= self._config.cancel_window_s:
            return None
        return panic_id, time.monotonic() - elapsed

    def _cancel_last_panic(self) -> Event | None:
        device = self._config.device_id
        if self._last_panic is None:
            log.info("%s: cancel pressed with no panic to cancel", device)
            return None
        panic_id, at = self._last_panic
        if time.monotonic() - at > self._config.cancel_window_s:
            log.info("%s: cancel pressed after the window; the alert stands", device)
            return None
        self._last_panic = None
        return self._event(EventKind.CANCEL, cancels=panic_id)

    def _event(
        self,
        kind: EventKind,
        *,
        cancels: str | None = None,
        detail: str | None = None,
        seq: int | None = None,
    ) -> Event:
        event = Event(
            event_id=uuid.uuid4().hex,
            device_id=self._config.device_id,
            room=self._config.room,
            kind=kind,
            created_at=self._now(),
            cancels=cancels,
            detail=detail,
            seq=seq,
        )
        self._store.add_event(event)
        self._send(encode(event))
        return event
