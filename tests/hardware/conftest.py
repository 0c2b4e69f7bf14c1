"""Fixtures for hardware tests: gpiozero mock pins, pseudo-terminals, event recorders."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from hw_helpers import PtyDevice, Recorder


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


@pytest.fixture
def pty_device(tmp_path: Path) -> Iterator[PtyDevice]:
    device = PtyDevice(tmp_path / "ttyUSB-roomcast")
    yield device
    device.close()
