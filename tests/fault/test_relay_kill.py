"""The hub is killed (-9) with the relay's queue full: after a restart, everything arrives.

Real processes: Mosquitto, ``roomcast hub``, ``roomcast simulate``; a real HTTPS receiver
with the test's own CA. While the receiver answers 503, panics and a Lockdown pile up in
the queue; the hub dies without a goodbye; the receiver recovers; a new hub delivers each
message, in order, and the receiver, counting by idempotency key, sees each once.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from tests.fault.harness import Rooms, School, wait_until
from tests.relay_receiver import Receiver, Reply, hook, make_authority, running, write_relay

pytestmark = pytest.mark.fault


def _queued(database: Path) -> list[str]:
    """The relay's queue as the hub committed it (read beside the running hub: WAL)."""
    with sqlite3.connect(f"file:{database}?mode=ro", uri=True) as db:
        try:
            rows = db.execute("SELECT key FROM relay_outbox ORDER BY id").fetchall()
        except sqlite3.OperationalError:  # the hub has not made its tables yet
            return []
    return [key for (key,) in rows]


def test_hub_killed_with_a_full_relay_queue_delivers_everything_after_restart(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    authority = make_authority(tmp_path / "receiver-ca", "receiver")
    school = School(tmp_path, rooms=4)
    with running(Receiver(authority)) as receiver:
        receiver.reply = lambda _: Reply(503)
        write_relay(school.site, [hook(receiver, authority)])
        database = school.site.hub.dir / "state" / "hub.db"
        school.broker.start()
        rooms = Rooms(school, "rooms", [device.config for device in school.site.devices])
        try:
            school.start_hub()
            rooms.start()
            pressed = [rooms.press(room) for room in school.room_ids]
            seq = int(school.api.post("/api/directives", {"action": "lockdown"})["seq"])
            expected = {f"event:{event_id}" for event_id in pressed} | {f"directive:{seq}"}
            wait_until(
                lambda: set(_queued(database)) == expected,
                within_s=20,
                what="every panic and the Lockdown in the relay's queue",
            )
            order = _queued(database)
            school.kill_hub()
            receiver.reply = lambda _: Reply(200)
            school.start_hub()
            assert receiver.wait_for(lambda: set(receiver.accepted) >= expected, within_s=20)
        finally:
            rooms.stop()
            school.stop_hub()
            school.broker.stop()
        counted = list(dict.fromkeys(receiver.accepted))  # a receiver drops a repeated key
        assert counted == order  # every message, in the order queued, none extra
        with capsys.disabled():
            print(
                f"\n[fault] hub kill -9 with a full relay queue: queued={len(order)}, "
                f"delivered={len(counted)}, repeats={len(receiver.accepted) - len(counted)}, "
                f"lost={len(expected - set(counted))}"
            )
