"""``roomcast district``'s service on real processes: three NATS nodes, two schools with
their Mosquittos, hubs and nodes; the service reads every school off the district broker
and its API shows each school's directives, confirmations, alerts and links."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import aiomqtt
import pytest

from district.requests import DistrictAction
from district.service import DistrictService
from hub.directives import DirectiveRequest
from protocol.messages import EventKind
from protocol.srp import Action
from provisioning.district import DistrictLayout
from provisioning.district_users import users_file
from roomcast.district_cli import run_request
from roomcast.district_config import service_config
from tests.conftest import eventually
from tests.district.conftest import NatsCluster, district_client
from tests.district.console_kit import api_client, district_users
from tests.district.schools import (
    bridged,
    district_key,
    district_of,
    district_request,
    send_request,
)
from tests.district.test_district_requests import ALL_SITES, every_room_confirms, start_all

pytestmark = [pytest.mark.integration, pytest.mark.timeout(240)]
UNREACHABLE_S = 30.0
"""The issue's bound: the district marks a school cut off unreachable within 30 s."""


@contextlib.asynccontextmanager
async def district_service(
    district: DistrictLayout, cluster: NatsCluster, tmp_path: Path
) -> AsyncIterator[DistrictService]:
    config = service_config(
        district.root, node=cluster.nodes[-1].name, state_dir=tmp_path / "dstate", http_port=0
    )
    if not users_file(district.root).exists():
        district_users(district.root)  # the API is behind a session: a viewer reads it
    service = DistrictService(config)
    task = asyncio.create_task(service.run())
    try:
        async with asyncio.timeout(60):
            await service.ready.wait()
        yield service
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def board_shows(
    service: DistrictService,
    predicate: Callable[[dict[str, dict[str, Any]]], bool],
    *,
    within_s: float,
    what: str,
) -> dict[str, dict[str, Any]]:
    """GET /api/schools after every message the service believes, until ``predicate``."""
    changed = asyncio.Event()
    service.board.watchers.add(changed.set)
    schools: dict[str, dict[str, Any]] = {}
    try:
        async with api_client(service.api_url) as http:
            async with asyncio.timeout(within_s):
                while True:
                    changed.clear()
                    response = await http.get("/api/schools")
                    schools = {s["site"]: s for s in response.json()["schools"]}
                    if predicate(schools):
                        return schools
                    await changed.wait()
    except TimeoutError:
        pytest.fail(f"timed out after {within_s} s waiting for {what}; the board: {schools}")
    finally:
        service.board.watchers.discard(changed.set)


async def test_the_district_board_shows_each_school_and_marks_a_cut_off_one(
    tmp_path: Path, district: DistrictLayout, cluster: NatsCluster
) -> None:
    key = district_key(district)
    async with (
        district_of(
            tmp_path, district, lambda: start_all(cluster), ("lincoln", "adams"),
            proxied=frozenset({"lincoln"}),
        ) as schools,
        district_client(district.service, cluster.nodes[0], name="district-desk") as desk,
        district_service(district, cluster, tmp_path) as service,
    ):  # fmt: skip
        await desk.subscribe(ALL_SITES, qos=1)
        await bridged(desk, schools)

        def all_up(board: dict[str, dict[str, Any]]) -> bool:
            return all(
                board[s]["reachable"] and board[s]["hub"] == "up" and board[s]["bridge"] == "up"
                for s in ("lincoln", "adams")
            )

        await board_shows(service, all_up, within_s=60, what="both schools up")
        await send_request(desk, district_request(key, "lincoln", request_id="r-board"))
        await every_room_confirms(schools[0], "r-board")

        def secured(board: dict[str, dict[str, Any]]) -> bool:
            summary = board["lincoln"]["summary"]
            return summary is not None and any(
                d["request"] == "r-board" and d["confirmed"] == d["total"] == summary["rooms"]
                for d in summary["directives"]
            )

        board = await board_shows(service, secured, within_s=30, what="Lincoln secured")
        (directive,) = board["lincoln"]["summary"]["directives"]
        assert directive["action"] == Action.SECURE.value
        assert board["adams"]["summary"]["directives"] == []

        schools[0].cut()
        board = await board_shows(
            service,
            lambda b: not b["lincoln"]["reachable"],
            within_s=UNREACHABLE_S,
            what="Lincoln marked unreachable",
        )
        assert board["lincoln"]["bridge"] == "down"
        assert board["adams"]["reachable"]

        # Meanwhile, at the school: a panic, and the office's Lockdown.
        lincoln, hub = schools[0], schools[0].running_hub
        lincoln.nodes[0].service.activate(EventKind.PANIC)
        await eventually(lambda: len(hub.store.open_panics()) == 1, hub, what="the panic")
        lockdown = hub.engine.directives.issue(
            DirectiveRequest(action=Action.LOCKDOWN), user="office-jones"
        )
        await eventually(lambda: lincoln.confirmed(lockdown), hub, what="every room to ack")
        lincoln.restore()

        def caught_up(board: dict[str, dict[str, Any]]) -> bool:
            summary = board["lincoln"]["summary"]
            return board["lincoln"]["reachable"] and any(
                d["seq"] == lockdown.seq and d["confirmed"] == d["total"]
                for d in summary["directives"]
            )

        await board_shows(service, caught_up, within_s=60, what="Lincoln back, in Lockdown")
        async with api_client(service.api_url) as http:
            lines = [
                h["line"]
                for h in (await http.get("/api/schools/lincoln/history")).json()["history"]
            ]
            missing = await http.get("/api/schools/nowhere/history")
        assert f"in force: LOCKDOWN #{lockdown.seq} for the school (the school's own)" in lines
        assert any(line.startswith("open panic alerts: 0 -> 1") for line in lines)
        assert "in force: SECURE #1 for the school (district request r-board)" in lines
        assert missing.status_code == 404


