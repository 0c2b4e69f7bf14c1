"""A fuzz run: random and mutated payloads on every topic a service subscribes to.

The services stay up, their state stays as it was, and they still work afterwards.
"""

from __future__ import annotations

import random

import pytest

from hub.directives import DirectiveRequest
from hub.queries import alerts
from hub.service import HubService
from protocol.codec import encode
from protocol.messages import Ack, DeviceStatus, Event, EventKind, Receipt
from protocol.srp import Action
from protocol.topics import DeviceChannel, ScopeKind, Topics
from provisioning.throwaway import ThrowawaySite
from roomcast.broker import MosquittoProcess
from tests.conftest import Node, eventually, mqtt_as

pytestmark = pytest.mark.integration

PER_TOPIC = 25


def _mutate(payload: bytes, rng: random.Random) -> bytes:
    data = bytearray(payload)
    for _ in range(rng.randint(1, 6)):
        position = rng.randrange(len(data))
        if rng.random() < 0.5:
            data[position] = rng.randrange(256)
        else:
            del data[position]
    return bytes(data)


def _samples(node: Node, hub: HubService) -> list[bytes]:
    config = node.service.config
    directive = hub.engine.directives.current[-1]
    return [
        encode(directive),
        encode(Ack(device_id=config.device_id, room=config.room, seq=1, shown_at=1.0)),
        encode(Receipt(event_id="a" * 32, received_at=1.0)),
        encode(
            Event(
                event_id="b" * 32,
                device_id=config.device_id,
                room=config.room,
                kind=EventKind.PANIC,
                created_at=1.0,
            )
        ),
        encode(
            DeviceStatus(
                device_id=config.device_id,
                room=config.room,
                online=True,
                session=1,
                firmware="x",
                time=1.0,
            )
        ),
    ]


async def test_services_survive_random_and_mutated_payloads_on_every_topic(
    site: ThrowawaySite, mosquitto: MosquittoProcess, hub: HubService, nodes: list[Node]
) -> None:
    rng = random.Random(20261128)
    current = hub.engine.directives.issue(DirectiveRequest(action=Action.LOCKDOWN), user="t")
    await eventually(lambda: all(n.service.acked_seq == current.seq for n in nodes), *nodes)
    node, topics = nodes[0], Topics(site.site)
    config = node.service.config
    targets = [
        topics.hub_state,
        topics.directive(ScopeKind.SITE),
        topics.directive(ScopeKind.BUILDING, config.building),
        topics.directive(ScopeKind.ROOM, config.room),
        *(topics.device(config.device_id, channel) for channel in DeviceChannel),
    ]
    samples = _samples(node, hub)
    before = (node.service.effective, alerts(hub.store), hub.store.directives())

    async with mqtt_as(site, mosquitto, "hub") as fuzzer:
        for topic in targets:
            for _ in range(PER_TOPIC):
                if rng.random() < 0.3:
                    payload = rng.randbytes(rng.randrange(1, 300))
                else:
                    payload = _mutate(rng.choice(samples), rng)
                await fuzzer.publish(topic, payload, qos=1)

    def refused() -> int:
        return sum(node.service.rejected.values()) + sum(hub.engine.rejected.counts.values())

    # Nearly all of it is refused (a rare mutation still decodes, and is then a no-op).
    await eventually(
        lambda: refused() >= 0.9 * PER_TOPIC * (len(targets) - 1),  # nobody reads `command`
        hub,
        node,
        what=lambda: f"the fuzz to be refused (so far {refused()})",
    )
    assert (node.service.effective, alerts(hub.store)) == before[:2]
    assert hub.store.directives() == before[2]

    after = hub.engine.directives.issue(DirectiveRequest(action=Action.ALL_CLEAR), user="t")
    await eventually(lambda: all(n.service.acked_seq == after.seq for n in nodes), *nodes)
    assert node.service.connected.is_set() and hub.connected.is_set()
