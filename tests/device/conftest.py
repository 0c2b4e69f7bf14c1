"""Fixtures for the device tests: a hub key, mock GPIO pins, pseudo-terminal ports."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from gpiozero.pins.mock import MockFactory


@pytest.fixture(scope="session")
def hub_key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.generate()


@pytest.fixture
def pins(pin_factory: MockFactory) -> MockFactory:
    """The shared mock pin factory (tests/conftest.py), under the name these tests use."""
    return pin_factory
