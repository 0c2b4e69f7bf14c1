"""Shared fixtures: a real Mosquitto on loopback, throw-away sites, running services."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import aiomqtt
import pytest
from gpiozero.pins.mock import MockFactory, MockPWMPin

from device.config import load_device_config
from device.service import DeviceService
from hardware.simulated import PngDisplay, SimulatedIndicator, SimulatedInputs
from hub.config import load_hub_config
from hub.service import HubService
from provisioning.fsutil import write_json
from provisioning.throwaway import ThrowawaySite, create_throwaway_site
from roomcast.broker import BrokerError, MosquittoProcess, find_mosquitto, free_port
from tests.serial_fakes import PtyDevice
from transport.client import tls_parameters
from transport.endpoint import BrokerEndpoint, TlsFiles

WAIT = 10.0
"""Bound on every wait for something to happen across the broker."""


def login_body(site: ThrowawaySite, user: str, password: str, **extra: Any) -> dict[str, Any]:
    """The JSON ``POST /api/login`` needs: the site's admin also sends their current TOTP
    code (every test that logs in as the admin goes through here)."""
    body: dict[str, Any] = {"user": user, "password": password} | extra
    if user == site.admin_user:
        body["otp"] = site.admin_code()
    return body


def admin_login(site: ThrowawaySite, **extra: Any) -> dict[str, Any]:
    return login_body(site, site.admin_user, site.admin_password, **extra)


@pytest.fixture
def site(tmp_path: Path) -> ThrowawaySite:
    """A provisioned site (CA, per-device TLS certificates, ACL) with three rooms."""
    return create_throwaway_site(
        tmp_path / "site", rooms=3, broker_port=free_port(), heartbeat_s=1.0
    )


@pytest.fixture
def mosquitto(site: ThrowawaySite) -> Iterator[MosquittoProcess]:
    """A real broker from the site's generated config: TLS only, client certificates, ACL."""
    try:
        find_mosquitto()
    except BrokerError as error:
        pytest.fail(str(error), pytrace=False)  # never a silent skip
    with MosquittoProcess(site.broker, site.layout.broker.dir) as broker:
        yield broker


def identity(site: ThrowawaySite, who: str) -> TlsFiles:
    """The TLS files of "hub" or of a device id, to connect as that client."""
    if who == "hub":
        return TlsFiles(ca=site.hub.ca, cert=site.hub.cert, key=site.hub.key)
    (device,) = [d for d in site.devices if d.device_id == who]
    return TlsFiles(ca=device.ca, cert=device.cert, key=device.key)


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


@contextlib.asynccontextmanager
async def mqtt_as(
    site: ThrowawaySite, broker: MosquittoProcess, who: str
) -> AsyncIterator[aiomqtt.Client]:
    """A raw MQTT client with the TLS identity of "hub" or a device id (for attack tests)."""
    endpoint = BrokerEndpoint(host="127.0.0.1", port=broker.port, tls=identity(site, who))
    async with aiomqtt.Client(
        "127.0.0.1",
        broker.port,
        identifier=f"test-{who}-{id(endpoint)}",
        tls_params=tls_parameters(endpoint),
    ) as client:
        yield client


@pytest.fixture
async def hub(site: ThrowawaySite, mosquitto: MosquittoProcess) -> AsyncIterator[HubService]:
    async with hub_with(site) as service:
        yield service


HUB_STOP_S = 20.0
"""A hub stops well within this once cancelled (its farewell alone is bounded at 2 s)."""


@contextlib.asynccontextmanager
async def hub_with(site: ThrowawaySite, **settings: Any) -> AsyncIterator[HubService]:
    """A hub whose hub.json has ``settings`` added, as IT would write them (needs a broker)."""
    if settings:
        config = json.loads(site.hub.config.read_text(encoding="utf-8"))
        write_json(site.hub.config, config | settings)
    service = HubService(load_hub_config(site.hub.config))
    task = asyncio.create_task(service.run())
    try:
        async with asyncio.timeout(WAIT):
            await service.ready.wait()
        yield service
    finally:
        task.cancel()
        try:
            with contextlib.suppress(asyncio.CancelledError):
                async with asyncio.timeout(HUB_STOP_S):
                    await task
        except TimeoutError:
            raise AssertionError(
                f"the hub did not stop within {HUB_STOP_S:.0f} s of being cancelled: "
                "a wait in its shutdown has no bound"
            ) from None


StartNode = Callable[..., Awaitable[Node]]


@pytest.fixture
async def start_node(
    site: ThrowawaySite, mosquitto: MosquittoProcess, tmp_path: Path
) -> AsyncIterator[StartNode]:
    tasks: list[asyncio.Task[None]] = []
    configs = {device.device_id: device.config for device in site.devices}

    async def start(device_id: str, config_path: Path | None = None) -> Node:
        config = load_device_config(config_path or configs[device_id])
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
async def nodes(site: ThrowawaySite, hub: HubService, start_node: StartNode) -> list[Node]:
    """Every device of the site running, and seen online by the hub."""
    started = [await start_node(device.device_id) for device in site.devices]
    await eventually(
        lambda: all(record.online for record in hub.engine.presence.devices.values()),
        hub,
        what="the hub to see every device online",
    )
    return started


@pytest.fixture
def pin_factory() -> Iterator[MockFactory]:
    """A fresh gpiozero mock factory per test, never installed as the global default."""
    factory = MockFactory(pin_class=MockPWMPin)
    yield factory
    factory.reset()
    factory.close()


@pytest.fixture
def make_pty(tmp_path: Path) -> Iterator[Callable[[str], PtyDevice]]:
    """Serial devices played by pseudo-terminals, each behind its own link name."""
    made: list[PtyDevice] = []

    def make(name: str) -> PtyDevice:
        device = PtyDevice(tmp_path / name)
        made.append(device)
        return device

    yield make
    for device in made:
        device.close()
