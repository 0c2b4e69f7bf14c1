"""A finger on a gpiozero mock pin, on another thread, reaching the service's event loop.

gpiozero calls back on its own threads (synchronously in the caller's thread on mock
pins); the buttons' watcher thread hands the activation to the loop. A held button is
one activation however long it is held, and a short bump is none.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from gpiozero.pins.mock import MockFactory

from device.build import DisplayChoice, build_hardware
from device.node import node_service
from device.service import DeviceService
from protocol.messages import EventKind
from tests.device.helpers import node_config, running, until

HOLD_S = 0.5
BUTTONS = {
    "pin_factory": "mock",
    "buttons": [
        {"pin": 17, "kind": "panic", "pattern": {"hold_s": HOLD_S}},
        {"pin": 22, "kind": "staff-assist", "pattern": {"presses": 2, "window_s": 1.0}},
        {"pin": 27, "kind": "cancel"},
    ],
}


def hold(pins: MockFactory, pin: int, seconds: float) -> threading.Thread:
    """Press and hold a button from another thread, as a finger would."""

    def finger() -> None:
        mock = pins.pin(pin)
        mock.drive_low()
        time.sleep(seconds)
        mock.drive_high()

    thread = threading.Thread(target=finger, name="finger")
    thread.start()
    return thread


def presses(service: DeviceService, kind: EventKind) -> int:
    return sum(1 for e in service.pending_events() if e.kind is kind)


@pytest.fixture
def node(tmp_path: Path, hub_key: Ed25519PrivateKey, pins: MockFactory) -> DeviceService:
    parts = build_hardware(
        BUTTONS, choice=DisplayChoice(png=tmp_path / "screen.png"), pin_factory=pins
    )
    return node_service(node_config(tmp_path, hub_key), parts)


async def test_a_held_panic_button_is_exactly_one_panic_event(
    node: DeviceService, pins: MockFactory
) -> None:
    async with running(node):
        finger = hold(pins, 17, HOLD_S * 3)  # held three times as long as needed
        await until(lambda: presses(node, EventKind.PANIC) >= 1, what="the panic event")
        await until(lambda: not finger.is_alive(), what="the finger to let go")
        await double_press(pins, 22)
        # Edges are handled in order on one watcher thread: once this later gesture has
        # arrived, everything the long hold could have caused has arrived too.
        await until(lambda: presses(node, EventKind.STAFF_ASSIST) == 1, what="staff-assist")
        assert [e.kind for e in node.pending_events()] == [EventKind.PANIC, EventKind.STAFF_ASSIST]


async def test_a_bump_shorter_than_the_hold_raises_nothing(
    node: DeviceService, pins: MockFactory
) -> None:
    async with running(node):
        bump = hold(pins, 17, HOLD_S / 5)
        await until(lambda: not bump.is_alive(), what="the bump")
        await double_press(pins, 22)
        await until(lambda: presses(node, EventKind.STAFF_ASSIST) == 1, what="staff-assist")
        assert presses(node, EventKind.PANIC) == 0


async def double_press(pins: MockFactory, pin: int) -> None:
    for _ in range(2):
        finger = hold(pins, pin, 0.08)
        await until(lambda finger=finger: not finger.is_alive(), what="a press")  # type: ignore[misc]
