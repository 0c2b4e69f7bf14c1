"""Fixtures for the device tests: a hub key, mock GPIO pins, pseudo-terminal ports."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from gpiozero.pins.mock import MockFactory, MockPWMPin

from tests.device.helpers import PtyDevice


@pytest.fixture(scope="session")
def hub_key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.generate()


@pytest.fixture
def pins() -> Iterator[MockFactory]:
    """A fresh mock factory per test, never installed as gpiozero's global default."""
    factory = MockFactory(pin_class=MockPWMPin)
    yield factory
    factory.reset()
    factory.close()


@pytest.fixture
def make_pty(tmp_path: Path) -> Iterator[Callable[[str], PtyDevice]]:
    made: list[PtyDevice] = []

    def make(name: str) -> PtyDevice:
        device = PtyDevice(tmp_path / name)
        made.append(device)
        return device

    yield make
    for device in made:
        device.close()
