"""The hub service: one loop running the MQTT session, the heartbeat and the HTTP API.

Directives are published retained, one topic per scope. On every (re)connect the hub
republishes the current directive of every scope, so a broker that lost its retained
messages (no persistence, or a new node) is repaired without anyone noticing.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import time
from collections.abc import Callable, Iterator

import aiomqtt
import uvicorn

from hub.api import create_app
from hub.bus import Bus, Change
from hub.campus import Campus, HubError
from hub.config import ConfigError, HubConfig, reload_inventory
from hub.guard import DeviceGuard, Flood
from hub.store import HubStore
from protocol.codec import DecodeError, decode, encode
from protocol.messages import (
    Ack,
    Command,
    CommandKind,
    DeviceStatus,
    Directive,
    Event,
    EventKind,
    HubState,
    Receipt,
)
from protocol.signing import BadSignature, sign, verify
from protocol.topics import DeviceChannel, Topics
from transport.outbound import Outbound
from transport.session import run_session
from transport.systemd import Notifier

log = logging.getLogger(__name__)

COMMAND_TTL_S = 60.0
"""A command queued by the broker for a node that is away is stale after this."""
_MAYBE_PANIC = b'"panic"'
"""In every encoded panic event (its kind); a payload without it cannot be one."""
_DECODERS: dict[DeviceChannel, type[DeviceStatus | Event | Ack]] = {
    DeviceChannel.STATUS: DeviceStatus,
    DeviceChannel.EVENT: Event,
    DeviceChannel.ACK: Ack,
}


class HubService:
    def __init__(
        self,
        config: HubConfig,
        *,
        clock: Callable[[], float] = time.time,
        notifier: Notifier | None = None,
    ) -> None:
        self.config = config
        self._systemd = notifier or Notifier("")
        self.connected = asyncio.Event()
        self.ready = asyncio.Event()
        self.bus = Bus()
        self._now = clock
        self._topics = Topics(config.site)
        self._store = HubStore(config.database)
        self.epoch = self._store.next_epoch()
        self.campus = Campus(
            inventory=config.inventory,
            store=self._store,
            signing_key=config.signing_key,
            publish_directive=self._publish_directive,
            bus=self.bus,
            clock=clock,
        )
        self.http_port = config.http_port
        self._inventory_stamp = config.inventory_file.stat().st_mtime
        self._out = Outbound()
        self.guard = DeviceGuard(clock=clock, on_change=self._flood_changed)

    @property
    def store(self) -> HubStore:
        return self._store

    async def run(self) -> None:
        # Bind before serving, so the port is known (0 picks a free one) and in use
        # before anyone is told the hub is ready.
        listener = socket.create_server((self.config.http_host, self.config.http_port))
        self.http_port = listener.getsockname()[1]
        server = _QuietServer(
            uvicorn.Config(
                create_app(self),
                host=self.config.http_host,
                port=self.config.http_port,
                log_level="warning",
                lifespan="off",
                proxy_headers=False,  # hub.proxies decides, from the site's trusted_proxies
            )
        )
        try:
            async with asyncio.TaskGroup() as group:
                group.create_task(self._link())
                group.create_task(self._heartbeat())
                group.create_task(server.serve(sockets=[listener]))
                group.create_task(self._mark_ready())
                group.create_task(self._systemd.keep_watchdog())
        finally:
            self._systemd.stopping()
            self._out.cancel()
            listener.close()
            self._store.close()

    @property
    def api_url(self) -> str:
        return f"http://{self.config.http_host}:{self.http_port}"

    async def _mark_ready(self) -> None:
        # systemd hears READY as soon as the API listens: a broker that is down at boot is
        # reported (STATUS=), not answered by restarting the hub in a loop.
        self._systemd.ready(f"serving {self.api_url}; waiting for the broker")
        await self.connected.wait()
        self.ready.set()
        log.info("hub ready: API on %s", self.api_url)

    # -- MQTT ------------------------------------------------------------------------------

    async def _link(self) -> None:
        await run_session(
            self.config.broker,
            client_id=f"roomcast-hub-{self.config.site}",
            will=self._will,
            farewell=self._will,
            on_connected=self._on_connected,
            on_message=self._dispatch,
            on_disconnected=self._on_disconnected,
            screen=self._screen,
        )

    def _state(self, *, online: bool) -> HubState:
        return HubState(
            online=online,
            epoch=self.epoch,
            heartbeat_s=self.config.heartbeat_s,
            time=self._now(),
            latest_seq=self.campus.latest_seq,
        )

    def _will(self) -> aiomqtt.Will:
        return aiomqtt.Will(
            self._topics.hub_state, encode(self._state(online=False)), qos=1, retain=True
        )

    async def _on_connected(self, client: aiomqtt.Client) -> None:
        self._out.client = client
        await client.subscribe(
            [(self._topics.device_wildcard(c), 1) for c in _DECODERS]
            + [(self._topics.directive_wildcard, 1)]  # our own, retained: see _adopt
        )
        for directive in self.campus.current_directives:
            self._publish_directive(directive)
        self._send(self._topics.hub_state, encode(self._state(online=True)), retain=True)
        self.connected.set()
        self._systemd.status(f"serving {self.api_url}; broker {self.config.broker.describe()}")
        log.info("hub connected to %s (epoch %d)", self.config.broker.describe(), self.epoch)

    def _on_disconnected(self) -> None:
        self._out.client = None
        self.connected.clear()
        self._systemd.status("broker link lost; reconnecting")

    async def _heartbeat(self) -> None:
        """Say the hub is alive; mark devices that have gone silent offline."""
        while True:
            await asyncio.sleep(self.config.heartbeat_s)
            self._send(self._topics.hub_state, encode(self._state(online=True)), retain=True)
            if self.connected.is_set():  # with no broker link, silence proves nothing
                self.campus.sweep()
            self.guard.floods()  # closes the floods that are over, which live views hear
            self._reload_inventory()

    def _reload_inventory(self) -> None:
        """Pick up rooms and devices provisioned (or revoked) while the hub runs."""
        try:
            stamp = self.config.inventory_file.stat().st_mtime
        except OSError:
            return
        if stamp == self._inventory_stamp:
            return
        self._inventory_stamp = stamp
        try:
            inventory = reload_inventory(self.config.inventory_file, self.config.site)
        except ConfigError as error:
            log.error("keeping the old inventory: %s", error)
            return
        if inventory != self.campus.inventory:
            for device_id in set(self.campus.devices) - set(inventory.devices):
                self.guard.forget(device_id)
            self.campus.replace_inventory(inventory)

    def _publish_directive(self, directive: Directive) -> None:
        topic = self._topics.directive(directive.scope, directive.target)
        self._send(topic, encode(directive), retain=True)

    def _send(self, topic: str, payload: bytes, *, retain: bool = False) -> None:
        """Publish without blocking the caller; a publish lost with the link is redone on
        reconnect (directives, state) or by the device resending (events -> receipts)."""
        self._out.publish(topic, payload, retain=retain)

    def send_command(self, device_id: str, kind: CommandKind, *, user: str) -> Command:
        """Sign and send one command to one device; recorded with who sent it."""
        if device_id not in self.campus.devices:
            raise HubError(f"unknown device {device_id!r}; see the site inventory", 404)
        now = self._now()
        command = sign(
            Command(
                seq=self._store.next_command_seq(),
                device_id=device_id,
                kind=kind,
                issued_at=now,
                expires_at=now + COMMAND_TTL_S,
                issued_by=user,
            ),
            self.config.signing_key,
        )
        self._send(self._topics.device(device_id, DeviceChannel.COMMAND), encode(command))
        self._store.audit(
            at=now,
            user=user,
            action=f"command {kind.value}",
            detail={"device_id": device_id, "seq": command.seq},
        )
        return command

    def _adopt(self, topic: str, payload: bytes) -> None:
        """Our own retained directives, echoed back: a store restored from an older backup
        learns the seq numbers already out there instead of reusing them."""
        if not payload:
            return
        try:
            directive = decode(payload, Directive)
            verify(directive, self.config.signing_key.public_key())
        except (DecodeError, BadSignature) as error:
            self._reject("not ours", topic, str(error))
            return
        if directive.seq > self.campus.latest_seq:
            self.campus.adopt(directive)

    def _dispatch(self, topic: str, payload: bytes) -> None:
        if topic.startswith(self._topics.directive_wildcard[:-1]):
            self._adopt(topic, payload)
            return
        parsed = self._topics.parse_device(topic)
        if parsed is None or parsed.channel not in _DECODERS:
            self._reject("unexpected topic", topic)
            return
        record = self.campus.devices.get(parsed.device_id)
        if record is None:
            self._reject("unknown device", topic, "not in the site inventory")
            return
        # An ignored device's messages that reach this far may hold a panic (_screen).
        admitted = not self.guard.ignoring(parsed.device_id)
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
        try:
            self._handle(parsed.device_id, message)
        except Exception:  # one bad message must not stop the hub
            log.exception("handler failed for %s", topic)
            self.campus.reject("handler error", topic)

    def _screen(self, topic: str, payload: bytes | bytearray) -> bool:
        """The budget, checked as each message arrives, before it is decoded or queued
        (hub.guard). From a device over its budget only what may be a panic goes on."""
        parsed = self._topics.parse_device(topic)
        record = None if parsed is None else self.campus.devices.get(parsed.device_id)
        if parsed is None or record is None:
            return True  # not a device's message, or an unknown one: _dispatch says which
        if self.guard.admit(parsed.device_id, record.room):
            return True
        if parsed.channel is DeviceChannel.EVENT and _MAYBE_PANIC in payload:
            return True  # decoded, and read against the panic budget, in _dispatch
        self._over_budget(parsed.device_id)
        return False

    def _panic_from_flood(self, message: DeviceStatus | Event | Ack) -> bool:
        return (
            isinstance(message, Event)
            and message.kind is EventKind.PANIC
            and self.guard.admit_panic(message.device_id)
        )

    def _over_budget(self, device_id: str) -> None:
        self.guard.dropped(device_id)
        self.campus.rejected["over budget"] += 1  # counted; the flood alarm says the rest

    def _handle(self, device_id: str, message: DeviceStatus | Event | Ack) -> None:
        record = self.campus.devices[device_id]
        if message.room != record.room:
            # Counted and logged, then handled as the inventory's room: a node moved to
            # another room but not yet reinstalled must still raise its alarm, and no
            # device can reach into another room by naming it.
            self.campus.reject("room mismatch", f"{device_id} says {message.room}")
        if isinstance(message, DeviceStatus):
            self.campus.on_status(device_id, message)
        elif isinstance(message, Ack):
            self.campus.on_ack(device_id, message)
        else:
            new = self.campus.on_event(device_id, message)
            if new is None:
                return
            receipt = Receipt(event_id=message.event_id, received_at=self._now(), duplicate=not new)
            self._send(self._topics.device(device_id, DeviceChannel.RECEIPT), encode(receipt))

    def _flood_changed(self, flood: Flood, started: bool) -> None:
        """A flood is an alarm: the board and the status list it while it lasts."""
        self.bus.publish(Change.FLOOD, device_id=flood.device_id, room=flood.room, active=started)
        if started:
            self._store.audit(
                at=flood.started,
                user="hub",
                action="device over its message budget",
                detail={"device_id": flood.device_id, "room": flood.room},
            )

    def _reject(self, reason: str, topic: str, detail: str = "") -> None:
        self.campus.reject(reason, f"{topic} {detail}")


class _QuietServer(uvicorn.Server):
    """uvicorn without its own signal handlers: the service owns SIGINT and SIGTERM."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield
