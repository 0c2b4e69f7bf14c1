"""Whole schools in a district, all real: each its own Mosquitto (bridged to the NATS
cluster), a real HubService with the district block in its hub.json, and its rooms'
device services with simulated hardware; and the district's side, which signs requests
with the district key and reads the summaries off the district broker."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import re
import shutil
import time
import uuid
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import aiomqtt
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import load_pem_private_key

from device.config import load_device_config
from device.service import DeviceService
from hardware.simulated import PngDisplay, SimulatedIndicator, SimulatedInputs
from hub.service import HubService
from protocol.codec import DecodeError, decode, encode
from protocol.district import DistrictRequest, DistrictSummary
from protocol.messages import Directive
from protocol.signing import sign
from protocol.srp import Action
from protocol.topics import DistrictChannel, Topics
from provisioning.district import DistrictLayout, add_school
from provisioning.throwaway import ThrowawaySite, create_throwaway_site
from roomcast.broker import MosquittoProcess, free_port
from tests.conftest import WAIT, Node, eventually, hub_with
from tests.fault.proxy import Proxy

SUMMARY_S = 2.0
"""The summaries' heartbeat in these tests (30 s in production)."""


@dataclasses.dataclass
class School:
    site: ThrowawaySite
    broker: MosquittoProcess
    proxies: list[Proxy]
    """Between this school's bridge and each NATS node, when the test wants to cut it."""
    hub: HubService | None = None
    nodes: list[Node] = dataclasses.field(default_factory=list)

    @property
    def name(self) -> str:
        return self.site.site

    @property
    def running_hub(self) -> HubService:
        assert self.hub is not None, "the school's hub is not running"
        return self.hub

    def confirmed(self, directive: Directive) -> bool:
        """Every room of the school shows ``directive`` and its displays have acked it."""
        engine = self.running_hub.engine
        rooms = engine.presence.inventory.rooms.values()
        return all(engine.acks.room_ack_ms(room, directive) is not None for room in rooms)

    def cut(self) -> None:
        for proxy in self.proxies:
            proxy.cut()

    def restore(self) -> None:
        for proxy in self.proxies:
            proxy.restore()


async def make_school(
    root: Path, district: DistrictLayout, name: str, *, rooms: int, proxied: bool = False
) -> School:
    """Provision a school, add it to the district, install its bridge as IT would."""
    site = create_throwaway_site(
        root / name, rooms=rooms, broker_port=free_port(), site_id=name, heartbeat_s=1.0
    )
    installed = site.layout.broker.dir / "district"
    shutil.copytree(add_school(district.root, name, installed_dir=installed).dir, installed)
    proxies: list[Proxy] = []
    if proxied:
        conf = installed / "bridge.conf"
        text = conf.read_text(encoding="utf-8")
        ports = re.search(r"^address (.*)$", text, re.MULTILINE)
        assert ports is not None
        for address in ports.group(1).split():
            proxy = Proxy(int(address.rsplit(":", 1)[1]))
            await proxy.start()
            proxies.append(proxy)
        addresses = " ".join(f"127.0.0.1:{p.port}" for p in proxies)
        conf.write_text(text.replace(ports.group(0), f"address {addresses}"), encoding="utf-8")
    config = dataclasses.replace(site.broker, include_dir=installed)
    return School(site, MosquittoProcess(config, site.layout.broker.dir), proxies)


@contextlib.asynccontextmanager
async def running(school: School, screens: Path) -> AsyncIterator[School]:
    """The school's hub (in the district) and every room's node, all online."""
    district_block = {
        "id": "metro",
        "public_key": str(school.site.layout.broker.dir / "district" / "district.pub"),
        "summary_s": SUMMARY_S,
    }
    async with hub_with(school.site, district=district_block) as hub:
        school.hub = hub
        tasks = []
        for device in school.site.devices:
            display = PngDisplay(screens / f"{device.device_id}.png", size=(128, 64))
            service = DeviceService(
                load_device_config(device.config),
                display=display,
                inputs=(inputs := SimulatedInputs()),
                indicator=(indicator := SimulatedIndicator()),
            )
            tasks.append(asyncio.create_task(service.run()))
            school.nodes.append(Node(service, display, inputs, indicator))
        try:
            await eventually(
                lambda: all(r.online for r in hub.engine.presence.devices.values()),
                hub,
                what=f"{school.name}'s hub to see every node online",
            )
            yield school
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            school.hub, school.nodes = None, []


