"""A simulated node can never pass for a classroom: the hub is told, by the node itself."""

from __future__ import annotations

import pytest

from hub.service import HubService
from provisioning.throwaway import ThrowawaySite
from tests.conftest import Node

pytestmark = pytest.mark.integration


async def test_the_hub_sees_every_demo_node_as_simulated(
    site: ThrowawaySite, hub: HubService, nodes: list[Node]
) -> None:
    assert nodes and all(node.service.config.simulated for node in nodes)
    firmware = {d: r.firmware for d, r in hub.engine.presence.devices.items()}
    assert firmware and all(f.endswith(" SIMULATED") for f in firmware.values()), firmware
