"""Faults on the worst day: broker, hub, network and power, against real processes.

Each test counts and asserts: every event received by the hub exactly once, every online
display converged to the current directive within a bounded time after recovery, every
offline device flagged. Each prints its counts.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.fault.harness import Rooms, School, wait_until
from tests.fault.proxy import ThreadedProxy

pytestmark = pytest.mark.fault

RECOVERY_S = 30.0
"""Every display converges within this long after a fault ends."""


@dataclass
class Campus:
    school: School
    crowd: Rooms
    """Most rooms, through one proxy."""
    loner: Rooms
    """One room, through a proxy of its own: the link a test cuts or black-holes."""
    crowd_link: ThreadedProxy
    loner_link: ThreadedProxy

    @property
    def groups(self) -> list[Rooms]:
        return [self.crowd, self.loner]

    def issue(self, action: str) -> int:
        return int(self.school.api.post("/api/directives", {"action": action})["seq"])

    def converge(self, seq: int) -> float:
        return wait_until(
            lambda: self.school.converged(self.groups, seq),
            within_s=RECOVERY_S,
            what=f"every display to show and ack directive #{seq}",
        )

    def outboxes_empty(self) -> bool:
        return all(
            r["pending_events"] == 0 for g in self.groups for r in g.status()["rooms"].values()
        )


@pytest.fixture
def campus(tmp_path: Path) -> Iterator[Campus]:
    school = School(tmp_path, rooms=12)
    school.broker.start()
    crowd_link = ThreadedProxy(school.broker.port)
    loner_link = ThreadedProxy(school.broker.port)
    rooms = school.room_ids
    crowd = Rooms(school, "crowd", school.route_rooms(rooms[1:], crowd_link.port))
    loner = Rooms(school, "loner", school.route_rooms(rooms[:1], loner_link.port))
    try:
        school.start_hub()
        crowd.start()
        loner.start()
        yield Campus(school, crowd, loner, crowd_link, loner_link)
    finally:
        school.stop_all([crowd, loner])
        crowd_link.close()
        loner_link.close()


def report(capsys: pytest.CaptureFixture[str], name: str, **counts: object) -> None:
    with capsys.disabled():
        print(f"\n[fault] {name}: " + ", ".join(f"{k}={v}" for k, v in counts.items()))


def _burst(campus: Campus, fault_at: int, fault: object) -> list[str]:
    """A panic press in every room, with ``fault()`` called before press ``fault_at``."""
    pressed = []
    for index, room in enumerate(campus.school.room_ids):
        if index == fault_at:
            fault()  # type: ignore[operator]
        group = campus.loner if room == campus.school.room_ids[0] else campus.crowd
        pressed.append(group.press(room))
    return pressed


def _delivered_once(campus: Campus, pressed: list[str]) -> dict[str, int]:
    school = campus.school
    wait_until(
        lambda: set(pressed) <= set(school.panic_event_ids()),
        within_s=RECOVERY_S,
        what="every press to reach the hub",
    )
    wait_until(campus.outboxes_empty, within_s=RECOVERY_S, what="every outbox to empty")
    received = school.panic_event_ids()
    assert sorted(received) == sorted(pressed)  # each exactly once, nothing extra
    return {
        "sent": len(pressed),
        "received": len(received),
        "duplicates_removed": school.rejected().get("duplicate event", 0),
        "lost": len(set(pressed) - set(received)),
    }


def test_broker_killed_during_a_panic_burst(
    campus: Campus, capsys: pytest.CaptureFixture[str]
) -> None:
    seq = campus.issue("hold")
    campus.converge(seq)

    pressed = _burst(campus, fault_at=5, fault=campus.school.broker.kill)
    campus.school.broker.start()

    counts = _delivered_once(campus, pressed)
    converge_s = campus.converge(seq)
    report(capsys, "broker kill -9", **counts, converge_s=round(converge_s, 2))


def test_hub_killed_during_a_panic_burst(
    campus: Campus, capsys: pytest.CaptureFixture[str]
) -> None:
    seq = campus.issue("secure")
    campus.converge(seq)

    pressed = _burst(campus, fault_at=6, fault=campus.school.kill_hub)
    campus.school.start_hub()

    counts = _delivered_once(campus, pressed)
    converge_s = campus.converge(seq)
    report(capsys, "hub kill -9 in a burst", **counts, converge_s=round(converge_s, 2))


def test_hub_killed_during_a_fan_out(campus: Campus, capsys: pytest.CaptureFixture[str]) -> None:
    seq = campus.issue("lockdown")
    campus.school.kill_hub()  # the directive is stored; its fan-out may be half done

    campus.school.start_hub()

    converge_s = campus.converge(seq)
    report(
        capsys,
        "hub kill -9 in a fan-out",
        rooms=len(campus.school.room_ids),
        converge_s=round(converge_s, 2),
    )


def test_black_holed_device_says_link_lost_is_flagged_and_converges(
    campus: Campus, capsys: pytest.CaptureFixture[str]
) -> None:
    school, room = campus.school, campus.school.room_ids[0]
    first = campus.issue("hold")
    campus.converge(first)

    campus.loner_link.blackhole()
    link_lost_s = wait_until(
        lambda: campus.loner.status()["rooms"][room]["link"] == "LINK LOST",
        within_s=5,
        what="LINK LOST on the black-holed room's display",
    )
    flagged_s = wait_until(
        lambda: not _room(school, room)["online"],
        within_s=15,
        what="the hub to flag it",
    )
    second = campus.issue("secure")
    campus.loner_link.restore()

    converge_s = campus.converge(second)
    assert _room(school, room)["online"] is True
    report(
        capsys,
        "device link black-holed",
        link_lost_s=round(link_lost_s, 2),
        offline_flagged_s=round(flagged_s, 2),
        converge_s=round(converge_s, 2),
    )


def test_device_killed_between_storing_and_sending_an_event(
    campus: Campus, capsys: pytest.CaptureFixture[str]
) -> None:
    room = campus.school.room_ids[0]
    campus.loner_link.cut()
    wait_until(
        lambda: campus.loner.status()["rooms"][room]["link"] == "LINK LOST",
        within_s=5,
        what="the room to notice its link is gone",
    )
    pressed = [campus.loner.press(room)]  # stored in the outbox; no link to send it on
    campus.loner.kill()

    campus.loner_link.restore()
    campus.loner.start()

    counts = _delivered_once(campus, pressed)
    report(capsys, "device kill -9 with an unsent event", **counts)


def _room(school: School, room: str) -> dict[str, object]:
    status = school.api.get("/api/status")
    (found,) = [r for r in status["rooms"] if r["room"] == room]
    return dict(found)
