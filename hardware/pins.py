"""gpiozero pin factories chosen by config name, imported only when chosen.

We never set gpiozero's process-wide ``Device.pin_factory``: the service makes one
factory, passes it to every driver's constructor, and closes it on the way out. Only
the chosen backend is imported, so a Pi 5 (where only ``lgpio`` works) never needs
RPi.GPIO installed, and a laptop running tests needs neither.
"""

from __future__ import annotations

import importlib
from typing import Any

from hardware.errors import HardwareConfigError, PartUnavailable

_BACKENDS = {
    "lgpio": (
        "gpiozero.pins.lgpio",
        "LGPIOFactory",
        # A venv does not see apt's modules, and Debian has no python3-lgpio: the wheel
        # on PyPI is a dependency of roomcast on arm64 Linux, so a reinstall brings it.
        "install the lgpio wheel into the service's venv (/opt/roomcast/venv/bin/pip "
        "install 'lgpio>=0.2.2'; it is a dependency of roomcast on arm64). Pi 5: the only "
        "backend that works there",
    ),
    "rpigpio": (
        "gpiozero.pins.rpigpio",
        "RPiGPIOFactory",
        "/opt/roomcast/venv/bin/pip install rpi-lgpio (not on a Pi 5: use lgpio)",
    ),
    "native": ("gpiozero.pins.native", "NativeFactory", "check that /dev/gpiomem exists"),
    "mock": ("gpiozero.pins.mock", "MockFactory", "reinstall gpiozero"),
}


def make_pin_factory(name: str) -> Any:
    """A new gpiozero pin factory for ``hardware.pin_factory`` = ``name``.

    "mock" gives a ``MockFactory`` whose pins support PWM, so an RGB LED and a passive
    buzzer work on it as they do on a Pi.

    Raises:
        HardwareConfigError: ``name`` is not a backend we know.
        PartUnavailable: the backend's library is missing or finds no GPIO chip.
    """
    if name not in _BACKENDS:
        raise HardwareConfigError(
            "hardware.pin_factory",
            f"unknown pin factory {name!r}",
            "Use one of: " + ", ".join(_BACKENDS),
        )
    module_name, class_name, fix = _BACKENDS[name]
    try:
        factory_class = getattr(importlib.import_module(module_name), class_name)
        if name == "mock":
            mock = importlib.import_module("gpiozero.pins.mock")
            return factory_class(pin_class=mock.MockPWMPin)
        return factory_class()
    except Exception as error:  # each backend fails in its own way (lgpio.error, ...)
        raise PartUnavailable(
            "gpio",
            f"pin factory {name}",
            str(error) or type(error).__name__,
            f"Add the service user to the gpio group and {fix}",
        ) from error
