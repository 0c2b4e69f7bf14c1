"""Fixtures of the relay's integration tests: a receiver CA and a running HTTPS receiver."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.relay_receiver import Authority, Receiver, make_authority, running


@pytest.fixture
def authority(tmp_path: Path) -> Authority:
    return make_authority(tmp_path / "receiver-ca", "receiver")


@pytest.fixture
def receiver(authority: Authority) -> Iterator[Receiver]:
    with running(Receiver(authority)) as started:
        yield started
