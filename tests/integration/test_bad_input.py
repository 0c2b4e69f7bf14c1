"""Malformed, oversized, unsigned, wrongly signed and replayed messages, on a real broker.

Each is rejected, counted, and changes nothing; the service keeps running.
"""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator

import aiomqtt
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from hub.directives import DirectiveRequest
from hub.queries import alerts
from hub.service import HubService
from protocol.codec import MAX_PAYLOAD, encode
from protocol.messages import Ack, DeviceStatus, Directive, Event, EventKind
from protocol.signing import sign_directive
from protocol.srp import Action
from protocol.topics import DeviceChannel, ScopeKind, Topics
from provisioning.throwaway import ThrowawaySite
from roomcast.broker import MosquittoProcess
from tests.conftest import Node, eventually, mqtt_as

pytestmark = pytest.mark.integration

GARBAGE = {
    "not json": b"{not json",
    "oversized": b'{"v":1,"type":"directive","pad":"' + b"x" * MAX_PAYLOAD + b'"}',
    "not utf-8": b"\xff\xfe\xfd",
    "wrong version": b'{"v":2,"type":"directive"}',
    "array": b"[1,2,3]",
}


@pytest.fixture
async def intruder(
    site: ThrowawaySite, mosquitto: MosquittoProcess
) -> AsyncIterator[aiomqtt.Client]:
    """A client holding the hub's certificate: as if the broker's ACL let anyone write
    where the hub writes. The devices must still refuse what the hub did not sign."""
    async with mqtt_as(site, mosquitto, "hub") as client:
        yield client


async def _settled_lockdown(hub: HubService, nodes: list[Node]) -> Directive:
    directive = hub.engine.directives.issue(DirectiveRequest(action=Action.LOCKDOWN), user="t")
    await eventually(lambda: all(n.service.acked_seq == directive.seq for n in nodes), *nodes)
    return directive


def _device_state(node: Node) -> tuple[object, ...]:
    service = node.service
    return (service.effective, service.shown_seq, service.acked_seq, service.pending_events())


async def test_device_rejects_garbage_on_every_topic_it_reads(
    hub: HubService, nodes: list[Node], intruder: aiomqtt.Client
) -> None:
    await _settled_lockdown(hub, nodes)
    node = nodes[0]
    topics = Topics(node.service.config.site)
    config = node.service.config
    readable = [
        topics.hub_state,
        topics.directive(ScopeKind.SITE),
        topics.directive(ScopeKind.BUILDING, config.building),
        topics.directive(ScopeKind.ROOM, config.room),
        topics.device(config.device_id, DeviceChannel.RECEIPT),
    ]
    before = _device_state(node)

    for topic in readable:
        for payload in GARBAGE.values():
            await intruder.publish(topic, payload, qos=1)

    expected = len(readable) * len(GARBAGE)
    await eventually(
        lambda: node.service.rejected["malformed"] == expected, node, what="all rejections"
    )
    assert _device_state(node) == before


async def test_device_rejects_unsigned_forged_replayed_and_misplaced_directives(
    hub: HubService, nodes: list[Node], intruder: aiomqtt.Client
) -> None:
    first = hub.engine.directives.issue(DirectiveRequest(action=Action.SECURE), user="t")
    await eventually(lambda: all(n.service.acked_seq == first.seq for n in nodes), *nodes)
    second = hub.engine.directives.issue(DirectiveRequest(action=Action.HOLD), user="t")
    await eventually(lambda: all(n.service.acked_seq == second.seq for n in nodes), *nodes)
    node = nodes[0]
    topics = Topics(node.service.config.site)
    site_topic = topics.directive(ScopeKind.SITE)
    newer = dataclasses.replace(second, seq=second.seq + 100, action=Action.ALL_CLEAR)
    forged = sign_directive(newer, Ed25519PrivateKey.generate())
    other_room = nodes[1].service.config.room
    misplaced = dataclasses.replace(second, scope=ScopeKind.ROOM, target=other_room, seq=999)
    before = _device_state(node)

    await intruder.publish(site_topic, encode(dataclasses.replace(newer, sig="")), qos=1)
    await intruder.publish(site_topic, encode(forged), qos=1)
    await intruder.publish(site_topic, encode(first), qos=1)  # an old, validly signed one
    await intruder.publish(
        topics.directive(ScopeKind.ROOM, node.service.config.room),
        encode(sign_directive(misplaced, hub.config.signing_key)),
        qos=1,
    )

    rejected = node.service.rejected
    await eventually(
        lambda: (
            rejected["bad signature"] == 2
            and rejected["replayed or stale"] == 1
            and rejected["wrong scope"] == 1
        ),
        node,
        what="four rejections",
    )
    assert _device_state(node) == before
    assert node.service.effective == second


async def test_hub_rejects_garbage_and_impersonation(
    hub: HubService, nodes: list[Node], intruder: aiomqtt.Client
) -> None:
    topics = Topics(hub.config.site)
    device_id = nodes[0].service.config.device_id
    other_id = nodes[1].service.config.device_id
    room = nodes[0].service.config.room
    alerts_before = alerts(hub.store)
    devices_before = {d: dataclasses.asdict(r) for d, r in hub.engine.presence.devices.items()}

    for channel in (DeviceChannel.STATUS, DeviceChannel.EVENT, DeviceChannel.ACK):
        for payload in GARBAGE.values():
            await intruder.publish(topics.device(device_id, channel), payload, qos=1)
    panic = Event(
        event_id="f" * 32, device_id=other_id, room=room, kind=EventKind.PANIC, created_at=1.0
    )
    await intruder.publish(topics.device(device_id, DeviceChannel.EVENT), encode(panic), qos=1)
    stranger = dataclasses.replace(panic, device_id="rc-stranger")
    await intruder.publish(topics.device("rc-stranger", DeviceChannel.EVENT), encode(stranger))
    wrong_ack = Ack(device_id=device_id, room=room, seq=1, shown_at=1.0)
    await intruder.publish(topics.device(device_id, DeviceChannel.STATUS), encode(wrong_ack))
    status = DeviceStatus(
        device_id=device_id, room=room, online=False, session=0, firmware="x", time=1.0
    )
    await intruder.publish(topics.device(device_id, DeviceChannel.STATUS), encode(status))

    rejected = hub.engine.rejected.counts
    await eventually(
        lambda: (
            rejected["malformed"] == 3 * len(GARBAGE) + 1
            and rejected["device id mismatch"] == 1
            and rejected["unknown device"] == 1
            and rejected["stale will"] == 1
        ),
        hub,
        what=lambda: f"hub rejections (have {rejected})",
    )
    assert alerts(hub.store) == alerts_before
    assert {
        d: dataclasses.asdict(r) for d, r in hub.engine.presence.devices.items()
    } == devices_before


async def test_a_device_cannot_issue_directives_or_speak_for_another_device(
    site: ThrowawaySite, mosquitto: MosquittoProcess, hub: HubService, nodes: list[Node]
) -> None:
    """The broker's ACL drops what a device may not write; nothing downstream sees it."""
    rogue, victim = nodes[0].service.config, nodes[1].service.config
    topics = Topics(rogue.site)
    stolen = hub.engine.directives.issue(DirectiveRequest(action=Action.HOLD), user="t")
    await eventually(lambda: all(n.service.acked_seq == stolen.seq for n in nodes), *nodes)
    replay = dataclasses.replace(stolen, seq=stolen.seq + 50, action=Action.ALL_CLEAR)
    panic = Event(
        event_id="e" * 32,
        device_id=victim.device_id,
        room=victim.room,
        kind=EventKind.PANIC,
        created_at=1.0,
    )

    async with mqtt_as(site, mosquitto, rogue.device_id) as client:
        await client.publish(topics.directive(ScopeKind.SITE), encode(replay), qos=1)
        await client.publish(topics.device(victim.device_id, DeviceChannel.EVENT), encode(panic))
        marker = hub.engine.directives.issue(DirectiveRequest(action=Action.SECURE), user="t")

    # The hub's later directive arriving everywhere proves the forbidden ones had their chance.
    await eventually(lambda: all(n.service.acked_seq == marker.seq for n in nodes), *nodes)
    assert all(not n.service.rejected for n in nodes)  # never even delivered
    assert not hub.engine.rejected.counts
    assert alerts(hub.store) == []
