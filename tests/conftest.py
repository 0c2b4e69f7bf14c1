"""Shared fixtures: a real Mosquitto on loopback, throw-away sites, running services."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from device.config import load_device_config
from device.service import DeviceService
from hardware.simulated import PngDisplay, SimulatedIndicator, SimulatedInputs
from hub.config import load_hub_config
from hub.service import HubService
from provisioning.broker import BrokerConfig
from roomcast.broker import BrokerError, MosquittoProcess, find_mosquitto, free_port
from roomcast.demosite import DemoSite, create_demo_site

WAIT = 10.0
"""Bound on every wait for something to happen across the broker."""

_site_numbers = itertools.count(1)


@pytest.fixture(scope="session")
def mosquitto(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MosquittoProcess]:
    """One real broker for the session; tests are kept apart by their site id."""
    try:
        find_mosquitto()
    except BrokerError as error:
        pytest.fail(str(error), pytrace=False)  # never a silent skip
    workdir = tmp_path_factory.mktemp("mosquitto")
    config = BrokerConfig(port=free_port(), data_dir=workdir / "data", persistence=False)
    with MosquittoProcess(config, workdir) as broker:
        yield broker


@pytest.fixture
def site(tmp_path: Path, mosquitto: MosquittoProcess) -> DemoSite:
    return create_demo_site(
        tmp_path / "site",
        rooms=3,
        broker_port=mosquitto.port,
        site=f"test-{next(_site_numbers)}",
        heartbeat_s=1.0,
    )


async def eventually(
    predicate: Callable[[], bool],
    *sources: HubService | Node,
    within_s: float = WAIT,
    what: str | Callable[[], str] = "condition",
) -> None:
    """Wait until ``predicate()`` holds, re-checking whenever a source reports a change.

    Fails (with ``what``) once ``within_s`` passes: never a bare sleep, never unbounded.
    """
    changed = asyncio.Event()
    devices = [s.service for s in sources if isinstance(s, Node)]
    hubs = [s for s in sources if isinstance(s, HubService)]
    with contextlib.ExitStack() as stack:
        for device in devices:
            device.watchers.add(changed.set)
            stack.callback(device.watchers.discard, changed.set)
        queues = [stack.enter_context(hub.bus.subscribe()) for hub in hubs]
        try:
            async with asyncio.timeout(within_s):
                while not predicate():
                    await _next_change(changed, queues)
        except TimeoutError:
            detail = what() if callable(what) else what
            pytest.fail(f"timed out after {within_s} s waiting for {detail}")


async def _next_change(changed: asyncio.Event, queues: list[asyncio.Queue[Any]]) -> None:
    waiters = [asyncio.ensure_future(changed.wait())]
    waiters += [asyncio.ensure_future(q.get()) for q in queues]
    try:
        await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiter in waiters:
            waiter.cancel()
    changed.clear()


class Node:
    """A device service with simulated hardware, as a test drives it."""

    def __init__(
        self,
        service: DeviceService,
        display: PngDisplay,
        inputs: SimulatedInputs,
        indicator: SimulatedIndicator,
    ) -> None:
        self.service, self.display, self.inputs, self.indicator = (
            service,
            display,
            inputs,
            indicator,
        )


@pytest.fixture
async def hub(site: DemoSite) -> AsyncIterator[HubService]:
    service = HubService(load_hub_config(site.hub_config))
    task = asyncio.create_task(service.run())
    try:
        async with asyncio.timeout(WAIT):
            await service.ready.wait()
        yield service
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task


StartNode = Callable[[str], Awaitable[Node]]


@pytest.fixture
async def start_node(site: DemoSite, tmp_path: Path) -> AsyncIterator[StartNode]:
    tasks: list[asyncio.Task[None]] = []

    async def start(device_id: str) -> Node:
        config = load_device_config(site.device_config(device_id))
        display = PngDisplay(tmp_path / "screens" / f"{device_id}.png", size=(128, 64))
        inputs, indicator = SimulatedInputs(), SimulatedIndicator()
        service = DeviceService(config, display=display, inputs=inputs, indicator=indicator)
        tasks.append(asyncio.create_task(service.run()))
        async with asyncio.timeout(WAIT):
            await service.connected.wait()
        return Node(service, display, inputs, indicator)

    yield start
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


@pytest.fixture
async def nodes(site: DemoSite, hub: HubService, start_node: StartNode) -> list[Node]:
    """Every device of the site running, and seen online by the hub."""
    started = [await start_node(device_id) for device_id in site.device_ids]
    await eventually(
        lambda: all(record.online for record in hub.campus.devices.values()),
        hub,
        what="the hub to see every device online",
    )
    return started
