"""The hub recovers what it must never lose, and learns what changed while it ran."""

from __future__ import annotations

import asyncio
import shutil

import pytest

from hub.config import load_hub_config
from hub.directives import DirectiveRequest
from hub.queries import alerts
from hub.service import HubService
from protocol.inventory import Room
from protocol.messages import EventKind
from protocol.srp import Action
from provisioning.devices import issue_device
from provisioning.install import install
from provisioning.rooms import apply_rooms
from provisioning.throwaway import ThrowawaySite, demo_rooms
from roomcast.broker import MosquittoProcess
from tests.conftest import WAIT, Node, StartNode, eventually

pytestmark = pytest.mark.integration


async def _run(service: HubService) -> asyncio.Task[None]:
    task = asyncio.create_task(service.run())
    async with asyncio.timeout(2 * WAIT):  # the previous hub may still be saying goodbye
        await service.ready.wait()
    return task


async def _stop(task: asyncio.Task[None]) -> None:
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)


async def test_a_hub_restored_from_an_old_backup_never_reuses_a_sequence_number(
    site: ThrowawaySite, mosquitto: MosquittoProcess, start_node: StartNode
) -> None:
    config = load_hub_config(site.hub.config)
    first = HubService(config)
    task = await _run(first)
    node = await start_node(site.devices[0].device_id)
    issued = [
        first.engine.directives.issue(DirectiveRequest(action=a), user="t")
        for a in (Action.HOLD, Action.SECURE)
    ]
    await eventually(lambda: node.service.acked_seq == issued[-1].seq, node)
    await _stop(task)
    shutil.rmtree(config.state_dir)  # the database is gone (restored from nothing)

    second = HubService(load_hub_config(site.hub.config))
    task = await _run(second)
    try:
        await eventually(
            lambda: second.engine.directives.latest_seq >= issued[-1].seq,
            second,
            what="the hub to learn the seq numbers already out there",
        )
        again = second.engine.directives.issue(DirectiveRequest(action=Action.ALL_CLEAR), user="t")
        assert again.seq > issued[-1].seq
        await eventually(
            lambda: node.service.acked_seq == again.seq,
            node,
            what="the device to accept the restored hub's directive",
        )
    finally:
        await _stop(task)


async def test_a_device_provisioned_while_the_hub_runs_is_heard_without_a_restart(
    site: ThrowawaySite,
    mosquitto: MosquittoProcess,
    hub: HubService,
    nodes: list[Node],
    start_node: StartNode,
) -> None:
    root = site.layout.root
    new_room = Room(id="301", building="main", floor="3", name="Room 301")
    rooms = [*demo_rooms(len(site.devices)), new_room]
    simulated = {r.id: "simulated" for r in rooms}
    apply_rooms(root, rooms, source=root / "added", hardware=simulated)
    bundle = issue_device(root, "301", reload_pid=mosquitto.pid)  # the ACL learns it too
    installed = install(bundle, root / "nodes" / "late")
    await eventually(
        lambda: installed.device_id in hub.engine.presence.devices,
        hub,
        within_s=10,
        what="the hub to reload the inventory",
    )
    late = await start_node(installed.device_id, installed.config)
    event = late.service.activate(EventKind.PANIC)
    assert event is not None
    await eventually(
        lambda: any(a["event_id"] == event.event_id for a in alerts(hub.store)),
        hub,
        what="the late device's panic at the hub",
    )
