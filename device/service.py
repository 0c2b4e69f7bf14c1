"""The classroom service: directives in, screen and acks out, panic events through the outbox.

One asyncio loop. Hardware callbacks arrive on library threads and are handed over with
``call_soon_threadsafe``; frames are rendered and written (blocking SPI/I2C or PNG) in a
worker thread (:mod:`device.panel`). The LED, buzzer, relays and signs follow
:mod:`device.cues`; the status, will and outbox resends are :mod:`device.announce`.
A part that fails is a fault (in the retained status and as a ``fault`` event), never a
crash: the panic button must keep working when the screen or the strobe does not.

systemd hears READY once the store is open, the parts are built and the first frame has
been drawn (or has failed: a dead display is a fault, not a reason to restart), not when
the broker answers: a node whose broker is down at boot must not be killed and restarted
for it, blanking its screen each time. STATUS= says whether the broker link is up.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter
from collections.abc import Callable, Mapping
from concurrent.futures import Executor
from contextlib import suppress
from types import MappingProxyType

from device.announce import Announcer
from device.commands import CommandCheck, CommandRunner
from device.config import BUTTON_EVENTS, DeviceConfig
from device.cues import RoomCues
from device.directives import DirectiveInbox
from device.events import EventOutbox
from device.faults import FaultRelay, for_status
from device.hubclock import HubClock
from device.panel import Panel
from device.refused import Refused
from device.screen import LinkState
from device.store import DeviceStore
from device.view import LinkView, screen_view
from hardware.interfaces import Display, Indicator, Inputs, Outputs, Sounder
from protocol.codec import DecodeError, decode, encode
from protocol.intervals import HEARTBEAT_MISSES
from protocol.messages import Ack, Directive, Event, EventKind, HubState, Receipt
from protocol.srp import Vocabulary
from protocol.topics import DeviceChannel, Topics
from transport.link import Link
from transport.systemd import Notifier

log = logging.getLogger(__name__)

TICK_SECONDS = 1.0


class DeviceService:
    """One classroom node. ``run()`` until cancelled; ``activate()`` is a completed press.

    Parts arrive opened (see :func:`device.build.build_hardware`); ``faults`` relays the
    reports of parts that failed before ``run()`` started. Frames are drawn in a thread
    of the service's own unless ``frame_worker`` is given (many services in one process).
    """

    def __init__(
        self,
        config: DeviceConfig,
        *,
        display: Display,
        inputs: Inputs,
        indicator: Indicator,
        vocabulary: Vocabulary | None = None,
        wall_clock: Callable[[], float] = time.time,
        notifier: Notifier | None = None,
        sounder: Sounder | None = None,
        outputs: Outputs | None = None,
        faults: FaultRelay | None = None,
        frame_worker: Executor | None = None,
    ) -> None:
        self.config = config
        self._systemd = notifier or Notifier("")
        self.rejected: Counter[str] = Counter()
        self.watchers: set[Callable[[], None]] = set()
        """Called on the loop after any change a person could see (screen, ack, outbox)."""
        self.acked_seq = 0
        self._inputs = inputs
        # The site's first language, and its others paged after it (``vocabulary``: one only).
        self._vocabulary = vocabulary or config.wording.first
        self._translations = () if vocabulary else config.wording.languages[1:]
        self._now = wall_clock
        self._topics = Topics(config.site)
        self._store = DeviceStore(config.state_dir / "device.db")
        self._inbox = DirectiveInbox(config, self._topics, self._store)
        self._ready = False
        self._hub: HubState | None = None
        self._hub_clock = HubClock()
        self._last_contact = time.monotonic()
        self._faults: dict[str, str] = {}
        self._fault_relay = faults or FaultRelay()
        self._panel = Panel(display, on_fault=self._on_fault, worker=frame_worker)
        self._cues = RoomCues(
            indicator, sounder, outputs, self._vocabulary, panic_chirp=config.panic_chirp
        )
        self._events = self._event_outbox()
        self._announce = Announcer(
            config,
            self._topics,
            self._store,
            send=self._send,
            wall_clock=self._now,
            hub_epoch=lambda: self._hub.epoch if self._hub else 0,
            faults=lambda: self._faults,
        )
        self._commands = CommandRunner(
            CommandCheck(config.device_id, config.hub_public_key, self._store, self._hub_clock),
            identify=self._cues.identify,
            republish=self._republish,
        )
        self._redraw = asyncio.Event()
        self.link = self._link()

    def _event_outbox(self) -> EventOutbox:
        return EventOutbox(
            self.config,
            self._store,
            send=lambda payload: self._send(DeviceChannel.EVENT, payload),
            cues=self._cues,
            wall_clock=self._now,
            effective=lambda: self.effective,
        )

    def pending_events(self) -> list[Event]:
        """Events still waiting for the hub's receipt."""
        return self._store.pending_events()

    @property
    def effective(self) -> Directive | None:
        return self._inbox.effective

    @property
    def shown_seq(self) -> int:
        """Sequence of the directive really on the display (0: none yet)."""
        return self._panel.shown_seq

    @property
    def faults(self) -> Mapping[str, str]:
        """Parts at fault now (part -> reason), as the retained status reports them."""
        return MappingProxyType(dict(self._faults))

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        self._inbox.restore()  # the last directive, shown as stale until the hub speaks
        self._cues.follow(self.effective, self.link_view().state)
        self._redraw.set()  # the first frame at once, not after a tick

        def on_activation(kind: str) -> None:  # on a gpiozero thread
            with suppress(RuntimeError):  # the loop closed while a button was held
                loop.call_soon_threadsafe(self.activate, BUTTON_EVENTS[kind])

        def on_fault(part: str, reason: str) -> None:  # on a gpiozero or serial thread
            with suppress(RuntimeError):
                loop.call_soon_threadsafe(self._on_fault, part, reason)

        self._fault_relay.attach(on_fault)
        self._inputs.start(on_activation, on_fault)
        try:
            async with asyncio.TaskGroup() as group:
                group.create_task(self._screen_loop())
                group.create_task(self.link.run())
                group.create_task(self._systemd.keep_watchdog())
                group.create_task(self._announce.repeat())
        finally:
            self._systemd.stopping()
            self._fault_relay.detach()
            self._inputs.close()
            self._panel.close()
            self._store.close()

    # -- the broker link -------------------------------------------------------------------

    def _link(self) -> Link:
        """The broker link and what it reads: the hub's state, our receipts and commands,
        our three scopes."""
        config = self.config
        link = Link(
            config.broker,
            client_id=f"roomcast-{config.site}-{config.device_id}",
            will=self._announce.will,
            farewell=self._announce.farewell,
            on_connect=self._on_connected,
            on_disconnect=self._on_disconnected,
            on_unhandled=self._reject,
        )
        link.route(self._topics.hub_state, self._on_hub_state)
        link.route(self._topics.device(config.device_id, DeviceChannel.RECEIPT), self._on_receipt)
        link.route(self._topics.device(config.device_id, DeviceChannel.COMMAND), self._on_command)
        for scope in self._topics.room_directives(config.building, config.room):
            link.route(scope, self._on_directive)
        return link

    @property
    def connected(self) -> asyncio.Event:
        """Set while the broker link is up."""
        return self.link.connected

    def _on_connected(self) -> None:
        self.acked_seq = 0  # an ack in flight when the link dropped may be lost: resend
        self._announce.publish_status()
        self._announce.resend_outbox()
        self._redraw.set()
        self._changed()
        self._systemd.status(self._broker_state())
        log.info("%s: connected to %s", self.config.device_id, self.config.broker.describe())

    def _on_disconnected(self) -> None:
        self._redraw.set()
        self._changed()
        self._systemd.status(self._broker_state())

    def _broker_state(self) -> str:
        """systemd's STATUS= line: is the broker link up."""
        state = "connected to" if self.connected.is_set() else "reconnecting to"
        return f"broker: {state} {self.config.broker.describe()}"

    def _reject(self, reason: str, topic: str, detail: str = "") -> None:
        self.rejected[reason] += 1
        self._changed()
        log.warning(
            "%s: rejected message on %s: %s %s", self.config.device_id, topic, reason, detail
        )

    def _send(self, channel: DeviceChannel, payload: bytes, retain: bool = False) -> None:
        # While disconnected nothing is sent: events wait in the outbox, status and acks
        # are re-sent on connect.
        topic = self._topics.device(self.config.device_id, channel)
        self.link.publish(topic, payload, retain=retain)

    # -- incoming --------------------------------------------------------------------------

    def _on_hub_state(self, topic: str, payload: bytes) -> None:
        try:
            state = decode(payload, HubState)
        except DecodeError as error:
            self._reject("malformed", topic, error.reason)
            return
        new_epoch = self._hub is None or state.epoch != self._hub.epoch
        self._hub = state
        self._last_contact = time.monotonic()
        if state.online:  # a will's time is when the hub connected, not now
            self._hub_clock.heard(state.time, heartbeat_s=state.heartbeat_s)
        if new_epoch and state.online:
            # A restarted hub has lost nothing (it has its store), but it may have missed
            # our status, ack and receipts while it was down: tell it again.
            self._republish()
        self._redraw.set()

    def _on_directive(self, topic: str, payload: bytes) -> None:
        if not payload:
            return  # a cleared retained topic: no directive at this scope
        try:
            applied = self._inbox.offer(topic, payload)
        except Refused as error:
            self._reject(error.reason, topic, error.detail)
            return
        if applied:
            self._cues.follow(self.effective, self.link_view().state)
            self._redraw.set()

    def _on_command(self, topic: str, payload: bytes) -> None:
        try:
            self._commands.obey(payload)
        except Refused as refused:
            self._reject(refused.reason, topic, refused.detail)

    def _republish(self) -> None:
        """The hub may have missed our status, ack and events: tell it again."""
        self.acked_seq = 0
        self._announce.publish_status()
        self._announce.resend_outbox()
        self._redraw.set()

    def _on_receipt(self, topic: str, payload: bytes) -> None:
        try:
            receipt = decode(payload, Receipt)
        except DecodeError as error:
            self._reject("malformed", topic, error.reason)
            return
        if self._events.receipted(receipt.event_id):
            self._changed()

    # -- activations and faults ------------------------------------------------------------

    def activate(self, kind: EventKind) -> Event | None:
        """A completed activation pattern (a press): stored, sent, confirmed on the LED."""
        return self._events.activate(kind)

    def _on_fault(self, part: str, reason: str) -> None:
        """A part failed (reason) or recovered (""): acted on once per change."""
        if not reason and not self._faults:
            return  # the usual case: every frame drawn says the display works
        part, reason = for_status(part), for_status(reason)
        if self._faults.get(part, "") == reason:
            return
        if reason:
            log.warning("%s: fault: %s: %s", self.config.device_id, part, reason)
            self._faults[part] = reason
            self._events.fault(part, reason)
        else:
            log.info("%s: %s recovered", self.config.device_id, part)
            self._faults.pop(part, None)
        self._announce.publish_status()
        self._changed()

    # -- the screen ------------------------------------------------------------------------

    def link_view(self) -> LinkView:
        age = time.monotonic() - self._last_contact
        if not self.connected.is_set() or self._hub is None:
            return LinkView(LinkState.LINK_LOST, age)
        if not self._hub.online:
            return LinkView(LinkState.HUB_OFFLINE, age)
        if age > self._hub.heartbeat_s * HEARTBEAT_MISSES:
            return LinkView(LinkState.LINK_LOST, age)
        return LinkView(LinkState.OK, age)

    def shown_time(self) -> float:
        """The time in the top bar: the hub's clock once heard (a room and its office
        should read the same time), the node's own until then."""
        hub_now = self._hub_clock.now()
        return self._now() if hub_now is None else hub_now

    async def _screen_loop(self) -> None:
        """Redraw when what the screen says changes, page long text, ack what is shown."""
        while True:
            # asyncio.timeout, not wait_for: on 3.11 wait_for can lose a cancellation
            # that races its inner wait, and the service would then never stop.
            with suppress(TimeoutError):
                async with asyncio.timeout(TICK_SECONDS):
                    await self._redraw.wait()
            self._redraw.clear()
            directive, link = self.effective, self.link_view()
            view = screen_view(
                directive,
                room_label=self.config.room_label,
                simulated=self.config.simulated,
                link=link,
                vocabulary=self._vocabulary,
                now=self.shown_time(),
                translations=self._translations,
            )
            self._cues.follow(directive, link.state)  # a sign says LINK LOST too
            if await self._panel.update(view, directive, time.monotonic()):
                self._changed()
            self._cues.show_state(directive, link.state)
            self._ack(directive)
            if not self._ready:  # the first frame is drawn, or the display is a fault
                self._ready = True
                self._systemd.ready(self._broker_state())

    def _ack(self, directive: Directive | None) -> None:
        """Only after the frame is drawn; again whenever the hub may have missed it."""
        if directive is None or not self.connected.is_set() or self.acked_seq == directive.seq:
            return
        if self.shown_seq != directive.seq:
            return
        ack = Ack(
            device_id=self.config.device_id,
            room=self.config.room,
            seq=directive.seq,
            shown_at=self._now(),
        )
        self._send(DeviceChannel.ACK, encode(ack))
        self.acked_seq = directive.seq
        self._changed()

    def _changed(self) -> None:
        for watcher in list(self.watchers):
            watcher()
