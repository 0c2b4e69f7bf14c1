"""Fixtures for the unit tests: keys, a small inventory, and a hub engine on a real SQLite file."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from hub.engine import Engine
from hub.store import HubStore
from protocol.inventory import Inventory, Room
from protocol.messages import Directive
from tests.unit.factories import T0


@pytest.fixture(scope="session")
def hub_key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.generate()


@pytest.fixture(scope="session")
def other_key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.generate()


@pytest.fixture
def inventory() -> Inventory:
    """Three rooms in two buildings; room 101 has two displays, the others one each."""
    rooms = {
        "101": Room(id="101", building="main", floor="1", name="Science Lab"),
        "102": Room(id="102", building="main", floor="1", name="Art"),
        "gym": Room(id="gym", building="annex", floor="0", name="Gymnasium"),
    }
    devices = {"dev-101-a": "101", "dev-101-b": "101", "dev-102": "102", "dev-gym": "gym"}
    return Inventory(site="lincoln", rooms=rooms, devices=devices)


class FakeClock:
    """A clock the test moves by hand."""

    def __init__(self, now: float = T0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def hub_db(tmp_path: Path) -> Path:
    return tmp_path / "hub" / "hub.sqlite3"


@pytest.fixture
def published() -> list[Directive]:
    """What the engine handed to MQTT, in order."""
    return []


MakeEngine = Callable[[], Engine]


@pytest.fixture
def make_engine(
    inventory: Inventory,
    hub_db: Path,
    hub_key: Ed25519PrivateKey,
    published: list[Directive],
    clock: FakeClock,
) -> Iterator[MakeEngine]:
    """Build an engine on a fresh store connection to the same file: a second call is a restart."""
    stores: list[HubStore] = []

    def make() -> Engine:
        store = HubStore(hub_db)
        stores.append(store)
        return Engine(
            inventory=inventory,
            store=store,
            signing_key=hub_key,
            publish_directive=published.append,
            clock=clock,
        )

    yield make
    for store in stores:
        store.close()


@pytest.fixture
def engine(make_engine: MakeEngine) -> Engine:
    return make_engine()
