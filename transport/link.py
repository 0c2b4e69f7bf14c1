"""The MQTT link a service owns: the only code that holds the aiomqtt client.

A service builds one :class:`Link`, registers its routes, and runs it for its lifetime.
aiomqtt does not reconnect by itself, so :meth:`Link.run` does, with jittered backoff;
the client id is fixed and the session persistent (see
:func:`transport.client.persistent_client`). On every (re)connect the link subscribes to
the filters of its routes, then calls the service's connect hook; when a connection ends
(or an attempt fails) it calls the disconnect hook. On cancellation (SIGTERM) the
farewell is published, retained, before disconnecting: the same "I am offline" the will
would say, but at once instead of after the keepalive.

Receiving: an exact topic is one dict lookup; only then are the wildcard filters scanned
(aiomqtt's own matching), and what a topic matched is cached, so a hub hearing the same
devices again pays a lookup, not a scan. One route per message: the exact one, else the
first wildcard registered that matches. A route may name a second handler for messages
the broker flags as retained (copies replayed because we subscribed, not news): the
district tells those from live ones to judge a school's link. Each handler is isolated:
one that raises is logged and counted, and the next message is handled as usual.

Publishing: :meth:`Link.publish` returns at once, because handlers and timers must not
wait for a PUBACK. It returns False (and counts it in ``unsent``) while no client is
connected: nothing was sent, and the caller decides (the node's events wait in its
outbox; the hub reports a directive as not yet published). True means the message was
handed to the connected client; the QoS 1 exchange then runs in the background, and a
publish that fails there (the link dropped, the PUBACK did not come within the client's
timeout, paho's queue was full) is counted in ``unconfirmed`` and logged. Neither is
retried here: the services redo what matters on reconnect (status, acks, directives) or
the other side resends (events, receipts). A sender that must know, and resends itself
when the answer is no (the district's requests, district.resend), awaits
:meth:`Link.publish_confirmed` instead: True only once the broker's PUBACK came, within
a bound (a clustered broker electing new stream leaders after a node died can hold it).
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Callable
from dataclasses import dataclass

import aiomqtt

from protocol.codec import encode
from protocol.messages import Message
from transport.backoff import Backoff
from transport.client import Screen, payload_bytes, persistent_client
from transport.endpoint import BrokerEndpoint

log = logging.getLogger(__name__)

Handler = Callable[[str, bytes], None]
"""Called with (topic, payload) for each message of a route, on the loop."""
Unhandled = Callable[[str, str], None]
"""Called with (reason, topic): "unexpected topic" (no route) or "handler error"."""

PUBACK_S = 10.0
"""How long :meth:`Link.publish_confirmed` waits for the PUBACK by default (aiomqtt's)."""
_MATCH_CACHE = 8192
"""Topics whose wildcard route is remembered: every device channel of a large school,
bounded so that a broker delivering endless new topics cannot grow the hub's memory."""


@dataclass(slots=True)
class Route:
    """One topic filter, its handler, and how its messages went."""

    topic_filter: str
    handler: Handler
    retained: Handler | None = None
    """For messages with the retain flag (replayed on subscribe); None: ``handler``."""
    handled: int = 0
    failed: int = 0
    """Messages whose handler raised (each also counted in ``handled``)."""


def _log_unhandled(reason: str, topic: str) -> None:
    """The default; a service passes its own, which counts and logs it in its own terms."""
    log.warning("message on %s not handled: %s", topic, reason)


class Link:
    """``link.route(...)`` for every topic, then ``await link.run()`` until cancelled."""

    def __init__(
        self,
        endpoint: BrokerEndpoint | tuple[BrokerEndpoint, ...],
        *,
        client_id: str,
        will: Callable[[], aiomqtt.Will] | None,
        farewell: Callable[[], aiomqtt.Will] | None = None,
        on_connect: Callable[[], None] = lambda: None,
        on_disconnect: Callable[[], None] = lambda: None,
        on_unhandled: Unhandled = _log_unhandled,
        screen: Screen | None = None,
        backoff: Backoff | None = None,
    ) -> None:
        """``will`` is called per attempt (a node's session counter grows with each);
        ``screen`` may drop a message as it arrives, before it is even queued."""
        self._endpoints = endpoint if isinstance(endpoint, tuple) else (endpoint,)
        """Tried in turn: after a failed or lost connection, the next one (a clustered
        broker's nodes, for the district service; one broker for a school's services)."""
        self._attempt = 0
        self._client_id = client_id
        self._will, self._farewell, self._screen = will, farewell, screen
        self._on_connect, self._on_disconnect = on_connect, on_disconnect
        self._on_unhandled = on_unhandled
        self._backoff = backoff or Backoff()
        self.connected = asyncio.Event()
        """Set while a client is connected and subscribed to every route."""
        self._reconnect = asyncio.Event()
        self.unsent = 0
        """Publishes refused at once: no client was connected."""
        self.unconfirmed = 0
        """Publishes handed to a client that then failed (no PUBACK, link lost, queue full)."""
        self.unrouted = 0
        """Messages that matched no route (a session left subscribed by an older version)."""
        self._client: aiomqtt.Client | None = None
        self._exact: dict[str, Route] = {}
        self._wildcards: list[tuple[aiomqtt.Wildcard, Route]] = []
        self._running = False
        self._failure_logged = False
        self._publishes: set[asyncio.Task[bool]] = set()
        self._wildcard_route = functools.lru_cache(maxsize=_MATCH_CACHE)(self._scan)

    # -- routes ----------------------------------------------------------------------------

    def route(
        self, topic_filter: str, handler: Handler, *, retained: Handler | None = None
    ) -> Route:
        """Send the messages of ``topic_filter`` (a topic, or a filter with ``+``/``#``)
        to ``handler``, and those flagged retained to ``retained`` if given. Routes are
        fixed before :meth:`run`: they are what it subscribes."""
        if self._running:
            raise RuntimeError("routes are fixed once the link runs; add them before run()")
        wildcard = aiomqtt.Wildcard(topic_filter)  # raises on a malformed filter
        if any(route.topic_filter == topic_filter for route in self.routes):
            raise ValueError(f"{topic_filter!r} already has a route")
        route = Route(topic_filter, handler, retained)
        if "+" in topic_filter or "#" in topic_filter:
            self._wildcards.append((wildcard, route))
            self._wildcard_route.cache_clear()
        else:
            self._exact[topic_filter] = route
        return route

    @property
    def routes(self) -> tuple[Route, ...]:
        return (*self._exact.values(), *(route for _, route in self._wildcards))

    def deliver(self, topic: str, payload: bytes, *, retained: bool = False) -> None:
        """Hand one message to its route's handler: what :meth:`run` does with each."""
        route = self._exact.get(topic) or self._wildcard_route(topic)
        if route is None:
            self.unrouted += 1
            self._on_unhandled("unexpected topic", topic)
            return
        route.handled += 1
        handler = route.retained if retained and route.retained is not None else route.handler
        try:
            handler(topic, payload)
        except Exception:  # one bad message must not stop the service
            route.failed += 1
            log.exception("%s: handler failed for %s", self._client_id, topic)
            self._on_unhandled("handler error", topic)

    def _scan(self, topic: str) -> Route | None:
        parsed = aiomqtt.Topic(topic)
        return next((route for w, route in self._wildcards if parsed.matches(w)), None)

    # -- publishing ------------------------------------------------------------------------

    def publish(self, topic: str, message: Message | bytes, *, retain: bool = False) -> bool:
        """QoS 1 in the background: True if handed to a connected client, False if there
        is none (nothing sent). Failures after the hand-over are counted and logged."""
        client = self._client
        if client is None:
            self.unsent += 1
            return False
        payload = message if isinstance(message, bytes) else encode(message)
        task = asyncio.get_running_loop().create_task(self._confirm(client, topic, payload, retain))
        self._publishes.add(task)
        task.add_done_callback(self._publishes.discard)
        return True

    async def publish_confirmed(
        self,
        topic: str,
        message: Message | bytes,
        *,
        retain: bool = False,
        timeout_s: float = PUBACK_S,
    ) -> bool:
        """QoS 1, awaited: True once the broker acknowledged it; False if no client is
        connected (counted in ``unsent``), or the PUBACK did not come within ``timeout_s``
        or the link failed first (counted in ``unconfirmed``). False does not mean the
        message was lost, only that nobody knows: the caller decides whether to resend."""
        client = self._client
        if client is None:
            self.unsent += 1
            return False
        payload = message if isinstance(message, bytes) else encode(message)
        return await self._confirm(client, topic, payload, retain, timeout_s)

    async def _confirm(
        self,
        client: aiomqtt.Client,
        topic: str,
        payload: bytes,
        retain: bool,
        timeout_s: float | None = None,
    ) -> bool:
        try:
            await client.publish(topic, payload, qos=1, retain=retain, timeout=timeout_s)
        except aiomqtt.MqttError as error:
            self.unconfirmed += 1
            # A lost link fails every publish in flight at once: say so once per connection.
            if not self._failure_logged:
                self._failure_logged = True
                log.warning(
                    "%s: publish to %s not confirmed (%s); further failures on this "
                    "connection are only counted",
                    self._client_id,
                    topic,
                    error,
                )
            return False
        return True

    # -- the connection --------------------------------------------------------------------

    async def run(self) -> None:
        """Stay connected until cancelled."""
        self._running = True
        try:
            while True:
                endpoint = self._endpoints[self._attempt % len(self._endpoints)]
                try:
                    async with persistent_client(
                        endpoint,
                        client_id=self._client_id,
                        will=None if self._will is None else self._will(),
                        screen=self._screen,
                    ) as client:
                        self._backoff.reset()
                        await self._serve(client)
                    continue  # left on purpose (reconnect): straight back
                except aiomqtt.MqttError as error:
                    self._attempt += 1
                    log.warning(
                        "%s: broker link %s: %s", self._client_id, endpoint.describe(), error
                    )
                finally:
                    self._client = None
                    self.connected.clear()
                    self._on_disconnect()
                await asyncio.sleep(self._backoff.next_delay())
        finally:
            for task in list(self._publishes):
                task.cancel()

    def reconnect(self) -> None:
        """Leave the broker cleanly and connect again at once.

        For a backlog the hub must not read: what a flooding device sent before the broker
        was told to drop it (hub.quarantine) waits in the broker's queue for this client and
        in the socket's buffers. A new connection leaves both behind, while the persistent
        session keeps every QoS 1 message meant for us (every other room's press) for the
        new one; QoS 0 messages (the flood's) the broker does not keep for a session."""
        self._reconnect.set()

    async def _serve(self, client: aiomqtt.Client) -> None:
        try:
            if filters := [(route.topic_filter, 1) for route in self.routes]:
                await client.subscribe(filters)
            self._client = client
            self._failure_logged = False
            self.connected.set()
            self._on_connect()
            reading = asyncio.ensure_future(self._read(client))
            asked = asyncio.ensure_future(self._reconnect.wait())
            try:
                await asyncio.wait({reading, asked}, return_when=asyncio.FIRST_COMPLETED)
            finally:
                for task in (reading, asked):
                    task.cancel()
            if not asked.cancelled() and asked.done():
                self._reconnect.clear()
                log.warning("%s: reconnecting to leave a backlog behind", self._client_id)
                return
            await reading  # its error, if it ended with one
        except asyncio.CancelledError:
            if self._farewell is not None:
                await _say_goodbye(client, self._farewell())
            raise

    async def _read(self, client: aiomqtt.Client) -> None:
        async for message in client.messages:
            self.deliver(message.topic.value, payload_bytes(message), retained=message.retain)


async def _say_goodbye(client: aiomqtt.Client, goodbye: aiomqtt.Will) -> None:
    try:
        async with asyncio.timeout(2):
            await client.publish(goodbye.topic, goodbye.payload, qos=1, retain=True)
    except (TimeoutError, aiomqtt.MqttError) as error:
        log.warning("could not say goodbye before stopping (%s); the last will will", error)
