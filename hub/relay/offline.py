"""A room's display going offline while the room is under a Lockdown, handed off where asked.

During a Lockdown the office sees each room only through its display's acks; a display
that goes dark then (a power cut, a cut cable, someone pulling it from the wall) is a room
the office can no longer reach, which a monitoring centre may want to know about. A
destination takes it only with ``offline_during_lockdown = true`` (and a drill's Lockdown
only with ``drills = true`` as well).

**What counts.** The relay heard from the bus that the device was online, then that it is
offline (its last will, its goodbye, or the hub's sweep of a silent device), and the room's
directive in force is a Lockdown at that moment. The key is ``offline:<device>:<session>``:
the will, a goodbye and the sweep of one connection are one message, and a device that
comes back and drops again is a new one.

**Not from the record.** Presence is not history in the hub's store (only the latest
status of each device is), so the relay queues this when the bus tells it, in one fsynced
transaction per destination, and from there it is as durable as any message. Two limits
follow, and docs/integrations.md says them: a display that drops while the hub is down,
or in the instant before a hub crash, is not handed off (a restarted hub cannot tell a
display that dropped during the Lockdown from one that was off before it), and a bus
that had to drop updates for a slow reader may drop this one.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from hub.bus import Change, Update
from hub.relay.cap import MAPPING, CapDraft, circle, identifier, sent
from hub.relay.cap_records import DRILL_NOTE
from hub.relay.config import OFFLINE_KIND
from hub.relay.mail_text import local_time
from hub.relay.messages import Context, Message, _encode, _head, _place, _site, directive_fields
from protocol.inventory import Room
from protocol.messages import Directive
from protocol.srp import Action

if TYPE_CHECKING:
    from hub.engine import Engine


@dataclass(frozen=True)
class Offline:
    """One display seen going offline in a room under a Lockdown."""

    device_id: str
    session: int
    room: Room
    lockdown: Directive
    at: float

    @property
    def key(self) -> str:
        return f"offline:{self.device_id}:{self.session}"


class OfflineWatch:
    """What the relay last heard of each device, to see it go from online to offline."""

    def __init__(self, engine: Engine, *, clock: Callable[[], float]) -> None:
        self._engine, self._now = engine, clock
        self._online: dict[str, bool] = {}

    def seen(self, update: Update) -> Offline | None:
        """``update`` (a DEVICE change): the display that just went offline under a
        Lockdown, or None."""
        device_id, online = update.get("device_id"), update.get("online")
        if update.get("kind") != Change.DEVICE or not isinstance(device_id, str):
            return None
        if not isinstance(online, bool):
            return None
        was, self._online[device_id] = self._online.get(device_id, False), online
        if online or not was:
            return None
        presence = self._engine.presence
        record = presence.devices.get(device_id)
        room = None if record is None else presence.inventory.rooms.get(record.room)
        if record is None or room is None:
            return None
        directive = self._engine.directives.effective(room)
        if directive is None or directive.action is not Action.LOCKDOWN:
            return None
        return Offline(device_id, record.session, room, directive, self._now())


def offline_message(offline: Offline, context: Context) -> Message:
    """The webhook's JSON (kind ``offline_during_lockdown``, the Lockdown in ``directive``)
    and, for CAP destinations, its alert."""
    drill = offline.lockdown.drill
    body: dict[str, Any] = _head(offline.key, OFFLINE_KIND, drill, offline.at, _site(context))
    body |= {"during_drill": drill}
    body |= _place(offline.room) | {
        "device": offline.device_id,
        "event": None,
        "directive": directive_fields(offline.lockdown, context),
        "console_url": f"{context.site.console_url}/board",
    }
    cap = None if context.cap is None else offline_alert(offline, context)
    return Message(offline.key, OFFLINE_KIND, drill, _encode(body), cap=cap)


def offline_alert(offline: Offline, context: Context) -> CapDraft:
    """An ``Alert`` of its own, never an ``Update`` of the Lockdown: an Update replaces
    what it references, and a receiver would take the Lockdown as over."""
    site, room, lockdown = context.site, offline.room, offline.lockdown
    where = f"{site.name}, building {room.building}, {room.label} (room {room.id})"
    term = context.describe(lockdown)["term"]
    drill = " (DRILL)" if lockdown.drill else ""
    return CapDraft(
        identifier=identifier(context.site_id, offline.key),
        sender=site.cap_sender,
        sent=sent(offline.at),
        status="Exercise" if lockdown.drill else "Actual",
        msg_type="Alert",
        mapping=MAPPING[OFFLINE_KIND],
        headline=f"DISPLAY OFFLINE DURING {term}{drill}: {where}",
        description=(
            f"The display of {where} (device {offline.device_id}) went offline at "
            f"{local_time(offline.at)} while the room is under {term} (directive "
            f"{lockdown.seq}, issued by {lockdown.issued_by}). The office can no longer "
            "see that room's screen or its acknowledgements."
        ),
        instruction="Check on the room per the school's plan: its display may be without "
        "power or disconnected.",
        web=f"{site.console_url}/board",
        area=where,
        circle=circle(site),
        geocode=site.geocode,
        note=DRILL_NOTE if lockdown.drill else None,
    )
