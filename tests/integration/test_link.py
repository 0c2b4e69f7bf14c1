"""The MQTT link on a real broker: routes, isolated handlers, honest publishes, reconnects,
and its client, which writes every packet out when it is queued."""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import os
import signal
from collections.abc import AsyncIterator, Callable
from typing import Any

import aiomqtt
import pytest

from hub.config import load_hub_config
from hub.directives import DirectiveRequest
from hub.service import HubService
from protocol.srp import Action
from protocol.topics import DeviceChannel, Topics
from provisioning.throwaway import ThrowawaySite
from roomcast.broker import MosquittoProcess
from tests.conftest import WAIT, identity, mqtt_as
from transport.backoff import Backoff
from transport.client import NO_DELAY, EagerClient, tls_parameters
from transport.endpoint import BrokerEndpoint
from transport.link import Link

pytestmark = pytest.mark.integration


def test_the_aiomqtt_method_the_client_overrides_is_still_there() -> None:
    # If an aiomqtt upgrade renames or reshapes it, EagerClient silently stops applying.
    method = vars(aiomqtt.Client)["_on_socket_register_write"]
    assert list(inspect.signature(method).parameters) == ["self", "client", "userdata", "sock"]


def eager(site: ThrowawaySite, broker: MosquittoProcess, who: str) -> EagerClient:
    endpoint = BrokerEndpoint(host="127.0.0.1", port=broker.port, tls=identity(site, who))
    return EagerClient(
        "127.0.0.1",
        broker.port,
        identifier=f"test-eager-{who}",
        tls_params=tls_parameters(endpoint),
        socket_options=NO_DELAY,
    )


async def test_publishes_and_their_acks_are_written_without_a_loop_turn(
    site: ThrowawaySite, mosquitto: MosquittoProcess, monkeypatch: pytest.MonkeyPatch
) -> None:
    device = site.devices[0].device_id
    topic = Topics(site.site).device(device, DeviceChannel.EVENT)
    loop = asyncio.get_running_loop()
    writers: list[object] = []
    add_writer: Callable[..., None] = loop.add_writer

    def counting(fd: Any, callback: Callable[..., object], *args: Any) -> None:
        writers.append(fd)
        add_writer(fd, callback, *args)

    async with eager(site, mosquitto, "hub") as hub, eager(site, mosquitto, device) as node:
        await hub.subscribe(topic, qos=1)
        monkeypatch.setattr(loop, "add_writer", counting)
        for number in range(20):  # each waits for the broker's PUBACK
            await node.publish(topic, f"event {number}".encode(), qos=1)
        received = []
        async with asyncio.timeout(WAIT):
            async for message in hub.messages:  # the hub's PUBACKs go out as they arrive
                received.append(message.payload)
                if len(received) == 20:
                    break
    assert received == [f"event {number}".encode() for number in range(20)]
    assert writers == []  # no packet waited for the socket's writer


# -- the link ------------------------------------------------------------------------------


class Recorder:
    """Collects (topic, payload) pairs from routes and the link's hooks, to wait on."""

    def __init__(self) -> None:
        self.messages: asyncio.Queue[tuple[str, bytes]] = asyncio.Queue()
        self.unhandled: list[tuple[str, str]] = []
        self.connects: asyncio.Queue[None] = asyncio.Queue()
        self.disconnects: asyncio.Queue[None] = asyncio.Queue()

    def __call__(self, topic: str, payload: bytes) -> None:
        self.messages.put_nowait((topic, payload))

    async def next(self) -> tuple[str, bytes]:
        async with asyncio.timeout(WAIT):
            return await self.messages.get()


def hub_link(site: ThrowawaySite, recorder: Recorder, **options: Any) -> Link:
    """A link with the hub's identity, to the site's broker, reporting to ``recorder``."""
    topics = Topics(site.site)
    endpoint = BrokerEndpoint(host="127.0.0.1", port=site.broker.port, tls=identity(site, "hub"))
    return Link(
        endpoint,
        client_id="test-link-hub",
        will=lambda: aiomqtt.Will(topics.hub_state, b"will", qos=1, retain=True),
        on_connect=lambda: recorder.connects.put_nowait(None),
        on_disconnect=lambda: recorder.disconnects.put_nowait(None),
        on_unhandled=lambda reason, topic: recorder.unhandled.append((reason, topic)),
        **options,
    )


@contextlib.asynccontextmanager
async def running(link: Link) -> AsyncIterator[None]:
    """The link runs inside the block (connected on entry) and is cancelled on leaving."""
    task = asyncio.create_task(link.run())
    try:
        async with asyncio.timeout(WAIT):
            await link.connected.wait()
        yield
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


