"""Fixtures for hardware tests: gpiozero mock pins, pseudo-terminals, event recorders."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from gpiozero.pins.mock import MockFactory, MockPWMPin
from hw_helpers import PtyDevice, Recorder


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


@pytest.fixture
def pin_factory() -> Iterator[MockFactory]:
    """A fresh mock factory per test, never installed as gpiozero's global default."""
    factory = MockFactory(pin_class=MockPWMPin)
    yield factory
    factory.reset()
    factory.close()


@pytest.fixture
def pty_device(tmp_path: Path) -> Iterator[PtyDevice]:
    device = PtyDevice(tmp_path / "ttyUSB-roomcast")
    yield device
    device.close()


@pytest.fixture
def make_pty(tmp_path: Path) -> Iterator[Callable[[str], PtyDevice]]:
    """Several pseudo-terminal devices, each behind its own link name."""
    made: list[PtyDevice] = []

    def make(name: str) -> PtyDevice:
        device = PtyDevice(tmp_path / name)
        made.append(device)
        return device

    yield make
    for device in made:
        device.close()
