"""The classroom service: directives in, screen and acks out, panic events through the outbox.

One asyncio loop. Hardware callbacks arrive on library threads and are handed over with
``call_soon_threadsafe``; frame writes (blocking SPI/I2C or PNG) run in a worker thread.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections import Counter
from collections.abc import Callable, Coroutine
from contextlib import suppress
from typing import Any

import aiomqtt
from PIL import Image

from device.config import FIRMWARE, DeviceConfig
from device.screen import LinkState, ScreenView, render_pages
from device.store import DeviceStore
from device.view import LinkView, brightness, indicator, screen_view
from hardware.interfaces import Display, Indicator, Inputs
from protocol.codec import DecodeError, decode, encode
from protocol.messages import Ack, DeviceStatus, Directive, Event, EventKind, HubState, Receipt
from protocol.rules import DirectiveBook, Offer
from protocol.signing import BadSignature, verify_directive
from protocol.srp import Vocabulary
from protocol.topics import DeviceChannel, ScopeKind, Topics
from transport.session import run_session
from transport.systemd import Notifier

log = logging.getLogger(__name__)

PAGE_SECONDS = 4.0
RESEND_EVERY_S = 5.0
STATUS_EVERY_S = 20.0
"""The hub marks a node offline after 60 s without a word: three missed repeats."""
TICK_SECONDS = 1.0


class DeviceService:
    """One classroom node. ``run()`` until cancelled; ``activate()`` is a completed press."""

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
    ) -> None:
        self.config = config
        self._systemd = notifier or Notifier("")
        self.rejected: Counter[str] = Counter()
        self.connected = asyncio.Event()
        self.shown_seq = 0
        self.watchers: set[Callable[[], None]] = set()
        """Called on the loop after any change a person could see (screen, ack, outbox)."""
        self.acked_seq = 0
        self._display, self._inputs, self._indicator = display, inputs, indicator
        self._vocabulary = vocabulary or Vocabulary()
        self._now = wall_clock
        self._topics = Topics(config.site)
        self._store = DeviceStore(config.state_dir / "device.db")
        self._book = DirectiveBook()
        self._client: aiomqtt.Client | None = None
        self._session = 0
        self._hub: HubState | None = None
        self._last_contact = time.monotonic()
        self._faults: dict[str, str] = {}
        self._last_panic: tuple[str, float] | None = None
        self._redraw = asyncio.Event()
        self._tasks: set[asyncio.Task[None]] = set()
        self._handlers: dict[str, Callable[[str, bytes], None]] = {
            self._topics.hub_state: self._on_hub_state,
            self._topics.device(config.device_id, DeviceChannel.RECEIPT): self._on_receipt,
        }
        for topic in self._scope_topics():
            self._handlers[topic] = self._on_directive

    def _scope_topics(self) -> list[str]:
        return [
            self._topics.directive(ScopeKind.SITE),
            self._topics.directive(ScopeKind.BUILDING, self.config.building),
            self._topics.directive(ScopeKind.ROOM, self.config.room),
        ]

    def pending_events(self) -> list[Event]:
        """Events still waiting for the hub's receipt."""
        return self._store.pending_events()

    @property
    def effective(self) -> Directive | None:
        return self._book.effective(room=self.config.room, building=self.config.building)

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        self._restore_directives()

        def on_activation(kind: str) -> None:  # on a gpiozero thread
            loop.call_soon_threadsafe(self._on_activation, kind)

        def on_fault(part: str, reason: str) -> None:  # on a gpiozero or serial thread
            loop.call_soon_threadsafe(self._on_fault, part, reason)

        self._inputs.start(on_activation, on_fault)
        try:
            async with asyncio.TaskGroup() as group:
                group.create_task(self._screen_loop())
                group.create_task(self._link())
                group.create_task(self._systemd.keep_watchdog())
                group.create_task(self._repeat_status())
        finally:
            self._systemd.stopping()
            for task in self._tasks:
                task.cancel()
            self._inputs.close()
            self._store.close()

    # -- the broker link -------------------------------------------------------------------

    async def _link(self) -> None:
        await run_session(
            self.config.broker,
            client_id=f"roomcast-{self.config.site}-{self.config.device_id}",
            will=self._will,
            farewell=self._farewell,
            on_connected=self._on_connected,
            on_message=self._dispatch,
            on_disconnected=self._on_disconnected,
        )

    def _will(self) -> aiomqtt.Will:
        self._session = self._store.next_session()
        return self._farewell()

    def _farewell(self) -> aiomqtt.Will:
        return aiomqtt.Will(
            self._topics.device(self.config.device_id, DeviceChannel.STATUS),
            encode(self._status(online=False)),
            qos=1,
            retain=True,
        )

    async def _on_connected(self, client: aiomqtt.Client) -> None:
        self._client = client
        self.acked_seq = 0  # an ack in flight when the link dropped may be lost: resend
        await client.subscribe([(topic, 1) for topic in self._handlers])
        await self._publish_status()
        self._resend_outbox()
        self.connected.set()
        self._redraw.set()
        self._changed()
        self._systemd.ready(f"connected to {self.config.broker.describe()}")
        log.info("%s: connected to %s", self.config.device_id, self.config.broker.describe())

    def _on_disconnected(self) -> None:
        self._client = None
        self.connected.clear()
        self._redraw.set()
        self._changed()
        self._systemd.status("broker link lost; reconnecting")

    def _dispatch(self, topic: str, payload: bytes) -> None:
        handler = self._handlers.get(topic)
        if handler is None:
            self._reject("unexpected topic", topic)
            return
        try:
            handler(topic, payload)
        except Exception:  # one bad message must not stop the node
            log.exception("%s: handler failed for %s", self.config.device_id, topic)
            self.rejected["handler error"] += 1

    def _reject(self, reason: str, topic: str, detail: str = "") -> None:
        self.rejected[reason] += 1
        self._changed()
        log.warning(
            "%s: rejected message on %s: %s %s", self.config.device_id, topic, reason, detail
        )

    def _send(self, channel: DeviceChannel, payload: bytes, *, retain: bool = False) -> None:
        client = self._client
        if client is None:
            return  # events wait in the outbox; status and acks are re-sent on connect
        topic = self._topics.device(self.config.device_id, channel)
        self._spawn(client.publish(topic, payload, qos=1, retain=retain))

    def _spawn(self, coroutine: Coroutine[Any, Any, None]) -> None:
        async def guarded() -> None:
            with suppress(aiomqtt.MqttError):  # lost with the link; re-sent on reconnect
                await coroutine

        task = asyncio.get_running_loop().create_task(guarded())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _repeat_status(self) -> None:
        """Repeat the retained status, so the hub can tell a silent node from a quiet one;
        and resend events whose receipt is overdue (the hub may have died between storing
        an event and receipting it: it de-duplicates, so resending is always safe)."""
        elapsed = 0.0
        while True:
            await asyncio.sleep(RESEND_EVERY_S)
            elapsed += RESEND_EVERY_S
            self._resend_outbox(older_than_s=RESEND_EVERY_S)
            if elapsed >= STATUS_EVERY_S:
                elapsed = 0.0
                await self._publish_status()

    def _resend_outbox(self, *, older_than_s: float = 0.0) -> None:
        cutoff = self._now() - older_than_s
        for event in self._store.pending_events():
            if event.created_at <= cutoff:
                self._send(DeviceChannel.EVENT, encode(event))

    async def _publish_status(self) -> None:
        self._send(DeviceChannel.STATUS, encode(self._status(online=True)), retain=True)

    def _status(self, *, online: bool) -> DeviceStatus:
        return DeviceStatus(
            device_id=self.config.device_id,
            room=self.config.room,
            online=online,
            session=self._session,
            firmware=FIRMWARE,
            time=self._now(),
            hub_epoch=self._hub.epoch if self._hub else 0,
            faults=dict(self._faults),
        )

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
        if new_epoch and state.online:
            # A restarted hub has lost nothing (it has its store), but it may have missed
            # our status, ack and receipts while it was down: tell it again.
            self.acked_seq = 0
            self._spawn(self._publish_status())
            self._resend_outbox()
        self._redraw.set()

    def _on_directive(self, topic: str, payload: bytes) -> None:
        if not payload:
            return  # a cleared retained topic: no directive at this scope
        try:
            directive = decode(payload, Directive)
            verify_directive(directive, self.config.hub_public_key)
        except DecodeError as error:
            self._reject("malformed", topic, error.reason)
            return
        except BadSignature as error:
            self._reject("bad signature", topic, str(error))
            return
        if self._topics.directive(directive.scope, directive.target) != topic:
            self._reject("wrong scope", topic, f"seq {directive.seq} is for {directive.scope}")
            return
        outcome = self._book.offer(directive)
        if outcome is Offer.STALE:
            self._reject("replayed or stale", topic, f"seq {directive.seq}")
        elif outcome is Offer.APPLIED:
            self._store.save_directive(directive)
            self._redraw.set()

    def _on_receipt(self, topic: str, payload: bytes) -> None:
        try:
            receipt = decode(payload, Receipt)
        except DecodeError as error:
            self._reject("malformed", topic, error.reason)
            return
        if self._store.remove_event(receipt.event_id):
            self._indicator_flash_delivered()
            self._changed()

    def _restore_directives(self) -> None:
        """Show the last known directive after a restart (marked stale until the hub speaks)."""
        for directive in self._store.load_directives():
            try:
                verify_directive(directive, self.config.hub_public_key)
            except BadSignature:
                continue
            self._book.offer(directive)

    # -- activations and faults ------------------------------------------------------------

    def activate(self, kind: str) -> Event | None:
        """A completed activation pattern. Stored durably first, then sent."""
        if kind == EventKind.CANCEL.value:
            return self._cancel_last_panic()
        try:
            event_kind = EventKind(kind.replace("-", "_"))
        except ValueError:
            log.error("%s: input bound to unknown event kind %r", self.config.device_id, kind)
            return None
        event = self._event(event_kind)
        if event_kind is EventKind.PANIC:
            self._last_panic = (event.event_id, time.monotonic())
        return event

    def _cancel_last_panic(self) -> Event | None:
        if self._last_panic is None:
            log.info("%s: cancel pressed with no panic to cancel", self.config.device_id)
            return None
        panic_id, at = self._last_panic
        if time.monotonic() - at > self.config.cancel_window_s:
            log.info("%s: cancel pressed after the window; the alert stands", self.config.device_id)
            return None
        self._last_panic = None
        return self._event(EventKind.CANCEL, cancels=panic_id)

    def _event(self, kind: EventKind, **fields: str) -> Event:
        event = Event(
            event_id=uuid.uuid4().hex,
            device_id=self.config.device_id,
            room=self.config.room,
            kind=kind,
            created_at=self._now(),
            **fields,
        )
        self._store.add_event(event)
        self._send(DeviceChannel.EVENT, encode(event))
        return event

    def _on_activation(self, kind: str) -> None:
        self.activate(kind)

    def _on_fault(self, part: str, reason: str) -> None:
        if reason:
            self._faults[part] = reason
            self._event(EventKind.FAULT, detail=f"{part}: {reason}"[:200])
        else:
            self._faults.pop(part, None)
        self._spawn(self._publish_status())

    def _indicator_flash_delivered(self) -> None:
        """Receipt feedback; the hardware issue adds a distinct LED pattern."""
        self._redraw.set()

    # -- the screen ------------------------------------------------------------------------

    def link_view(self) -> LinkView:
        age = time.monotonic() - self._last_contact
        if self._client is None or self._hub is None:
            return LinkView(LinkState.LINK_LOST, age)
        if not self._hub.online:
            return LinkView(LinkState.HUB_OFFLINE, age)
        if age > self._hub.heartbeat_s * self.config.heartbeat_misses:
            return LinkView(LinkState.LINK_LOST, age)
        return LinkView(LinkState.OK, age)

    async def _screen_loop(self) -> None:
        """Redraw when what the screen says changes, page long text, ack what is shown."""
        shown: ScreenView | None = None
        pages: list[Image.Image] = []
        page, page_since = 0, 0.0
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
                room_label=self.config.room_name or self.config.room,
                link=link,
                vocabulary=self._vocabulary,
                now=self._now(),
            )
            now = time.monotonic()
            if view != shown:
                pages = render_pages(view, self._display.size, self._display.mode)
                page, page_since = 0, now
            elif len(pages) > 1 and now - page_since >= PAGE_SECONDS:
                page, page_since = (page + 1) % len(pages), now
            else:
                self._ack(directive)
                continue
            await asyncio.to_thread(self._show, pages[page], directive, link.state)
            shown = view
            self._changed()
            self._ack(directive)

    def _show(self, frame: Image.Image, directive: Directive | None, link: LinkState) -> None:
        self._display.set_brightness(brightness(directive))
        self._display.show(frame)
        self._indicator.show(*indicator(directive, link, self._vocabulary))
        self.shown_seq = directive.seq if directive else 0

    def _ack(self, directive: Directive | None) -> None:
        """Only after the frame is drawn; again whenever the hub may have missed it."""
        if directive is None or self._client is None or self.acked_seq == directive.seq:
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
