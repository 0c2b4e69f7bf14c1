"""Schools bridged to a three-node NATS district broker, all real processes on loopback.

Each school is a provisioned site with its own Mosquitto; ``provision district add-school``
gives it a bridge certificate from the district CA and the bridge config its broker
includes. What crosses is only what the district needs (protocol.topics ``bridged_out``),
each school only in its own namespace, and the link survives the loss of a NATS node.
"""

from __future__ import annotations

import asyncio
import dataclasses
import shutil
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import aiomqtt
import pytest

from protocol.topics import DistrictChannel, Topics
from provisioning.district import DistrictLayout, add_school, remove_school
from provisioning.district_config import BridgeFiles
from provisioning.throwaway import ThrowawaySite, create_throwaway_site
from roomcast.broker import MosquittoProcess, free_port
from tests.conftest import mqtt_as
from tests.district.conftest import NatsCluster, district_client

pytestmark = pytest.mark.integration
WAIT = 30.0


@dataclasses.dataclass
class School:
    site: ThrowawaySite
    broker: MosquittoProcess


@pytest.fixture
def schools(
    tmp_path: Path, district: DistrictLayout, cluster: NatsCluster
) -> Iterator[list[School]]:
    """Two schools bridged to the district, then the cluster started."""
    made = []
    for name in ("lincoln", "adams"):
        site = create_throwaway_site(
            tmp_path / name, rooms=2, broker_port=free_port(), site_id=name
        )
        # Installed at the school as IT would: a copy in the school broker's own directory.
        installed = site.layout.broker.dir / "district"
        shutil.copytree(add_school(district.root, name, installed_dir=installed).dir, installed)
        config = dataclasses.replace(site.broker, include_dir=installed)
        made.append(School(site, MosquittoProcess(config, site.layout.broker.dir)))
    for node in cluster.nodes:
        cluster.start(node.name)
    for school in made:
        school.broker.start()
    try:
        yield made
    finally:
        for school in made:
            school.broker.stop()


@pytest.fixture
async def watcher(district: DistrictLayout, cluster: NatsCluster) -> AsyncIterator[aiomqtt.Client]:
    """The district service's view, on the last node (the bridges start on the first)."""
    async with district_client(district.service, cluster.nodes[-1], name="district") as client:
        await client.subscribe("roomcast/v1/+/district/#", qos=1)
        yield client


async def _next(client: aiomqtt.Client, topic: str, payload: bytes) -> None:
    """Wait for ``payload`` on ``topic`` (anything else on the way is skipped)."""
    async with asyncio.timeout(WAIT):
        async for message in client.messages:
            if message.topic.matches(topic) and message.payload == payload:
                return


async def test_a_schools_summary_reaches_the_district_and_a_request_reaches_the_school(
    schools: list[School], watcher: aiomqtt.Client, district: DistrictLayout, cluster: NatsCluster
) -> None:
    lincoln = schools[0]
    topics = Topics("lincoln")
    async with mqtt_as(lincoln.site, lincoln.broker, "hub") as hub:
        await hub.subscribe(topics.district_requests, qos=1)
        await _next(watcher, topics.district(DistrictChannel.BRIDGE), b"1")  # the bridge is up
        await hub.publish(
            topics.district(DistrictChannel.SUMMARY), b"summary-1", qos=1, retain=True
        )
        await _next(watcher, topics.district(DistrictChannel.SUMMARY), b"summary-1")

        request = topics.district_requests.replace("#", "r-1")
        await watcher.publish(request, b"secure-please", qos=1)
        await _next(hub, request, b"secure-please")


async def test_a_school_cannot_write_into_another_schools_namespace(
    schools: list[School], watcher: aiomqtt.Client, district: DistrictLayout, cluster: NatsCluster
) -> None:
    """Adams's bridge certificate (copied off its hub) cannot forge Lincoln's summary."""
    lincoln, adams = Topics("lincoln"), Topics("adams")
    identity = district.school("adams")
    async with district_client(identity, cluster.nodes[0], name="forger") as forger:
        await forger.publish(lincoln.district(DistrictChannel.SUMMARY), b"forged", qos=1)
        await forger.publish(adams.district(DistrictChannel.SUMMARY), b"adams-own", qos=1)
    # One publisher's messages keep their order: had the forgery passed, it came first.
    async with asyncio.timeout(WAIT):
        async for message in watcher.messages:
            assert message.payload != b"forged"
            if message.payload == b"adams-own":
                break


async def test_the_bridge_survives_a_nats_node_killed(
    schools: list[School], watcher: aiomqtt.Client, cluster: NatsCluster
) -> None:
    lincoln = schools[0]
    topics = Topics("lincoln")
    async with mqtt_as(lincoln.site, lincoln.broker, "hub") as hub:
        await _next(watcher, topics.district(DistrictChannel.BRIDGE), b"1")
        cluster.kill(cluster.nodes[0].name)  # the node the bridges are connected to
        await hub.publish(topics.district(DistrictChannel.SUMMARY), b"after-kill", qos=1)
        await _next(watcher, topics.district(DistrictChannel.SUMMARY), b"after-kill")


async def test_a_removed_school_is_refused_once_the_nodes_restart(
    schools: list[School], watcher: aiomqtt.Client, district: DistrictLayout, cluster: NatsCluster
) -> None:
    topics = Topics("adams")
    await _next(watcher, topics.district(DistrictChannel.BRIDGE), b"1")
    kept = schools[1].site.layout.broker.dir / "district"  # the school still has its files
    remove_school(district.root, "adams")
    assert not district.school("adams").dir.exists()
    cluster.restart_each()
    with pytest.raises(aiomqtt.MqttCodeError, match=r"[Nn]ot authori[sz]ed"):
        async with district_client(BridgeFiles(dir=kept), cluster.nodes[1], name="adams-again"):
            pass
