"""The site inventory: JSON round trip and errors that name the entry and the key."""

from __future__ import annotations

from typing import Any

import pytest

from protocol.inventory import Inventory, InventoryError, Room
from protocol.topics import InvalidName

DOCUMENT: dict[str, Any] = {
    "site": "lincoln",
    "rooms": [
        {"id": "gym", "building": "annex", "floor": "0", "name": "Gymnasium"},
        {"id": "101", "building": "main", "floor": "1", "name": "Science Lab"},
        {"id": "102", "building": "main", "floor": "1", "name": ""},
    ],
    "devices": [
        {"id": "dev-101-a", "room": "101"},
        {"id": "dev-101-b", "room": "101"},
        {"id": "dev-gym", "room": "gym"},
    ],
}


def test_from_dict_to_dict_round_trip() -> None:
    inventory = Inventory.from_dict(DOCUMENT)
    assert inventory.to_dict() == DOCUMENT
    assert Inventory.from_dict(inventory.to_dict()) == inventory


def test_reads_rooms_buildings_and_devices() -> None:
    loaded = Inventory.from_dict(DOCUMENT)
    assert loaded.site == "lincoln"
    assert loaded.buildings == ["annex", "main"]
    assert loaded.rooms["101"] == Room(id="101", building="main", floor="1", name="Science Lab")
    assert loaded.room_of("dev-gym") == loaded.rooms["gym"]
    assert loaded.room_of("dev-unknown") is None
    assert loaded.devices_in("101") == ["dev-101-a", "dev-101-b"]
    assert loaded.devices_in("102") == []


def test_label_falls_back_to_the_id() -> None:
    loaded = Inventory.from_dict(DOCUMENT)
    assert loaded.rooms["101"].label == "Science Lab"
    assert loaded.rooms["102"].label == "102"


def test_optional_keys_default_to_empty() -> None:
    loaded = Inventory.from_dict({"site": "lincoln", "rooms": [{"id": "101", "building": "main"}]})
    assert loaded.rooms["101"].floor == ""
    assert loaded.devices == {}


def test_device_bound_to_an_unknown_room() -> None:
    document = DOCUMENT | {"devices": [{"id": "dev-999", "room": "999"}]}
    with pytest.raises(InventoryError, match=r"^device dev-999 is bound to unknown room '999'$"):
        Inventory.from_dict(document)


def test_duplicate_room_names_the_entry() -> None:
    rooms = [*DOCUMENT["rooms"], {"id": "101", "building": "annex"}]
    with pytest.raises(InventoryError, match=r"^rooms\[3\]: room '101' is listed twice$"):
        Inventory.from_dict(DOCUMENT | {"rooms": rooms})


@pytest.mark.parametrize(
    ("document", "key"),
    [
        ({"rooms": []}, "'site'"),
        ({"site": "lincoln", "rooms": [{"id": "101"}]}, "'building'"),
        ({"site": "lincoln", "rooms": [{"building": "main"}]}, "'id'"),
        (
            {"site": "lincoln", "rooms": [{"id": "1", "building": "b"}], "devices": [{"id": "d"}]},
            "'room'",
        ),
    ],
)
def test_missing_key_is_named(document: dict[str, Any], key: str) -> None:
    with pytest.raises(InventoryError, match=f"^inventory entry is missing the key {key}$"):
        Inventory.from_dict(document)


def test_invalid_room_id_is_reported_as_malformed() -> None:
    document = {"site": "lincoln", "rooms": [{"id": "Room 1", "building": "main"}]}
    with pytest.raises(InventoryError, match=r"^inventory is malformed: room id 'Room 1'"):
        Inventory.from_dict(document)


def test_rooms_that_are_not_a_list_of_objects_are_malformed() -> None:
    with pytest.raises(InventoryError, match=r"^inventory is malformed"):
        Inventory.from_dict({"site": "lincoln", "rooms": ["101"]})


def test_direct_construction_checks_ids() -> None:
    with pytest.raises(InvalidName, match="building id 'Main'"):
        Room(id="101", building="Main")
    with pytest.raises(InvalidName, match="device id 'Dev'"):
        Inventory(site="lincoln", rooms={}, devices={"Dev": "101"})
