"""A classroom device is hostile until proven otherwise, on the real TLS broker.

The attacker holds one room's real device certificate (copied off its SD card), so the
broker's ACL lets it write everything a device may write: its own ``status``, ``event``
and ``ack``. Whatever it sends, the hub keeps running, no other room's state changes, and
another room's panic press still reaches the office.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import uuid
from typing import Any

import aiomqtt
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hub.config import load_hub_config
from hub.directives import DirectiveRequest
from hub.guard import Limits
from hub.queries import campus_status, open_alerts
from hub.service import HubService
from protocol.codec import MAX_PAYLOAD, encode
from protocol.messages import Ack, DeviceStatus, Event, EventKind
from protocol.srp import Action
from protocol.topics import DeviceChannel, ScopeKind, Topics
from provisioning.broker import MAX_PACKET_SIZE
from provisioning.throwaway import ThrowawaySite
from roomcast.broker import MosquittoProcess
from tests.conftest import WAIT, Node, eventually, mqtt_as

pytestmark = pytest.mark.integration

DEEP = b"[" * 2000 + b"]" * 2000
DEEP_OBJECT = b'{"v":1,"type":"status","faults":' + b'{"a":' * 600 + b"1" + b"}" * 601
assert len(DEEP) <= MAX_PAYLOAD and len(DEEP_OBJECT) <= MAX_PAYLOAD  # past the size check


def _room_state(hub: HubService, room_id: str) -> tuple[Any, ...]:
    """Everything the office sees of one room."""
    room = hub.engine.presence.inventory.rooms[room_id]
    devices = {  # last_seen moves with the bystander's own status every 20 s
        device_id: dataclasses.replace(hub.engine.presence.devices[device_id], last_seen=None)
        for device_id in hub.engine.presence.inventory.devices_in(room_id)
    }
    directive = hub.engine.directives.effective(room)
    acks = None if directive is None else hub.engine.acks.room_ack_ms(room, directive)
    alerts = [a["event_id"] for a in open_alerts(hub.store) if a["room"] == room_id]
    return directive, acks, devices, alerts


async def _marker(hub: HubService, client: aiomqtt.Client, device_id: str, room: str) -> None:
    """Wait until the hub has read everything ``client`` sent before this: a fault event
    of the attacker's own room with a new id. One publisher's messages arrive in order."""
    marker = Event(
        event_id=uuid.uuid4().hex,
        device_id=device_id,
        room=room,
        kind=EventKind.FAULT,
        created_at=1.0,
    )
    topic = Topics(hub.config.site).device(device_id, DeviceChannel.EVENT)
    await client.publish(topic, encode(marker), qos=1)
    await eventually(
        lambda: hub.store.event_owner(marker.event_id) is not None,
        hub,
        what="the hub to read the attacker's marker",
    )


@pytest.fixture
async def attacker(site: ThrowawaySite, mosquitto: MosquittoProcess, nodes: list[Node]) -> Any:
    """An MQTT client with room nodes[0]'s real certificate; nodes[1:] are the bystanders."""
    config = nodes[0].service.config
    async with mqtt_as(site, mosquitto, config.device_id) as client:
        yield client


async def test_deep_nesting_on_every_device_topic_never_stops_the_hub(
    hub: HubService, nodes: list[Node], attacker: aiomqtt.Client
) -> None:
    rogue, victim = nodes[0].service.config, nodes[1].service.config
    topics = Topics(hub.config.site)
    before = _room_state(hub, victim.room)
    for channel in (DeviceChannel.STATUS, DeviceChannel.EVENT, DeviceChannel.ACK):
        for payload in (DEEP, DEEP_OBJECT):
            await attacker.publish(topics.device(rogue.device_id, channel), payload, qos=1)
    await eventually(
        lambda: hub.engine.rejected.counts["malformed"] >= 6,
        hub,
        what=lambda: f"six malformed rejections (have {dict(hub.engine.rejected.counts)})",
    )
    assert _room_state(hub, victim.room) == before
    # Still working: a bystander's press reaches the office.
    pressed = nodes[1].service.activate(EventKind.PANIC)
    assert pressed is not None
    await eventually(
        lambda: any(a["event_id"] == pressed.event_id for a in open_alerts(hub.store)),
        hub,
        what="the bystander's panic",
    )


async def test_forged_acks_change_nothing_and_never_block_the_next_directive(
    hub: HubService, nodes: list[Node], attacker: aiomqtt.Client
) -> None:
    rogue, victim = nodes[0].service.config, nodes[1].service.config
    topics = Topics(hub.config.site)
    to_victim = hub.engine.directives.issue(
        DirectiveRequest(action=Action.HOLD, scope=ScopeKind.ROOM, target=victim.room), user="t"
    )
    await eventually(lambda: nodes[1].service.acked_seq == to_victim.seq, hub, *nodes[1:2])
    forged = [
        Ack(device_id=rogue.device_id, room=rogue.room, seq=2**63 - 1, shown_at=1.0),
        Ack(device_id=rogue.device_id, room=victim.room, seq=to_victim.seq, shown_at=1.0),
        Ack(device_id=rogue.device_id, room=rogue.room, seq=to_victim.seq + 500, shown_at=1.0),
    ]
    for ack in forged:
        await attacker.publish(topics.device(rogue.device_id, DeviceChannel.ACK), encode(ack))
    await _marker(hub, attacker, rogue.device_id, rogue.room)

    assert hub.engine.rejected.counts["ack of no directive"] == 2
    assert hub.engine.rejected.counts["ack outside its room"] == 1
    assert rogue.device_id not in hub.engine.acks.of(to_victim.seq)
    after = hub.engine.directives.issue(DirectiveRequest(action=Action.SECURE), user="t")
    assert after.seq == to_victim.seq + 1
    await eventually(lambda: all(n.service.acked_seq == after.seq for n in nodes), hub, *nodes)