async def device_publishes(site: ThrowawaySite, broker: MosquittoProcess, *payloads: bytes) -> str:
    device = site.devices[0].device_id
    topic = Topics(site.site).device(device, DeviceChannel.EVENT)
    async with mqtt_as(site, broker, device) as client:
        for payload in payloads:
            await client.publish(topic, payload, qos=1)
    return topic


async def test_exact_topics_and_wildcard_filters_reach_their_handlers(
    site: ThrowawaySite, mosquitto: MosquittoProcess
) -> None:
    topics, exact, wildcard = Topics(site.site), Recorder(), Recorder()
    link = hub_link(site, exact)
    state_route = link.route(topics.hub_state, exact)
    event_route = link.route(topics.device_wildcard(DeviceChannel.EVENT), wildcard)
    async with running(link):
        assert link.publish(topics.hub_state, b"alive")  # the link hears its own
        assert await exact.next() == (topics.hub_state, b"alive")
        topic = await device_publishes(site, mosquitto, b"press")
        assert await wildcard.next() == (topic, b"press")
    assert (state_route.handled, event_route.handled) == (1, 1)
    assert exact.messages.empty() and wildcard.messages.empty()


async def test_a_route_can_tell_retained_copies_replayed_on_subscribe_from_live_messages(
    site: ThrowawaySite, mosquitto: MosquittoProcess
) -> None:
    topics, first, live, replayed = Topics(site.site), Recorder(), Recorder(), Recorder()
    publisher = hub_link(site, first)
    publisher.route(topics.hub_state, first)
    async with running(publisher):
        assert await publisher.publish_confirmed(topics.hub_state, b"old", retain=True)
        assert await first.next() == (topics.hub_state, b"old")  # live to its own subscriber
        listener = Link(
            BrokerEndpoint(host="127.0.0.1", port=site.broker.port, tls=identity(site, "hub")),
            client_id="test-link-listener",
            will=None,
        )
        route = listener.route(topics.hub_state, live, retained=replayed)
        async with running(listener):
            assert await replayed.next() == (topics.hub_state, b"old")  # replayed on subscribe
            assert await publisher.publish_confirmed(topics.hub_state, b"new", retain=True)
            assert await live.next() == (topics.hub_state, b"new")  # news, though retained
    assert live.messages.empty() and replayed.messages.empty() and route.handled == 2


async def test_a_handler_that_raises_is_counted_and_the_next_message_is_handled(
    site: ThrowawaySite, mosquitto: MosquittoProcess
) -> None:
    recorder = Recorder()

    def fragile(topic: str, payload: bytes) -> None:
        if payload == b"poison":
            raise RuntimeError("a bug in one handler")
        recorder(topic, payload)

    link = hub_link(site, recorder)
    route = link.route(Topics(site.site).device_wildcard(DeviceChannel.EVENT), fragile)
    async with running(link):
        topic = await device_publishes(site, mosquitto, b"poison", b"press")
        assert await recorder.next() == (topic, b"press")
        assert link.connected.is_set()
    assert (route.handled, route.failed) == (2, 1)
    assert recorder.unhandled == [("handler error", topic)]


def test_a_message_without_a_route_is_reported_not_dropped_silently(site: ThrowawaySite) -> None:
    recorder = Recorder()
    link = hub_link(site, recorder)
    link.route(Topics(site.site).hub_state, recorder)
    link.deliver("roomcast/v1/elsewhere/hub/state", b"")
    assert link.unrouted == 1
    assert recorder.unhandled == [("unexpected topic", "roomcast/v1/elsewhere/hub/state")]


async def test_a_publish_without_a_connected_client_says_so(
    site: ThrowawaySite, mosquitto: MosquittoProcess
) -> None:
    recorder, topics = Recorder(), Topics(site.site)
    link = hub_link(site, recorder)
    assert not link.publish(topics.hub_state, b"before the link runs")
    async with running(link):
        assert link.publish(topics.hub_state, b"connected")
        mosquitto.kill()
        async with asyncio.timeout(WAIT):
            await recorder.disconnects.get()
        assert not link.connected.is_set()
        assert not link.publish(topics.hub_state, b"while the broker is down")
    assert link.unsent == 2


async def test_a_publish_that_fails_after_the_hand_over_is_counted(
    site: ThrowawaySite, mosquitto: MosquittoProcess
) -> None:
    recorder, topics = Recorder(), Topics(site.site)
    link = hub_link(site, recorder)
    link.route(topics.hub_state, recorder)
    async with running(link):
        # All in one loop turn, before any PUBACK is read: the client queues 1000 (its
        # max_queued_outgoing_messages) and refuses the rest, which the caller could not
        # know when it handed them over.
        assert all(link.publish(topics.hub_state, b"%d" % n) for n in range(1100))
        async with asyncio.timeout(WAIT):
            received = [await recorder.messages.get() for _ in range(1000)]
    assert [payload for _, payload in received] == [b"%d" % n for n in range(1000)]
    assert link.unconfirmed == 100


