"""The relay: what the hub recorded, handed to dispatch and other systems, nothing lost.

Two kinds of task run in the hub's TaskGroup, under :meth:`Relay.run`:

- the *reader* wakes on every change the bus reports (and every ``poll_s`` regardless, as
  the bus may drop a wake-up under load), and for each destination moves what the store
  recorded past that destination's cursor into its outbox (:mod:`hub.relay.store`): one
  fsynced transaction, so a ``kill -9`` at any point loses nothing and queues nothing
  twice. Nothing here is called by an HTTP handler or the MQTT intake; the record is the
  only source.
- one *sender* per destination takes its oldest undelivered message, tries it, records the
  attempt, and only on a success (a 2xx, an SMTP 250) moves to the next: delivery in
  order, at least once, with the idempotency key (``event:<id>``, ``directive:<seq>``)
  for the receiver to drop a repeat.
  A failure waits an exponential back-off with full jitter (:class:`transport.backoff.
  Backoff`), or at least ``Retry-After`` on 429/503 (capped at ``backoff_max_s``: no
  receiver may park an alert for a day), then tries the same message again, for as long
  as it takes: an alert is never given up on.

A destination's trouble stays its own: each sender has its own HTTP client and catches
everything but cancellation, so a receiver that is down, slow or broken can neither stop
the hub's TaskGroup nor delay the MQTT side or another destination. What a destination
speaks (a signed POST, an SMTP submission) is behind :class:`~hub.relay.destination.
Destination`; everything here is the same for every kind.

**Reload** (:meth:`Relay.reload`, on the hub's SIGHUP): a destination that is new gets a
cursor at the present and a sender; one removed has its sender stopped; one whose settings
changed has its sender restarted with them. The outbox is keyed by the destination's name,
so whatever a remaining destination had queued stays queued, in order, and is delivered
with its new settings (a message interrupted mid-attempt is sent again: at least once).
A removed destination's undelivered messages and cursor stay in the store, untouched: put
it back under the same name and it resumes where it stopped, nothing lost.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import time
from collections.abc import Callable
from pathlib import Path

from hub.bus import Bus, Change, Update
from hub.engine import Engine
from hub.relay.cap_records import CapWriter, writer_for
from hub.relay.config import DestinationSettings, RelayConfig
from hub.relay.destination import Destination, open_destination, queued_body
from hub.relay.messages import Context, message_for
from hub.relay.offline import OfflineWatch, offline_message
from hub.relay.store import Pending, RelayStore
from transport.backoff import Backoff

log = logging.getLogger(__name__)

_RECORDS = frozenset({Change.EVENT, Change.DIRECTIVE})
"""The changes that put something in the record the relay reads (acks do not)."""


class Relay:
    def __init__(
        self,
        config: RelayConfig,
        *,
        database: Path,
        site_id: str,
        engine: Engine,
        bus: Bus,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.store = RelayStore(database)
        self._bus, self._now = bus, clock
        self._engine, self._site_id = engine, site_id
        self._use(config)
        self._offline = OfflineWatch(engine, clock=clock)
        self._work = {hook.name: asyncio.Event() for hook in config.destinations}
        self.watchers: set[Callable[[], None]] = set()
        """Called after every recorded attempt (tests wait on them; so can a live view)."""
        # Read (or started at the present) now: from here on nothing recorded is missed.
        # The relay is the cursors' only writer, so they are kept in memory after this.
        self._cursors = {hook.name: self.store.cursor(hook.name) for hook in config.destinations}
        self._group: asyncio.TaskGroup | None = None
        self._senders: dict[str, asyncio.Task[None]] = {}

    def _use(self, config: RelayConfig) -> None:
        """What the reader builds messages with: the site's details, the CAP writer."""
        engine = self._engine
        self.config = config
        self.cap: CapWriter = writer_for(
            engine,
            site_id=self._site_id,
            site=config.site,
            drill_in_room=drill_in_room_of(engine),
            panic_at=self.store.received_at,
        )
        """CAP 1.2 of each record, for the [[cap]] destinations and the feed."""
        self._context = Context(
            site_id=self._site_id,
            site=config.site,
            room=lambda room_id: engine.presence.inventory.rooms.get(room_id),
            drill_in_room=drill_in_room_of(engine),
            describe=engine.directives.describe,
            cap=self.cap.draft if config.caps else None,
            vocabulary=engine.directives.vocabulary,
        )

    async def run(self) -> None:
        try:
            async with asyncio.TaskGroup() as group:
                self._group = group
                group.create_task(self._read())
                for hook in self.config.destinations:
                    self._start_sender(hook)
        finally:
            self._group = None
            self.store.close()

    def _start_sender(self, hook: DestinationSettings) -> None:
        assert self._group is not None
        self._senders[hook.name] = self._group.create_task(self._deliver(hook))

    def reload(self, config: RelayConfig) -> dict[str, list[str]]:
        """Use ``config`` from now on (see the module's docstring); the names added,
        removed and changed."""
        old = {hook.name: hook for hook in self.config.destinations}
        new = {hook.name: hook for hook in config.destinations}
        changes = {
            "added": [name for name in new if name not in old],
            "removed": [name for name in old if name not in new],
            "changed": [name for name in new if name in old and new[name] != old[name]],
        }
        for name in changes["removed"] + changes["changed"]:
            task = self._senders.pop(name, None)
            if task is not None:
                task.cancel()
        for name in changes["added"]:
            self._work[name] = asyncio.Event()
            self._cursors[name] = self.store.cursor(name)  # a new one starts at the present
        self._use(config)
        if self._group is not None:
            for name in changes["added"] + changes["changed"]:
                self._start_sender(new[name])
        for name in changes["removed"]:
            self._work.pop(name, None)
            self._cursors.pop(name, None)
        return changes

    # -- reading the record --------------------------------------------------------------

    async def _read(self) -> None:
        with self._bus.subscribe() as changes:
            while True:
                try:
                    self.catch_up()
                except Exception:  # a store hiccup: the next wake-up reads again
                    log.exception("relay: reading the record failed; retrying")
                await self._recorded(changes)

    async def _recorded(self, changes: asyncio.Queue[Update]) -> None:
        """Until the bus says something was recorded, or ``poll_s`` passes."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(self.config.poll_s):
                while not self._saw(await changes.get()):
                    pass
        while not changes.empty():  # one read covers a burst of changes
            self._saw(changes.get_nowait())

    def _saw(self, update: Update) -> bool:
        """Whether ``update`` says something was recorded; a display going offline in a
        room under Lockdown is queued here (hub/relay/offline.py: it is not in the record)."""
        if update["kind"] == Change.DEVICE:
            try:
                self._queue_offline(update)
            except Exception:  # a store hiccup must not stop the reader
                log.exception("relay: queueing a display offline during a Lockdown failed")
        return update["kind"] in _RECORDS

    def _queue_offline(self, update: Update) -> None:
        offline = self._offline.seen(update)
        if offline is None:
            return
        message = offline_message(offline, self._context)
        for hook in self.config.destinations:
            if hook.takes(message.kind, message.drill):
                body = queued_body(hook, message)
                self.store.enqueue_direct(hook.name, message.key, body, at=self._now())
                self._work[hook.name].set()
        log.warning(
            "relay: display %s of room %s offline during a Lockdown: queued %s",
            offline.device_id,
            offline.room.id,
            message.key,
        )

    def catch_up(self) -> None:
        """Queue, for every destination, what was recorded past its cursor."""
        for hook in self.config.destinations:
            cursor = self._cursors[hook.name]
            while True:
                found, moved = self.store.recorded_after(cursor)
                if moved == cursor:
                    break
                messages = [message_for(r, self._context) for r in found]
                wanted = [
                    (m.key, queued_body(hook, m)) for m in messages if hook.takes(m.kind, m.drill)
                ]
                if self.store.enqueue(hook.name, wanted, moved, at=self._now()):
                    self._work[hook.name].set()
                cursor = self._cursors[hook.name] = moved

    def wake(self, name: str) -> None:
        """Something was queued for ``name`` outside the record (a test): try it now."""
        if name in self._work:
            self._work[name].set()

    # -- delivering ------------------------------------------------------------------------

    async def _deliver(self, hook: DestinationSettings) -> None:
        backoff = Backoff(initial_s=hook.backoff_initial_s, maximum_s=hook.backoff_max_s)
        sender = await self._sender(hook, backoff)
        try:
            while True:
                try:
                    pending = self.store.next_pending(hook.name)
                    if pending is None:
                        await self._idle(hook.name)
                        continue
                    delay = await self._attempt(sender, pending, backoff)
                    for watcher in list(self.watchers):
                        watcher()
                    await asyncio.sleep(delay)
                except Exception:  # never let one destination stop the hub or the others
                    log.exception("relay: %s: unexpected failure; retrying", hook.name)
                    await asyncio.sleep(backoff.next_delay())
        finally:
            await sender.aclose()

    async def _sender(self, hook: DestinationSettings, backoff: Backoff) -> Destination:
        """The destination's client; a CA file broken since the hub started is retried
        (and logged), never a reason for the hub to stop."""
        while True:
            try:
                return open_destination(hook, clock=self._now)
            except (OSError, ValueError) as error:  # ssl.SSLError is an OSError
                log.error("relay: %s: cannot set up TLS (%s); retrying", hook.name, error)
                await asyncio.sleep(backoff.next_delay())

    async def _idle(self, name: str) -> None:
        work = self._work[name]
        work.clear()
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(self.config.poll_s):
                await work.wait()

    async def _attempt(self, sender: Destination, pending: Pending, backoff: Backoff) -> float:
        """Try ``pending`` once and record it; how long to wait before the next try."""
        hook = sender.settings
        attempt, delivered = await sender.send(pending)
        if delivered:
            backoff.reset()
            self.store.record(pending, attempt, delivered=True)
            log.info(
                "relay: %s: %s delivered (%.0f ms)", hook.name, pending.key, attempt.duration_ms
            )
            return 0.0
        delay = backoff.next_delay()
        if attempt.retry_in_s is not None:  # the receiver said when: it knows its load
            delay = max(delay, min(attempt.retry_in_s, hook.backoff_max_s))
        self.store.record(pending, dataclasses.replace(attempt, retry_in_s=delay), delivered=False)
        log.warning(
            "relay: %s: %s not delivered (%s); retrying in %.2f s",
            hook.name,
            pending.key,
            attempt.result,
            delay,
        )
        return delay


def drill_in_room_of(engine: Engine) -> Callable[[str], bool]:
    """Is the directive in force in a room a drill? (False for a room no longer known.)"""

    def drill_in_room(room_id: str) -> bool:
        room = engine.presence.inventory.rooms.get(room_id)
        directive = None if room is None else engine.directives.effective(room)
        return directive is not None and directive.drill

    return drill_in_room
