"""The district's two SQLite stores: private from the first byte, a request recorded
whole or not at all, and the record of outcomes never moved backwards by a late writer."""

from __future__ import annotations

import dataclasses
import sqlite3
import stat
from pathlib import Path

import pytest

from district.console_store import ConsoleStore
from district.record import note_summary
from district.store import DistrictStore
from hub.store import HubStore
from protocol.district import RequestOutcome
from protocol.srp import Action
from tests.unit.factories import T0
from tests.unit.test_district_board import summary
from tests.unit.test_district_requests import directive
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
            "lincoln",
            {"r1": {"state": "refused"}, "r2": {"state": "refused", "bogus": 1}},
            epoch=1,
            seq=1,
        )
    found = store.request("r1")
    assert found is not None and found["schools"]["lincoln"]["state"] == "no answer"


def test_two_writers_never_move_an_outcome_back_to_an_older_summary(tmp_path: Path) -> None:
    """The service and `district request` note the same summaries, each in its own time:
    the one that reads an older summary last must not undo the newer one's outcome."""
    service, command = DistrictStore(tmp_path / "d.db"), DistrictStore(tmp_path / "d.db")
    service.add_request(REQUEST, ["lincoln"])
    issued = RequestOutcome(request_id="r1", at=T0, issued=True, seq=9)
    half = directive(seq=9, action=Action.SECURE, confirmed=1, total=3, request="r1",
                     pending_rooms=("102", "gym"))  # fmt: skip
    done = dataclasses.replace(half, confirmed=3, pending_rooms=())
    older = summary(seq=6, requests=(issued,), directives=(half,), in_force=3, confirmed=1)
    newer = summary(seq=7, requests=(issued,), directives=(done,), in_force=3, confirmed=3)
    note_summary(service, newer, at=T0 + 2)
    note_summary(command, older, at=T0 + 3)  # late: it read seq 6 before seq 7 came
    row = command.request("r1")["schools"]["lincoln"]  # type: ignore[index]
    assert (row["state"], row["confirmed"], row["summary_seq"]) == ("confirmed", 3, 7)
    # A restarted hub (a new epoch) is believed even though its seq is lower.
    restarted = summary(seq=1, epoch=3, requests=(issued,), directives=(half,))
    note_summary(command, restarted, at=T0 + 4)
    row = service.request("r1")["schools"]["lincoln"]  # type: ignore[index]
    assert (row["state"], row["summary_seq"]) == ("issued", 1)
    service.close()
    command.close()