async def test_a_district_request_names_its_schools_confirms_in_words_and_reads_the_outcome(
    tmp_path: Path, district: DistrictLayout, cluster: NatsCluster
) -> None:
    async with (
        district_of(
            tmp_path, district, lambda: start_all(cluster), ("lincoln", "adams")
        ) as schools,
        district_client(district.service, cluster.nodes[0], name="district-desk") as desk,
    ):
        lincoln, adams = schools
        await desk.subscribe(ALL_SITES, qos=1)
        await bridged(desk, schools)
        shown: list[str] = []

        def confirm(words: str) -> bool:
            shown.append(words)
            return True

        secure = DistrictAction(
            action=Action.SECURE, drill=True, schools=("lincoln",), issued_by="safety-kim"
        )
        result = await run_request(
            district.root, secure, node=cluster.nodes[-1].name, confirm=confirm, wait_s=60
        )
        assert result["ok"], result
        lincoln_did = result["schools"]["lincoln"]
        assert (lincoln_did["state"], lincoln_did["seq"], lincoln_did["pending_rooms"]) == (
            "confirmed", 1, [],
        )  # fmt: skip
        assert (lincoln_did["confirmed"], lincoln_did["total"]) == (2, 2)
        (words,) = shown
        assert words.startswith("DRILL: SECURE for 1 school(s):")
        assert "lincoln: 2 rooms" in words and "adams" not in words
        assert adams.running_hub.engine.directives.latest_seq == 0
        assert all(n.service.shown_seq == 1 for n in lincoln.nodes)

        # The school's own Lockdown stands: a district Hold to the site is refused, and says so.
        lincoln.running_hub.engine.directives.issue(
            DirectiveRequest(action=Action.LOCKDOWN), user="office-jones"
        )
        hold = DistrictAction(
            action=Action.HOLD, drill=False, schools=("lincoln",), issued_by="safety-kim"
        )
        result = await run_request(
            district.root, hold, node=cluster.nodes[-1].name, confirm=confirm, wait_s=60
        )
        assert not result["ok"]
        refused = result["schools"]["lincoln"]
        assert refused["state"] == "refused" and "Lockdown" in refused["reason"]
        assert shown[-1].startswith("REAL - NOT A DRILL: HOLD")
        assert lincoln.running_hub.engine.directives.latest_seq == 2


async def test_the_district_service_moves_to_another_node_when_its_node_is_killed(
    tmp_path: Path, district: DistrictLayout, cluster: NatsCluster
) -> None:
    key = district_key(district)
    async with (
        district_of(tmp_path, district, lambda: start_all(cluster), ("lincoln",)) as schools,
        district_client(district.service, cluster.nodes[0], name="district-desk") as desk,
        district_service(district, cluster, tmp_path) as service,  # on the last node
    ):
        await desk.subscribe(ALL_SITES, qos=1)
        await bridged(desk, schools)
        await board_shows(
            service, lambda b: b["lincoln"]["reachable"], within_s=60, what="Lincoln up"
        )
        cluster.kill(cluster.nodes[-1].name)
        request = district_request(key, "lincoln", request_id="r-moved")
        async with asyncio.timeout(90):
            while True:  # the PUBACK waits for JetStream's new leaders: the same again is safe
                try:  # on a connection of its own: the cluster may drop the desk's meanwhile
                    async with district_client(
                        district.service, cluster.nodes[0], name="district-resender"
                    ) as sender:
                        await send_request(sender, request)
                    break
                except aiomqtt.MqttError:
                    await asyncio.sleep(0.5)  # JetStream electing leaders: nothing to wait on
        await every_room_confirms(schools[0], "r-moved")

        def secured(board: dict[str, dict[str, Any]]) -> bool:
            summary = board["lincoln"]["summary"]
            return any(d["request"] == "r-moved" for d in summary["directives"])

        await board_shows(service, secured, within_s=60, what="the summary via another node")
