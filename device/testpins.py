"""A test-only switch: ``ROOMCAST_TEST_PIN_FACTORY=mock`` runs the node on gpiozero's mock
pins, and SIGUSR1 holds its panic button down for the panic pattern (a finger on the pin).

Only ``make pi-test`` sets it (a drop-in on the unit inside its emulated root), to press
the button of a node installed exactly as on a Pi. A shipped unit never does; the node
logs a warning whenever it is on, so it cannot go unnoticed.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
from typing import Any

from device.config import BUTTON_EVENTS
from hardware.config import HardwareConfig
from hardware.pins import make_pin_factory
from protocol.messages import EventKind

SWITCH = "ROOMCAST_TEST_PIN_FACTORY"
log = logging.getLogger(__name__)


def test_pin_factory(config: HardwareConfig) -> Any:
    """The mock factory when the switch is set (and SIGUSR1 presses panic), else None."""
    if os.environ.get(SWITCH) != "mock":
        return None
    log.warning("%s=mock: TEST ONLY, the node's buttons are mock pins", SWITCH)
    factory = make_pin_factory("mock")
    panic = next((b for b in config.buttons if BUTTON_EVENTS[b.kind] is EventKind.PANIC), None)
    if panic is not None:
        hold_s = panic.pattern.duration_s + 0.5

        def press() -> None:
            pin = factory.pin(panic.pin)
            pin.drive_low() if panic.pull_up else pin.drive_high()
            threading.Event().wait(hold_s)
            pin.drive_high() if panic.pull_up else pin.drive_low()

        signal.signal(signal.SIGUSR1, lambda *_: threading.Thread(target=press).start())
    return factory