def district_key(district: DistrictLayout) -> Ed25519PrivateKey:
    key = load_pem_private_key(district.signing_key.read_bytes(), password=None)
    assert isinstance(key, Ed25519PrivateKey)
    return key


def district_request(
    key: Ed25519PrivateKey, site: str, *, request_id: str | None = None, **fields: Any
) -> DistrictRequest:
    """What the district service sends one school, signed (now, by the test's clock)."""
    body: dict[str, Any] = {
        "request_id": request_id or f"r-{uuid.uuid4().hex[:12]}",
        "district": "metro",
        "site": site,
        "issued_at": time.time(),
        "action": Action.SECURE,
        "drill": False,
        "issued_by": "safety-kim",
    }
    return sign(DistrictRequest(**(body | fields)), key)


async def send_request(
    client: aiomqtt.Client, request: DistrictRequest, *, to: str | None = None
) -> None:
    """Publish on the topic of school ``to`` (its own by default)."""
    topic = Topics(to or request.site).district_request(request.request_id)
    await client.publish(topic, encode(request), qos=1)


async def next_summary(
    client: aiomqtt.Client,
    site: str,
    predicate: Callable[[DistrictSummary], bool],
    *,
    within_s: float = WAIT * 3,
    seen: Callable[[str, bytes], None] | None = None,
) -> DistrictSummary:
    """The first summary of ``site`` on the district broker that satisfies ``predicate``
    (``client`` subscribed to ``roomcast/v1/+/district/#``); every message goes to ``seen``."""
    topic = Topics(site).district(DistrictChannel.SUMMARY)
    async with asyncio.timeout(within_s):
        async for message in client.messages:
            payload = bytes(message.payload) if isinstance(message.payload, bytes) else b""
            if seen is not None:
                seen(str(message.topic), payload)
            if str(message.topic) != topic:
                continue
            try:
                summary = decode(payload, DistrictSummary)
            except DecodeError:
                continue
            if predicate(summary):
                return summary
    raise AssertionError("unreachable")


@contextlib.asynccontextmanager
async def district_of(
    root: Path,
    district: DistrictLayout,
    start_cluster: Callable[[], None],
    names: tuple[str, ...],
    *,
    rooms: int = 2,
    proxied: frozenset[str] = frozenset(),
) -> AsyncIterator[list[School]]:
    """Schools added to the district, the cluster started (a node reads its
    authorization at start), then each school's broker, hub and nodes."""
    made = [
        await make_school(root, district, name, rooms=rooms, proxied=name in proxied)
        for name in names
    ]
    start_cluster()
    async with contextlib.AsyncExitStack() as stack:
        for school in made:
            school.broker.start()
            stack.callback(school.broker.stop)
            for proxy in school.proxies:
                stack.push_async_callback(proxy.stop)
        for school in made:
            await stack.enter_async_context(running(school, root / "screens" / school.name))
        yield made


async def bridged(client: aiomqtt.Client, schools: list[School]) -> None:
    """Until each school's bridge said "1" and a summary came across it afterwards.

    A bridge subscribes to its requests as it connects, and a broker handles one
    connection's packets in order: a summary that crossed after the "1" proves the
    request subscription is in place (a request sent before it would be dropped, as
    MQTT drops a message nobody subscribes to). ``client`` reads ``district/#`` of all."""
    waiting = {s.name for s in schools}
    up: set[str] = set()
    async with asyncio.timeout(WAIT * 6):
        async for message in client.messages:
            for name in list(waiting):
                topics = Topics(name)
                if message.topic.matches(topics.district(DistrictChannel.BRIDGE)):
                    if message.payload == b"1":
                        up.add(name)
                    else:
                        up.discard(name)
                elif name in up and message.topic.matches(topics.district(DistrictChannel.SUMMARY)):
                    waiting.discard(name)
            if not waiting:
                return
