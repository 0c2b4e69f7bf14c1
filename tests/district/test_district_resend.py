"""A district request that a school never got is sent again until it answers, on real
processes: three NATS nodes, each school its own Mosquitto bridged to them, its hub and
its rooms, and ``roomcast district request`` itself following the request."""

from __future__ import annotations

import asyncio
import contextlib
import json
from pathlib import Path

import pytest

from provisioning.district import DistrictLayout
from roomcast.cli import main as roomcast_main
from tests.conftest import eventually
from tests.district.conftest import NatsCluster
from tests.district.schools import make_school, running
from tests.district.test_district_requests import every_room_confirms, start_all

pytestmark = [pytest.mark.integration, pytest.mark.timeout(180)]


async def test_a_request_sent_before_a_schools_bridge_subscribed_reaches_it_by_a_resend(
    tmp_path: Path, district: DistrictLayout, cluster: NatsCluster
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
    argv = [
        "district", "request", "--district-dir", str(district.root), "secure",
        "--school", "lincoln", "--school", "adams", "--drill", "--user", "safety-kim",
        "--yes", "--wait", "90", "--node", cluster.nodes[-1].name, "--state-dir", str(state),
    ]  # fmt: skip
    async with contextlib.AsyncExitStack() as stack:
        lincoln.broker.start()
        stack.callback(lincoln.broker.stop)
        await stack.enter_async_context(running(lincoln, tmp_path / "screens" / "lincoln"))
        hub = lincoln.running_hub
        command = asyncio.create_task(asyncio.to_thread(roomcast_main, argv))
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
        assert adams.running_hub.engine.directives.latest_seq == 1  # decided once
    assert code == 0, found
    schools = found["schools"]
    assert {site: o["state"] for site, o in schools.items()} == {
        "lincoln": "confirmed", "adams": "confirmed",
    }  # fmt: skip
    assert all((o["confirmed"], o["total"]) == (2, 2) for o in schools.values())
    assert schools["lincoln"]["attempts"] == 1  # answered the first copy: never resent
    assert schools["adams"]["attempts"] >= 2 and schools["adams"]["acked"]
    assert not schools["adams"]["gave_up"]


def _record(state: Path) -> dict[str, object]:
    """The newest request in the district's record, as ``roomcast district requests``."""
    from district.store import DistrictStore

    store = DistrictStore(state / "district.db")
    try:
        (found,) = store.requests(limit=1)
    finally:
        store.close()
    return json.loads(json.dumps(found))  # type: ignore[no-any-return]
