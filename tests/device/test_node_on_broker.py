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
from device.service import DeviceService
from hub.campus import DirectiveRequest
from hub.service import HubService
from hub.views import alerts
from protocol.srp import Action
from tests.conftest import eventually
from tests.device.helpers import PtyDevice, until
from tests.device.test_mock_pins import hold

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
    service = DeviceService(
        config,
        display=parts.display,
        inputs=parts.inputs,
        indicator=parts.indicator,
        sounder=parts.buzzer,
        outputs=parts.outputs,
        faults=parts.faults,
    )
    task = asyncio.create_task(service.run())
    try:
        yield service, parts
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        parts.close()


def faults_at_hub(hub: HubService, device_id: str) -> dict[str, str]:
    record = hub.campus.devices.get(device_id)
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
        assert any(
            line.startswith(f"{device}: display:") for line in hub.campus.trouble()["faults"]
        )
        await until(lambda: service.pending_events() == [], what="the fault event's receipt")
        reports = list(hub.store.events(kinds=("fault",)))
        assert [r["device_id"] for r in reports] == [device]


async def test_a_held_mock_button_is_one_panic_alert_at_the_hub(
    site: Any, hub: HubService, tmp_path: Path, pins: MockFactory
) -> None:
    raw = {
        "pin_factory": "mock",
        "buttons": [{"pin": 17, "kind": "panic", "pattern": {"hold_s": 0.5}}],
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
        lockdown = hub.campus.issue(DirectiveRequest(action=Action.LOCKDOWN), user="t")
        on = await asyncio.to_thread(board.read, 8)
        assert on == b"".join(relay_state_frames(2, {1, 2}))
        await eventually(lambda: service.acked_seq == lockdown.seq, hub, what="the ack")
        hub.campus.issue(DirectiveRequest(action=Action.ALL_CLEAR), user="t")
        off = await asyncio.to_thread(board.read, 8)
        assert off == b"".join(relay_state_frames(2, set()))
