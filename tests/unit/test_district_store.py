"""The district's two SQLite stores: private from the first byte, a request recorded
whole or not at all, and the record of outcomes never moved backwards by a late writer."""

from __future__ import annotations

import sqlite3
import stat
from pathlib import Path

import pytest

from district.console_store import ConsoleStore
from district.store import DistrictStore
from hub.store import HubStore
from transport.sqlite import open_store


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_the_district_stores_are_created_0600(tmp_path: Path) -> None:
    DistrictStore(tmp_path / "district.db").close()
    ConsoleStore(tmp_path / "console.db").close()
    for name in ("district.db", "console.db"):
        assert _mode(tmp_path / name) == 0o600, name
    for extra in tmp_path.glob("*.db-*"):  # -wal, -shm while open
        assert _mode(extra) & 0o077 == 0, extra


def test_a_store_an_older_version_left_world_readable_is_made_private(tmp_path: Path) -> None:
    path = tmp_path / "console.db"
    path.touch(mode=0o644)
    path.chmod(0o644)
    ConsoleStore(path).close()
    assert _mode(path) == 0o600


def test_the_hubs_store_still_opens_and_is_private(tmp_path: Path) -> None:
    store = HubStore(tmp_path / "hub.db")
    store.close()
    assert _mode(tmp_path / "hub.db") == 0o600
    db = open_store(tmp_path / "hub.db", "")
    assert db.execute("SELECT count(*) FROM sqlite_master").fetchone()[0] > 0
    db.close()


REQUEST = {
    "id": "r1", "sent_at": 1000.0, "issued_by": "kim", "action": "secure", "scope": "site",
    "target": "", "drill": True, "group": None, "details": {},
}  # fmt: skip


def test_a_request_is_recorded_with_all_its_schools_or_not_at_all(tmp_path: Path) -> None:
    store = DistrictStore(tmp_path / "district.db")
    with pytest.raises(sqlite3.IntegrityError):
        store.add_request(REQUEST, ["lincoln", "lincoln"])  # the second school row fails
    assert store.request("r1") is None  # not a request without its schools
    store.add_request(REQUEST, ["lincoln", "adams"])
    found = store.request("r1")
    assert found is not None and list(found["schools"]) == ["lincoln", "adams"]


def test_outcomes_are_set_together_or_not_at_all(tmp_path: Path) -> None:
    store = DistrictStore(tmp_path / "district.db")
    store.add_request(REQUEST, ["lincoln"])
    store.add_request(REQUEST | {"id": "r2"}, ["lincoln"])
    with pytest.raises(ValueError, match="no such columns"):
        store.set_outcomes(
            "lincoln", {"r1": {"state": "refused"}, "r2": {"state": "refused", "bogus": 1}}
        )
    found = store.request("r1")
    assert found is not None and found["schools"]["lincoln"]["state"] == "no answer"