async def test_a_retained_poison_on_status_does_not_stop_the_hub_at_its_next_start(
    site: ThrowawaySite, hub: HubService, nodes: list[Node], attacker: aiomqtt.Client
) -> None:
    rogue = nodes[0].service.config
    topic = Topics(hub.config.site).device(rogue.device_id, DeviceChannel.STATUS)
    await attacker.publish(topic, DEEP, qos=1, retain=True)
    await eventually(lambda: hub.engine.rejected.counts["malformed"] >= 1, hub, what="the poison")

    second = HubService(load_hub_config(site.hub.config))  # the restart under systemd
    task = asyncio.create_task(second.run())
    try:
        async with asyncio.timeout(WAIT):
            await second.ready.wait()
        await eventually(
            lambda: second.engine.rejected.counts["malformed"] >= 1, second, what="poison"
        )
        directive = second.engine.directives.issue(DirectiveRequest(action=Action.HOLD), user="t")
        await eventually(
            lambda: all(n.service.acked_seq == directive.seq for n in nodes[1:]),
            second,
            *nodes[1:],
            what="the restarted hub's directive on every other display",
        )
        assert not task.done()
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


async def test_a_flood_never_hides_another_rooms_alert_and_is_itself_an_alarm(
    hub: HubService, nodes: list[Node], attacker: aiomqtt.Client
) -> None:
    rogue = nodes[0].service.config
    topics = Topics(hub.config.site)
    real = nodes[1].service.activate(EventKind.PANIC)
    assert real is not None
    await eventually(
        lambda: [a["event_id"] for a in open_alerts(hub.store)] == [real.event_id],
        hub,
        what="the real panic",
    )
    topic = topics.device(rogue.device_id, DeviceChannel.EVENT)
    flood = [
        encode(
            Event(
                event_id=f"{n:032x}",
                device_id=rogue.device_id,
                room=rogue.room,
                kind=EventKind.CANCEL,
                created_at=1.0,
                cancels=f"{n + 1:032x}",
            )
        )
        for n in range(5000)
    ]
    during: Event | None = None
    for n, payload in enumerate(flood):
        await attacker.publish(topic, payload, qos=0)
        if n == 2500:  # another room presses while the flood is on
            during = nodes[2].service.activate(EventKind.PANIC)
    assert during is not None
    await _wait_for_flood_alarm(hub, rogue.device_id)
    await eventually(
        lambda: {real.event_id, during.event_id} <= {a["event_id"] for a in open_alerts(hub.store)},
        hub,
        what="both real panics among the open alerts",
    )

    status = campus_status(hub.engine, hub.store, connected=True, floods=hub.guard.floods())
    assert {a["event_id"] for a in status["alerts"]} == {real.event_id, during.event_id}
    (text,) = status["trouble"]["floods"]
    assert text.startswith(f"{rogue.device_id} (room {rogue.room}) sent ")
    assert "ignored until" in text
    assert hub.engine.rejected.counts["over budget"] > 0
    # Made-up cancels are refused as such, never stored: the record holds the two panics.
    assert hub.store.count_events("cancel") == 0


async def _wait_for_flood_alarm(hub: HubService, device_id: str) -> None:
    await eventually(
        lambda: any(f.device_id == device_id for f in hub.guard.floods()),
        hub,
        what="the flood alarm",
    )


async def test_a_flooding_devices_own_panic_is_still_read(
    hub: HubService, nodes: list[Node], attacker: aiomqtt.Client
) -> None:
    """The room may be real and in trouble: its panic is read even while it floods."""
    rogue = nodes[0].service.config
    topics = Topics(hub.config.site)
    status = DeviceStatus(
        device_id=rogue.device_id, room=rogue.room, online=True, session=1, firmware="x", time=1
    )
    # Over the budget even if the bucket refills (50/s) while a busy machine sends, yet
    # short of a cut-off at the broker (that is test_quarantine.py).
    limits = hub.guard.limits
    extra = 300
    assert extra < limits.cut_off_after
    topic = topics.device(rogue.device_id, DeviceChannel.STATUS)
    for _ in range(limits.burst + extra):
        await attacker.publish(topic, encode(status), qos=0)
    await _wait_for_flood_alarm(hub, rogue.device_id)
    panic = Event(
        event_id="d" * 32,
        device_id=rogue.device_id,
        room=rogue.room,
        kind=EventKind.PANIC,
        created_at=1.0,
    )
    await attacker.publish(topics.device(rogue.device_id, DeviceChannel.EVENT), encode(panic))
    await eventually(
        lambda: any(a["event_id"] == panic.event_id for a in open_alerts(hub.store)),
        hub,
        what="the flooding room's own panic",
    )


