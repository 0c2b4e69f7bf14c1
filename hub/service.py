"""The hub service: one loop running the MQTT link, the heartbeat and the HTTP API.

This module puts the parts together (store, directive engine, device guard and intake,
link, web app and, with a ``relay.toml``, the relay and the weather poller) and runs them;
what arrives from devices is :mod:`hub.intake`'s. The relay reads only the store's record,
so it is given the store's file, the engine and the bus, and nothing of the link.

Directives are published retained, one topic per scope. On every (re)connect the hub
republishes the current directive of every scope, so a broker that lost its retained
messages (no persistence, or a new node) is repaired without anyone noticing.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import signal
import socket
import time
from collections.abc import Callable, Iterator

import aiomqtt
import uvicorn

from hub.app import create_app
from hub.bus import Bus, Change
from hub.config import ConfigError, HubConfig, reload_inventory
from hub.district import District
from hub.engine import Engine
from hub.errors import NotFound
from hub.guard import DeviceGuard
from hub.intake import DEVICE_CHANNELS, DeviceIntake, report_cut_off, report_flood
from hub.parts import HubParts
from hub.quarantine import QUARANTINE_FILE, BrokerQuarantine, DeviceAlarm
from hub.relay.relay import Relay
from hub.relay.reload import reload_relay
from hub.relay.views import HandOffs
from hub.store import HubStore
from hub.weather.poller import WeatherPoller
from protocol.codec import encode
from protocol.messages import Command, CommandKind, Directive, HubState, Message
from protocol.signing import sign
from protocol.topics import DeviceChannel, Topics
from transport.link import Link
from transport.systemd import Notifier

log = logging.getLogger(__name__)

COMMAND_TTL_S = 60.0
"""A command queued by the broker for a node that is away is stale after this."""


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
        self.ready = asyncio.Event()
        self.bus = Bus()
        self._now = clock
        self._topics = Topics(config.site)
        self._store = HubStore(config.database)
        self.epoch = self._store.next_epoch()
        self._published = (0, False)
        """(seq, handed to a connected client?) of the directive published last."""
        self.engine = Engine(
            inventory=config.inventory,
            store=self._store,
            signing_key=config.signing_key,
            publish_directive=self._publish_directive,
            bus=self.bus,
            clock=clock,
            wording=config.wording,
        )
        for code in config.wording.unchecked:
            log.warning(
                "wording: %s is Roomcast's shipped translation, not yet checked by the "
                "district; review it and set %s.checked = true in wording.toml",
                code,
                code,
            )
        self.http_port = config.http_port
        self._inventory_stamp = config.inventory_file.stat().st_mtime
        self.quarantine = BrokerQuarantine(
            config.state_dir / QUARANTINE_FILE,
            command=config.quarantine_command,
            clock=clock,
            on_change=functools.partial(report_cut_off, self.bus, self._store),
            on_applied=lambda applied: self.bus.publish(Change.FLOOD, applied=applied),
            on_cut_off_applied=lambda: self.link.reconnect(),
        )
        self.guard = DeviceGuard(
            clock=clock,
            on_change=functools.partial(report_flood, self.bus, self._store),
            on_cut_off=self.quarantine.cut_off,
        )
        self.intake = DeviceIntake(
            engine=self.engine,
            guard=self.guard,
            topics=self._topics,
            hub_key=config.signing_key.public_key(),
            send=self._send,
            clock=clock,
        )
        self.district = (
            None
            if config.district is None
            else District.build(
                config.district,
                topics=self._topics,
                engine=self.engine,
                store=self._store,
                bus=self.bus,
                send=lambda topic, payload: self.link.publish(topic, payload, retain=True),
                epoch=self.epoch,
                clock=clock,
            )
        )
        self.link = self._link()
        self.relay = (
            None
            if config.relay is None
            else Relay(
                config.relay,
                database=config.database,
                site_id=config.site,
                engine=self.engine,
                bus=self.bus,
                clock=clock,
            )
        )
        self.handoffs = (
            None
            if self.relay is None
            else HandOffs(
                self.relay.config,
                self.relay.store,
                site_id=config.site,
                bus=self.bus,
                wake=self.relay.wake,
                watchers=self.relay.watchers,
                clock=clock,
            )
        )

        self.weather = (
            None
            if config.weather is None
            else WeatherPoller(config.weather, store=self._store, bus=self.bus, clock=clock)
        )

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
                create_app(self._web_parts()),
                host=self.config.http_host,
                port=self.config.http_port,
                log_level="warning",
                lifespan="off",
                proxy_headers=False,  # hub.proxies decides, from the site's trusted_proxies
            )
        )
        loop = asyncio.get_running_loop()
        with contextlib.suppress(ValueError):  # not the main thread (a test's hub): no SIGHUP
            loop.add_signal_handler(signal.SIGHUP, self.reload)
        try:
            async with asyncio.TaskGroup() as group:
                group.create_task(self.link.run())
                group.create_task(self._heartbeat())
                group.create_task(server.serve(sockets=[listener]))
                group.create_task(self._mark_ready())
                group.create_task(self._systemd.keep_watchdog())
                group.create_task(self.quarantine.run())
                if self.relay is not None:
                    group.create_task(self.relay.run())
                if self.weather is not None:
                    group.create_task(self.weather.run())  # never raises: a feed is outside
                if self.district is not None:
                    group.create_task(self.district.summaries.run())
        finally:
            loop.remove_signal_handler(signal.SIGHUP)
            self._systemd.stopping()
            # Cancelled, uvicorn never shut its servers: stop the loop watching the socket
            # before closing it, or a later listener given the same fd number (another hub
            # in this process: a restart in a test) is never watched and accepts nothing.
            for serving in server.servers:
                serving.close()
            listener.close()
            self._store.close()

    def reload(self) -> None:
        """SIGHUP: re-read relay.toml (:mod:`hub.relay.reload`); a broken file changes nothing."""
        reload_relay(self.relay, self.handoffs)

    def _web_parts(self) -> HubParts:
        return HubParts(
            config=self.config,
            store=self._store,
            bus=self.bus,
            engine=self.engine,
            connected=self.connected.is_set,
            published=self.directive_published,
            floods=self.device_alarms,
            send_command=self.send_command,
            handoffs=self.handoffs,
            weather=self.weather,
        )

    def device_alarms(self) -> list[DeviceAlarm]:
        """Floods the hub is riding out, then the devices cut off at the broker (a cut-off
        outlasts its flood, and says what the office must do, so it replaces it)."""
        floods = [f for f in self.guard.floods() if f.cut_off_until is None]
        cut_off = self.quarantine.entries()
        return [f for f in floods if f.device_id not in {c.device_id for c in cut_off}] + cut_off

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

    def _link(self) -> Link:
        link = Link(
            self.config.broker,
            client_id=f"roomcast-hub-{self.config.site}",
            will=self._will,
            farewell=self._will,
            on_connect=self._on_connected,
            on_disconnect=self._on_disconnected,
            on_unhandled=self.engine.rejected.record,
            screen=self.intake.screen,
        )
        for channel in DEVICE_CHANNELS:
            link.route(self._topics.device_wildcard(channel), self.intake.on_device)
        link.route(self._topics.directive_wildcard, self.intake.on_directive)  # our own
        if self.district is not None:  # signed requests, across the bridge
            link.route(self._topics.district_requests, self.district.on_request)
        return link

    @property
    def connected(self) -> asyncio.Event:
        """Set while the broker link is up."""
        return self.link.connected

    def _state(self, *, online: bool) -> HubState:
        return HubState(
            online=online,
            epoch=self.epoch,
            heartbeat_s=self.config.heartbeat_s,
            time=self._now(),
            latest_seq=self.engine.directives.latest_seq,
        )

    def _will(self) -> aiomqtt.Will:
        return aiomqtt.Will(
            self._topics.hub_state, encode(self._state(online=False)), qos=1, retain=True
        )

    def _on_connected(self) -> None:
        for directive in self.engine.directives.current:
            self._publish_directive(directive)
        self._send(self._topics.hub_state, self._state(online=True), retain=True)
        if self.district is not None:
            self.district.summaries.resend()
        self._systemd.status(f"serving {self.api_url}; broker {self.config.broker.describe()}")
        log.info("hub connected to %s (epoch %d)", self.config.broker.describe(), self.epoch)

    def _on_disconnected(self) -> None:
        self._systemd.status("broker link lost; reconnecting")

    async def _heartbeat(self) -> None:
        """Say the hub is alive; mark devices that have gone silent offline."""
        while True:
            await asyncio.sleep(self.config.heartbeat_s)
            self._send(self._topics.hub_state, self._state(online=True), retain=True)
            if self.connected.is_set():  # with no broker link, silence proves nothing
                self.engine.presence.sweep()
            self.guard.floods()  # closes the floods that are over, which live views hear
            self.quarantine.expire()
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
        if inventory != self.engine.presence.inventory:
            for device_id in set(self.engine.presence.devices) - set(inventory.devices):
                self.guard.forget(device_id)
                self.quarantine.forget(device_id)
            self.engine.presence.replace_inventory(inventory)

    def _publish_directive(self, directive: Directive) -> None:
        topic = self._topics.directive(directive.scope, directive.target)
        self._published = (directive.seq, self._send(topic, directive, retain=True))

    def directive_published(self, seq: int) -> bool:
        """Was directive ``seq``, when last published, handed to a connected client? If
        not, the next connect publishes it (the current directive of every scope)."""
        return self._published == (seq, True)

    def _send(self, topic: str, message: Message, *, retain: bool = False) -> bool:
        """Publish without blocking the caller; a publish lost with the link is redone on
        reconnect (directives, state) or by the device resending (events -> receipts)."""
        return self.link.publish(topic, message, retain=retain)

    def send_command(self, device_id: str, kind: CommandKind, *, user: str) -> Command:
        """Sign and send one command to one device; recorded with who sent it."""
        if device_id not in self.engine.presence.devices:
            raise NotFound(f"unknown device {device_id!r}; see the site inventory")
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
        self._send(self._topics.device(device_id, DeviceChannel.COMMAND), command)
        self._store.audit(
            at=now,
            user=user,
            action=f"command {kind.value}",
            detail={"device_id": device_id, "seq": command.seq},
        )
        return command


class _QuietServer(uvicorn.Server):
    """uvicorn without its own signal handlers: the service owns SIGINT and SIGTERM."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield
