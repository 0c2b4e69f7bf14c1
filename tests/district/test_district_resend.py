"""A district request that a school never got is sent again until it answers, on real
processes: three NATS nodes, each school its own Mosquitto bridged to them, its hub and
its rooms, and ``roomcast district request`` itself following the request."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from district.preview import preview
from district.requests import DistrictAction, send
from district.service import DistrictService
from district.store import DistrictStore
from protocol.srp import Action
from provisioning.district import DistrictLayout
from roomcast.cli import main as roomcast_main
from roomcast.district_config import service_config
from tests.conftest import eventually
from tests.district.conftest import NatsCluster
from tests.district.schools import district_key, district_of, make_school, running
from tests.district.test_district_requests import add_sender, every_room_confirms, start_all

pytestmark = [pytest.mark.integration, pytest.mark.timeout(180)]


async def test_a_request_sent_before_a_schools_bridge_subscribed_reaches_it_by_a_resend(
    tmp_path: Path, district: DistrictLayout, cluster: NatsCluster, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Adams's bridge has never connected when the request goes out, so the district
    broker acknowledges the copy for Adams and drops it (nobody subscribes to it yet):
    the pitfall in docs/district.md. Once Adams's bridge is up and a summary came across
    it, the command following the request sends Adams the same request again (same id,
    fresh issued_at), and the record reaches "confirmed" for every room of both schools."""
    lincoln = await make_school(tmp_path, district, "lincoln", rooms=2)
    adams = await make_school(tmp_path, district, "adams", rooms=2)
    start_all(cluster)
    state = tmp_path / "district-state"
    sender = add_sender(district, monkeypatch)
    argv = [
        "district", "request", "--district-dir", str(district.root), "secure",
        "--school", "lincoln", "--school", "adams", "--drill",
        "--user", sender.name, "--password-stdin", "--yes",
        "--wait", "90", "--node", cluster.nodes[-1].name, "--state-dir", str(state),
    ]  # fmt: skip
    async with contextlib.AsyncExitStack() as stack:
        lincoln.broker.start()
        stack.callback(lincoln.broker.stop)
        await stack.enter_async_context(running(lincoln, tmp_path / "screens" / "lincoln"))
        hub = lincoln.running_hub
        command = asyncio.create_task(asyncio.to_thread(roomcast_main, [*argv, *sender.code()]))
        stack.push_async_callback(asyncio.wait_for, command, 120)
        # Lincoln issued it: the request went out to both schools (one loop turn), while
        # Adams had no broker, no bridge and so no subscription on the district broker.
        await eventually(
            lambda: hub.engine.directives.latest_seq == 1, hub, within_s=60,
            what="Lincoln to issue the district's Secure",
        )  # fmt: skip
        assert adams.hub is None
        adams.broker.start()
        stack.callback(adams.broker.stop)
        await stack.enter_async_context(running(adams, tmp_path / "screens" / "adams"))
        code = await asyncio.wait_for(command, 120)
        found = _record(state)
        request_id = found["id"]
        for school in (lincoln, adams):
            await every_room_confirms(school, request_id)
        # Each school decided it once, however many copies it got.
        assert adams.running_hub.engine.directives.latest_seq == 1
        assert hub.engine.directives.latest_seq == 1
    assert code == 0, found
    schools = found["schools"]
    assert {site: o["state"] for site, o in schools.items()} == {
        "lincoln": "confirmed", "adams": "confirmed",
    }  # fmt: skip
    assert all((o["confirmed"], o["total"]) == (2, 2) for o in schools.values())
    # Lincoln answered the first copy. It may still get one more: a bridge that reconnects
    # while the fresh cluster elects its JetStream leaders says "0" then "1", and a bridge
    # back up is sent the request again at once (its replay guard refuses the copy).
    assert schools["lincoln"]["attempts"] <= 2
    assert schools["adams"]["attempts"] >= 2 and schools["adams"]["acked"]
    assert not schools["adams"]["gave_up"]


async def test_a_request_sent_as_the_district_services_nats_node_dies_reaches_every_room(
    tmp_path: Path, district: DistrictLayout, cluster: NatsCluster
) -> None:
    """The district service (given only the first NATS node, so it is surely there) and
    both schools' bridges use the first node; it is killed (-9) just before the request
    is sent, so no school can get the first copy (handed to a dead connection, or not
    sent as the link is down), then started again. The service's resender sends the
    request again until each school's summary says every room confirmed it; the
    bridges meanwhile moved to the other nodes, whose JetStream elects new leaders."""
    names = ("lincoln", "adams")
    async with district_of(tmp_path, district, lambda: start_all(cluster), names) as schools:
        first = cluster.nodes[0].name
        config = service_config(
            district.root, node=first, state_dir=tmp_path / "dstate", http_port=0
        )
        config = dataclasses.replace(config, brokers=config.brokers[:1])
        key = district_key(district)
        service = DistrictService(config)  # the config names the signing key: it resends
        task = asyncio.create_task(service.run())
        record = DistrictStore(config.state_dir / "district.db")
        try:
            async with asyncio.timeout(60):
                await service.ready.wait()
            await _board_until(
                service, lambda: all(service.board.schools[n].summary for n in names)
            )
            cluster.kill(first)
            action = DistrictAction(
                action=Action.SECURE, drill=True, schools=names, issued_by="safety-kim"
            )
            request_id = send(
                preview(action, service.board), link=service.link, key=key, store=record,
                district="metro",
            )  # fmt: skip
            await asyncio.to_thread(cluster.start, first)

            def outcomes() -> dict[str, dict[str, Any]]:
                found = record.request(request_id)
                assert found is not None
                return found["schools"]  # type: ignore[no-any-return]

            await _board_until(
                service,
                lambda: all(o["state"] == "confirmed" for o in outcomes().values()),
                what=lambda: f"every school confirmed: {outcomes()}",
            )
            for school in schools:
                await every_room_confirms(school, request_id)
                assert school.running_hub.engine.directives.latest_seq == 1  # decided once
            for outcome in outcomes().values():
                assert (outcome["confirmed"], outcome["total"]) == (2, 2)
                assert outcome["attempts"] >= 2 and outcome["acked"], outcome
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
            record.close()


async def _board_until(
    service: DistrictService,
    done: Callable[[], bool],
    *,
    within_s: float = 60.0,
    what: Callable[[], str] = lambda: "the board",
) -> None:
    """Until ``done()``, re-checked after each message the service believes."""
    changed = asyncio.Event()
    service.board.watchers.add(changed.set)
    try:
        async with asyncio.timeout(within_s):
            while not done():
                changed.clear()
                await changed.wait()
    except TimeoutError:
        pytest.fail(f"timed out after {within_s} s waiting for {what()}")
    finally:
        service.board.watchers.discard(changed.set)


def _record(state: Path) -> dict[str, object]:
    """The newest request in the district's record, as ``roomcast district requests``."""
    from district.store import DistrictStore

    store = DistrictStore(state / "district.db")
    try:
        (found,) = store.requests(limit=1)
    finally:
        store.close()
    return json.loads(json.dumps(found))  # type: ignore[no-any-return]