# -- generated hostile messages ---------------------------------------------------------------

HOSTILE_VALUES = st.one_of(
    st.integers(min_value=-(2**70), max_value=2**70),
    st.sampled_from([2**63 - 1, -(2**63), 2**63, 10**30, 0, -1]),
    st.floats(allow_nan=False) | st.sampled_from([1e308, -1e308, 5e9]),
    st.text(max_size=300),
    st.sampled_from(["102", "rc-other", "../..", "+", "#", "", "a" * 65]),
    st.booleans(),
    st.none(),
    st.recursive(st.integers(), lambda c: st.lists(c, max_size=3), max_leaves=12),
    st.dictionaries(st.text(max_size=10), st.text(max_size=50), max_size=20),
)


def _valid_body(channel: DeviceChannel, device_id: str, room: str) -> dict[str, Any]:
    if channel is DeviceChannel.STATUS:
        message: Any = DeviceStatus(
            device_id=device_id, room=room, online=True, session=5, firmware="x", time=1.0
        )
    elif channel is DeviceChannel.ACK:
        message = Ack(device_id=device_id, room=room, seq=1, shown_at=1.0)
    else:
        message = Event(
            event_id="c" * 32, device_id=device_id, room=room, kind=EventKind.FAULT, created_at=1
        )
    return dict(json.loads(encode(message)))


@st.composite
def hostile_messages(draw: st.DrawFn, device_id: str, room: str) -> tuple[DeviceChannel, bytes]:
    channel = draw(st.sampled_from([DeviceChannel.STATUS, DeviceChannel.ACK, DeviceChannel.EVENT]))
    body = _valid_body(channel, device_id, room)
    for key in draw(st.lists(st.sampled_from([*body, "extra"]), max_size=3, unique=True)):
        body[key] = draw(HOSTILE_VALUES)
    if draw(st.booleans()):
        body["kind" if channel is DeviceChannel.EVENT else "type"] = draw(
            st.sampled_from(["panic", "cancel", "ack", "status", "directive"])
        )
    return channel, json.dumps(body).encode()


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
async def test_generated_hostile_messages_change_no_other_room(
    hub: HubService, nodes: list[Node], attacker: aiomqtt.Client, data: st.DataObject
) -> None:
    rogue, bystanders = nodes[0].service.config, [n.service.config for n in nodes[1:]]
    hub.guard.limits = Limits(burst=100_000, per_second=100_000)  # the budget has its own tests
    hub.guard.forget(rogue.device_id)
    topics = Topics(hub.config.site)
    before = {b.room: _room_state(hub, b.room) for b in bystanders}
    latest_seq = hub.engine.directives.latest_seq
    batch = data.draw(st.lists(hostile_messages(rogue.device_id, rogue.room), max_size=8))
    for channel, payload in batch:
        await attacker.publish(topics.device(rogue.device_id, channel), payload, qos=1)
    await _marker(hub, attacker, rogue.device_id, rogue.room)
    assert {b.room: _room_state(hub, b.room) for b in bystanders} == before
    assert hub.engine.directives.latest_seq == latest_seq  # no device message moves the directives
    assert hub.connected.is_set()


async def test_the_broker_disconnects_a_device_sending_a_huge_packet(
    site: ThrowawaySite, mosquitto: MosquittoProcess, hub: HubService, nodes: list[Node]
) -> None:
    """The hub never spends memory on it: the broker's max_packet_size stops it first."""
    rogue = nodes[0].service.config
    topic = Topics(hub.config.site).device(rogue.device_id, DeviceChannel.EVENT)
    with pytest.raises(aiomqtt.MqttError):
        async with mqtt_as(site, mosquitto, rogue.device_id) as client:
            await client.publish(topic, b"x" * (MAX_PACKET_SIZE * 8), qos=0)
            async with asyncio.timeout(WAIT):  # the message loop ends with the connection
                async for _ in client.messages:
                    pass
    assert "malformed" not in hub.engine.rejected.counts


async def test_a_panic_naming_another_room_is_raised_in_the_devices_own_room(
    hub: HubService, nodes: list[Node], attacker: aiomqtt.Client
) -> None:
    rogue, victim = nodes[0].service.config, nodes[1].service.config
    panic = Event(
        event_id="a" * 32,
        device_id=rogue.device_id,
        room=victim.room,
        kind=EventKind.PANIC,
        created_at=1.0,
    )
    topic = Topics(hub.config.site).device(rogue.device_id, DeviceChannel.EVENT)
    await attacker.publish(topic, encode(panic), qos=1)
    await eventually(lambda: bool(open_alerts(hub.store)), hub, what="the panic")
    (alert,) = open_alerts(hub.store)
    assert alert["room"] == rogue.room
    assert hub.engine.rejected.counts["room mismatch"] == 1