async def test_a_confirmed_publish_says_whether_the_broker_acknowledged_it(
    site: ThrowawaySite, mosquitto: MosquittoProcess
) -> None:
    recorder, topics = Recorder(), Topics(site.site)
    link = hub_link(site, recorder)
    link.route(topics.hub_state, recorder)
    assert not await link.publish_confirmed(topics.hub_state, b"before the link runs")
    assert link.unsent == 1
    async with running(link):
        assert await link.publish_confirmed(topics.hub_state, b"acked")
        assert await recorder.next() == (topics.hub_state, b"acked")
        # A broker that stops answering (as a NATS node holding a publish while its
        # cluster elects new stream leaders): no PUBACK within the bound, so False.
        os.kill(mosquitto.pid, signal.SIGSTOP)
        try:
            assert not await link.publish_confirmed(topics.hub_state, b"held", timeout_s=0.5)
        finally:
            os.kill(mosquitto.pid, signal.SIGCONT)
        assert link.unconfirmed == 1
        assert await link.publish_confirmed(topics.hub_state, b"answered again")
    assert link.unsent == 1 and link.unconfirmed == 1


async def test_routes_are_subscribed_again_when_the_broker_comes_back_without_its_sessions(
    site: ThrowawaySite, mosquitto: MosquittoProcess
) -> None:
    recorder, topics = Recorder(), Topics(site.site)
    link = hub_link(site, recorder, backoff=Backoff(initial_s=0.05, maximum_s=0.5))
    link.route(topics.hub_state, recorder)
    async with running(link):
        await recorder.connects.get()
        mosquitto.kill()  # kill -9: the broker saves no session, so none is restored
        for stored in site.broker.data_dir.glob("*.db"):
            stored.unlink()
        await asyncio.to_thread(mosquitto.start)
        async with asyncio.timeout(WAIT):
            await recorder.connects.get()
        assert link.publish(topics.hub_state, b"after the restart")
        assert await recorder.next() == (topics.hub_state, b"after the restart")


async def test_a_cancelled_link_says_farewell_before_it_disconnects(
    site: ThrowawaySite, mosquitto: MosquittoProcess
) -> None:
    recorder, topics = Recorder(), Topics(site.site)
    farewell = aiomqtt.Will(topics.hub_state, b"farewell", qos=1, retain=True)
    link = hub_link(site, recorder, farewell=lambda: farewell)
    async with running(link):
        pass  # cancelled on leaving: a clean DISCONNECT, so the broker keeps the will back
    async with mqtt_as(site, mosquitto, "hub") as client:
        await client.subscribe(topics.hub_state, qos=1)
        async with asyncio.timeout(WAIT):
            message = await anext(aiter(client.messages))
    assert message.payload == b"farewell"
    assert message.retain


# -- what the hub makes of a publish's result ----------------------------------------------


async def test_the_hub_reports_a_directive_published_once_a_connected_client_took_it(
    hub: HubService,
) -> None:
    issued = hub.engine.directives.issue(DirectiveRequest(action=Action.HOLD), user="t")
    assert hub.directive_published(issued.seq)


def test_the_hub_reports_a_directive_issued_without_a_broker_link_as_not_published(
    site: ThrowawaySite,
) -> None:
    offline = HubService(load_hub_config(site.hub.config))  # never run: no broker link
    try:
        held = offline.engine.directives.issue(DirectiveRequest(action=Action.SECURE), user="t")
        assert not offline.directive_published(held.seq)  # the API answers 202, not 201
    finally:
        offline.store.close()


async def test_a_reconnect_keeps_the_sessions_qos1_messages_and_fires_no_will(
    site: ThrowawaySite, mosquitto: MosquittoProcess
) -> None:
    """What hub.quarantine relies on to leave a flood's backlog behind."""
    recorder, topics = Recorder(), Topics(site.site)
    link = hub_link(site, recorder)
    link.route(topics.device_wildcard(DeviceChannel.EVENT), recorder)
    wills: list[bytes] = []
    async with mqtt_as(site, mosquitto, "hub") as watcher, running(link):
        await watcher.subscribe(topics.hub_state, qos=1)
        async with asyncio.timeout(WAIT):
            await recorder.connects.get()
        link.reconnect()
        async with asyncio.timeout(WAIT):
            await recorder.disconnects.get()
        topic = await device_publishes(site, mosquitto, b"pressed around the reconnect")
        async with asyncio.timeout(WAIT):
            await recorder.connects.get()
        assert await recorder.next() == (topic, b"pressed around the reconnect")
        link.publish(topics.hub_state, b"alive")
        async with asyncio.timeout(WAIT):
            async for message in watcher.messages:
                wills.append(bytes(message.payload))  # type: ignore[arg-type]
                if message.payload == b"alive":
                    break
    assert b"will" not in wills  # a clean DISCONNECT: nodes never saw the hub go away
