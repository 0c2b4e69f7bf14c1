"""A node on real parts' fakes, across a real Mosquitto to a real hub: a part that failed
to open reaches the office as a fault, a held mock button as exactly one panic alert,
and a Lockdown switches the relay on while All clear switches it off."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from gpiozero.pins.mock import MockFactory

from device.build import DisplayChoice, NodeHardware, build_hardware
from device.config import load_device_config
from device.node import node_service
from device.service import DeviceService
from hardware.simulated import PngDisplay, SimulatedIndicator, SimulatedInputs, SimulatedOutputs
from hub.config import load_hub_config
from hub.directives import DirectiveRequest
from hub.queries import alerts, trouble
from hub.service import HubService
from protocol.srp import Action
from roomcast.broker import MosquittoProcess
from tests.conftest import eventually
from tests.device.helpers import running, until
from tests.device.test_mock_pins import hold
from tests.device.test_service_parts import RecordingNotifier
from tests.serial_fakes import PtyDevice

pytestmark = [
    pytest.mark.integration,
    pytest.mark.filterwarnings("ignore:Image.Image.getdata is deprecated:DeprecationWarning:luma"),
]


@asynccontextmanager
async def node(
    site: Any, tmp_path: Path, raw: dict[str, Any], pins: MockFactory | None = None
) -> AsyncIterator[tuple[DeviceService, NodeHardware]]:
    """The site's first device, running on the parts ``raw`` describes."""
    config = load_device_config(site.devices[0].config)
    parts = build_hardware(raw, choice=DisplayChoice(png=tmp_path / "screen.png"), pin_factory=pins)
    service = node_service(config, parts)
    task = asyncio.create_task(service.run())
    try:
        yield service, parts
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        parts.close()


def faults_at_hub(hub: HubService, device_id: str) -> dict[str, str]:
    record = hub.engine.presence.devices.get(device_id)
    return {} if record is None else dict(record.faults)


async def test_a_display_that_failed_to_open_reaches_the_office(
    site: Any, hub: HubService, tmp_path: Path
) -> None:
    raw = {"display": {"type": "ssd1306", "i2c": {"port": 9}}}
    async with node(site, tmp_path, raw) as (service, _):
        device = service.config.device_id
        await eventually(
            lambda: "display" in faults_at_hub(hub, device), hub, what="the display fault"
        )
        assert "I2C bus 9" in faults_at_hub(hub, device)["display"]
        assert any(line.startswith(f"{device}: display:") for line in trouble(hub.engine)["faults"])
        await until(lambda: service.pending_events() == [], what="the fault event's receipt")
        reports = list(hub.store.events(kinds=("fault",)))
        assert [r["device_id"] for r in reports] == [device]


async def test_a_held_mock_button_is_one_panic_alert_at_the_hub(
    site: Any, hub: HubService, tmp_path: Path, pins: MockFactory
) -> None:
    raw = {
        "pin_factory": "mock",
        "buttons": [
            {"pin": 17, "kind": "panic", "pattern": {"hold_s": 0.5}},
            {"pin": 27, "kind": "cancel"},
        ],
    }
    async with node(site, tmp_path, raw, pins) as (service, _):
        await eventually(service.connected.is_set, hub, what="the node to connect")
        finger = hold(pins, 17, 1.5)
        await eventually(lambda: len(alerts(hub.store)) == 1, hub, what="the panic alert")
        await until(lambda: not finger.is_alive(), what="the release")
        await until(lambda: service.pending_events() == [], what="the receipt")
        assert len(alerts(hub.store)) == 1
        assert alerts(hub.store)[0]["room"] == service.config.room


async def test_lockdown_switches_the_relay_on_and_all_clear_off(
    site: Any, hub: HubService, tmp_path: Path, make_pty: Callable[[str], PtyDevice]
) -> None:
    from hardware.serial_frames import relay_state_frames

    board = make_pty("usb-relay")
    raw = {
        "relay": {
            "port": str(board.path),
            "channels": 2,
            "frame_gap_s": 0,
            "actions": {"lockdown": [1, 2]},
        }
    }
    async with node(site, tmp_path, raw) as (service, _):
        await eventually(service.connected.is_set, hub, what="the node to connect")
        lockdown = hub.engine.directives.issue(DirectiveRequest(action=Action.LOCKDOWN), user="t")
        on = await asyncio.to_thread(board.read, 8)
        assert on == b"".join(relay_state_frames(2, {1, 2}))
        await eventually(lambda: service.acked_seq == lockdown.seq, hub, what="the ack")
        hub.engine.directives.issue(DirectiveRequest(action=Action.ALL_CLEAR), user="t")
        off = await asyncio.to_thread(board.read, 8)
        assert off == b"".join(relay_state_frames(2, set()))


async def test_a_sign_says_hub_offline_when_the_hub_stops_and_systemd_hears_the_link(
    site: Any, mosquitto: MosquittoProcess, tmp_path: Path
) -> None:
    """The sign keeps the last directive but says it may be stale, as the screen does;
    the relay (same action, same drill flag) keeps following it."""
    config = load_device_config(site.devices[0].config)
    display = PngDisplay(tmp_path / "screen.png", size=(128, 64))
    outputs, systemd = SimulatedOutputs(), RecordingNotifier(display)
    service = DeviceService(
        config,
        display=display,
        inputs=SimulatedInputs(),
        indicator=SimulatedIndicator(),
        outputs=outputs,
        notifier=systemd,
    )
    hub = HubService(load_hub_config(site.hub.config))
    hub_task = asyncio.create_task(hub.run())
    async with running(service):
        await until(service.connected.is_set, what="the node to connect")
        await until(lambda: bool(systemd.fields("STATUS=broker: connected to")))
        hub.engine.directives.issue(DirectiveRequest(action=Action.LOCKDOWN), user="t")
        text = "LOCKDOWN - Locks, lights, out of sight."
        await until(lambda: outputs.current == ("lockdown", False, text), what="the plain text")
        hub_task.cancel()
        await asyncio.gather(hub_task, return_exceptions=True)
        offline = ("lockdown", False, f"HUB OFFLINE: {text}")
        await until(lambda: outputs.current == offline, what="HUB OFFLINE on the sign")
    assert {(action, drill) for action, drill, _ in outputs.applied} == {("lockdown", False)}
