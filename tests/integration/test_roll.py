"""The roll on the real TLS broker: a node's button report reaches the office (the API, the
board, ``roomcast status``); a report a device makes for another room, or for a directive
never issued, is refused and counted, and changes no room's roll."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from hub.service import HubService
from protocol.codec import encode
from protocol.messages import Event, EventKind, Roll
from protocol.topics import DeviceChannel, Topics
from provisioning.throwaway import ThrowawaySite
from roomcast.broker import MosquittoProcess
from roomcast.status import format_status
from tests.conftest import Node, admin_login, eventually, mqtt_as

pytestmark = pytest.mark.integration


@pytest.fixture
async def office(hub: HubService, site: ThrowawaySite) -> AsyncIterator[httpx.AsyncClient]:
    """A console session (cookie), as the board's browser holds."""
    async with httpx.AsyncClient(base_url=hub.api_url, timeout=10) as client:
        login = await client.post("/api/login", json=admin_login(site, kind="console"))
        assert login.status_code == 200, login.text
        client.headers["X-CSRF-Token"] = str(login.json()["csrf"])
        yield client


async def _status(office: httpx.AsyncClient) -> dict[str, Any]:
    response = await office.get("/api/status")
    assert response.status_code == 200, response.text
    return dict(response.json())


def _roll_event(device_id: str, room: str, seq: int, roll: Roll) -> bytes:
    return encode(
        Event(
            event_id=uuid.uuid4().hex,
            device_id=device_id,
            room=room,
            kind=EventKind.ROLL,
            created_at=1.0,  # a node's clock may be anything: the hub's time is the report's
            seq=seq,
            roll=roll,
        )
    )


async def test_a_button_report_reaches_the_office_and_a_report_for_another_room_is_refused(
    hub: HubService,
    nodes: list[Node],
    office: httpx.AsyncClient,
    site: ThrowawaySite,
    mosquitto: MosquittoProcess,
) -> None:
    issued = await office.post(
        "/api/directives", json={"action": "evacuate", "drill": True, "location": "Flag pole"}
    )
    assert issued.status_code == 201, issued.text
    seq = int(issued.json()["seq"])
    await eventually(lambda: all(n.service.shown_seq == seq for n in nodes), hub, *nodes)
    accounted, helpless, rogue = (n.service.config for n in nodes)

    # The buttons, pressed as a finger would (through the node's button mapping).
    nodes[0].inputs.activate("all-accounted")
    nodes[1].inputs.activate("staff-assist")
    await eventually(
        lambda: len(hub.engine.roll.campus().entries) == 2, hub, what="two rooms' reports"
    )
    await eventually(lambda: not nodes[0].service.pending_events(), *nodes[:1])  # receipted

    status = await _status(office)
    assert {k: status["roll"][k] for k in ("in_scope", "reported", "help", "missing")} == {
        "in_scope": 3,
        "reported": 2,
        "help": 1,
        "missing": 0,
    }
    assert status["roll"]["unreported"] == [rogue.room]
    rooms = {r["room"]: r for r in status["rooms"]}
    assert rooms[accounted.room]["roll"] | {"at": 0} == rooms[accounted.room]["roll"] | {
        "at": 0,
        "seq": seq,
        "words": "All accounted",
        "by": accounted.device_id,
        "by_kind": "device",
    }
    assert rooms[helpless.room]["roll"]["words"] == "NEEDS HELP"

    board = await office.get("/board", params={"part": "main"})
    assert board.status_code == 200
    assert "Roll: 2 / 3 rooms reported" in board.text
    assert "Evacuated, not yet accounted for (1)" in board.text
    assert f'data-roll-room="{rogue.room}">Roll: not reported' in board.text

    printed = format_status(status).splitlines()
    assert "ROLL: 2/3 rooms reported; 0 missing, 0 injured, 0 extra; 1 needs help" in printed
    assert f"NOT REPORTED: {rogue.room}" in printed
    table = printed.index(next(line for line in printed if line.startswith("ROOM")))
    assert printed[table + 1].startswith(rogue.room)  # after an Evacuate: unreported first

    # The third room's certificate, off its SD card: it may report only for its own room.
    topic = Topics(hub.config.site).device(rogue.device_id, DeviceChannel.EVENT)
    nine_missing = Roll(missing=9, extra=0, injured=0, help=True)
    async with mqtt_as(site, mosquitto, rogue.device_id) as attacker:
        await attacker.publish(
            topic, _roll_event(rogue.device_id, accounted.room, seq, nine_missing), qos=1
        )
        await attacker.publish(
            topic, _roll_event(rogue.device_id, rogue.room, seq + 1000, nine_missing), qos=1
        )
        await eventually(
            lambda: (
                hub.engine.rejected.counts["roll for another room"] == 1
                and hub.engine.rejected.counts["roll of no directive"] == 1
            ),
            hub,
            what=lambda: f"both refused (have {dict(hub.engine.rejected.counts)})",
        )
        # Its own room's headcount, with numbers, is believed (bounded on the way in).
        counted = Roll(missing=2, extra=1, injured=1, help=False)
        await attacker.publish(topic, _roll_event(rogue.device_id, rogue.room, seq, counted), qos=1)
        await eventually(lambda: rogue.room in hub.engine.roll.campus().entries, hub)

    after = await _status(office)
    rooms = {r["room"]: r for r in after["rooms"]}
    assert rooms[accounted.room]["roll"]["words"] == "All accounted"
    assert rooms[rogue.room]["roll"]["words"] == "2 missing, 1 extra, 1 injured"
    assert (after["roll"]["reported"], after["roll"]["missing"], after["roll"]["help"]) == (3, 2, 1)
    assert after["rejected"]["roll for another room"] == 1

    # The drill's debrief: every report with who sent it, and the time to the last room.
    cleared = await office.post("/api/directives", json={"action": "all_clear"})
    assert cleared.status_code == 201, cleared.text
    report = (await office.get(f"/api/drills/{seq}")).json()
    senders = [(e["room"], e["by"]) for e in report["roll"]]
    assert set(senders[:2]) == {
        (accounted.room, accounted.device_id),
        (helpless.room, helpless.device_id),
    }
    assert senders[2:] == [(rogue.room, rogue.device_id)]
    assert report["roll_last_s"] is not None and report["roll_unreported"] == []
    page = await office.get(f"/drills/{seq}")
    assert "data-roll-timeline" in page.text and "2 missing, 1 extra, 1 injured" in page.text
