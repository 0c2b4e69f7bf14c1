"""A device that keeps flooding is cut off at the real broker, and let back in later.

The attacker holds room nodes[0]'s real certificate. Once it has flooded past the hub's
``cut_off_after``, the hub asks (its ``quarantine.json``), the privileged step
(``roomcast provision quarantine``, run by the hub here as in the demo) rewrites the ACL and
reloads Mosquitto, and from then on the broker drops what that device sends: the hub's one
connection is free for every other room again.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

import aiomqtt
import pytest

from benchmarks.flood import flood_payloads
from hub import quarantine as cut_offs
from hub.quarantine import QUARANTINE_FILE
from hub.queries import open_alerts
from hub.service import HubService
from protocol.codec import encode
from protocol.messages import Event, EventKind
from protocol.topics import DeviceChannel, Topics
from provisioning.throwaway import ThrowawaySite
from roomcast.broker import MosquittoProcess
from tests.conftest import Node, eventually, mqtt_as

pytestmark = pytest.mark.integration


@pytest.fixture
async def attacker(site: ThrowawaySite, mosquitto: MosquittoProcess, nodes: list[Node]) -> Any:
    async with mqtt_as(site, mosquitto, nodes[0].service.config.device_id) as client:
        yield client


def _panic(device_id: str, room: str) -> Event:
    return Event(
        event_id=uuid.uuid4().hex,
        device_id=device_id,
        room=room,
        kind=EventKind.PANIC,
        created_at=1.0,
    )


async def _flood_until_cut_off(hub: HubService, client: aiomqtt.Client, device_id: str) -> None:
    room = hub.engine.presence.devices[device_id].room
    topic = Topics(hub.config.site).device(device_id, DeviceChannel.EVENT)
    limits = hub.guard.limits
    for payload in flood_payloads(device_id, room, limits.burst + limits.cut_off_after + 500):
        await client.publish(topic, payload, qos=0)
    await eventually(
        lambda: device_id in hub.quarantine.cut_off_ids(),
        hub,
        what="the hub to cut the flooding device off",
    )


def _acl_block(site: ThrowawaySite, device_id: str) -> list[str]:
    blocks = site.layout.broker.acl.read_text(encoding="utf-8").split("\n\n")
    (block,) = [b for b in blocks if b.startswith(f"user {device_id}\n")]
    return block.splitlines()


def _cut_off_in_acl(site: ThrowawaySite, device_id: str) -> bool:
    return any(line.startswith("# cut off") for line in _acl_block(site, device_id))


async def _acl_until(
    hub: HubService, site: ThrowawaySite, device_id: str, *, cut_off: bool
) -> None:
    """The ACL is written by another process (provision quarantine); the hub's bus hears
    each time that process has run."""
    state = "cut off" if cut_off else "let back in"
    await eventually(
        lambda: _cut_off_in_acl(site, device_id) == cut_off,
        hub,
        what=f"the broker's ACL to have {device_id} {state}",
    )


async def test_a_device_that_keeps_flooding_is_cut_off_at_the_broker_and_the_office_told(
    site: ThrowawaySite, hub: HubService, nodes: list[Node], attacker: aiomqtt.Client
) -> None:
    rogue = nodes[0].service.config
    await _flood_until_cut_off(hub, attacker, rogue.device_id)

    request = json.loads((hub.config.state_dir / QUARANTINE_FILE).read_text(encoding="utf-8"))
    assert list(request["devices"]) == [rogue.device_id]
    await _acl_until(hub, site, rogue.device_id, cut_off=True)
    block = _acl_block(site, rogue.device_id)
    assert not [line for line in block if line.startswith("topic write")]
    assert [line for line in block if line.startswith("topic read")]  # its screen still works
    for other in nodes[1:]:
        assert any(
            line.startswith("topic write")
            for line in _acl_block(site, other.service.config.device_id)
        )

    # The office is told what it means, in the alarms list and the audit record.
    (alarm,) = hub.device_alarms()
    text = alarm.describe()
    assert f"{rogue.device_id} (room {rogue.room})" in text
    assert "cut off at the broker until" in text
    assert f"A panic from room {rogue.room} cannot reach the office" in text
    assert hub.store.audit_log(limit=20)[0]["action"] == "device cut off at the broker"

    # The broker now drops what the device sends; another room still gets through.
    topics = Topics(hub.config.site)
    silenced = _panic(rogue.device_id, rogue.room)
    await attacker.publish(topics.device(rogue.device_id, DeviceChannel.EVENT), encode(silenced))
    pressed = nodes[1].service.activate(EventKind.PANIC)
    assert pressed is not None
    await eventually(
        lambda: any(a["event_id"] == pressed.event_id for a in open_alerts(hub.store)),
        hub,
        what="the bystander's panic while the rogue is cut off",
    )
    assert hub.store.event_owner(silenced.event_id) is None


async def test_a_cut_off_ends_on_time_and_the_device_is_heard_again(
    site: ThrowawaySite,
    hub: HubService,
    nodes: list[Node],
    attacker: aiomqtt.Client,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(cut_offs, "FIRST_CUT_OFF_S", 3.0)
    rogue = nodes[0]
    await _flood_until_cut_off(hub, attacker, rogue.service.config.device_id)
    await eventually(lambda: not hub.quarantine.cut_off_ids(), hub, what="the 3 s cut-off to end")
    await _acl_until(hub, site, rogue.service.config.device_id, cut_off=False)
    # The real node is heard again: its press reaches the office.
    pressed = rogue.service.activate(EventKind.PANIC)
    assert pressed is not None
    await eventually(
        lambda: any(a["event_id"] == pressed.event_id for a in open_alerts(hub.store)),
        hub,
        *nodes[:1],
        what="the once cut-off room's panic",
    )
    actions = [e["action"] for e in hub.store.audit_log(limit=20)]
    assert "device cut-off ended" in actions
