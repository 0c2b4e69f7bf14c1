"""CAP in: the real hub polls a real feed server on loopback serving the NWS's formats.

The feed's documents are the test's own, built from the published formats
(tests/weather_feed.py). The hub is the real service on a real Mosquitto.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest

from hub.service import HubService
from provisioning import add_user
from provisioning.throwaway import ThrowawaySite
from roomcast.broker import MosquittoProcess
from roomcast.status import format_status
from tests.conftest import admin_login, eventually, hub_with
from tests.weather_feed import Alert, FeedServer, cap_atom, feed_server, nws_json

pytestmark = pytest.mark.integration

PASSWORD = "correct horse battery staple"
OURS = Alert(id="urn:oid:2.49.0.1.840.0.ours")


@pytest.fixture
def feed() -> Iterator[FeedServer]:
    with feed_server() as started:
        yield started


@contextlib.asynccontextmanager
async def polling(site: ThrowawaySite, feed: FeedServer, **extra: str) -> AsyncIterator[HubService]:
    lines = ["[weather]", f'url = "{feed.url}"', 'zones = ["TXZ192", "TXC453"]', "poll_s = 15"]
    lines += [f'{key} = "{value}"' for key, value in extra.items()]
    (site.hub.dir / "relay.toml").write_text("\n".join(lines) + "\n", encoding="utf-8")
    async with hub_with(site) as service:
        yield service


def shown(hub: HubService) -> list[str]:
    assert hub.weather is not None
    return [b.alert.id for b in hub.weather.banners()]


def audited(hub: HubService, action: str) -> list[dict[str, Any]]:
    return [e for e in hub.store.audit_log() if e["action"] == action]


async def test_a_tornado_warning_for_our_zone_is_kept_and_others_are_ignored(
    site: ThrowawaySite, mosquitto: MosquittoProcess, feed: FeedServer
) -> None:
    feed.serve(
        nws_json(
            [
                OURS,
                Alert(id="urn:oid:elsewhere", ugc=("OKZ001",), same=("040001",)),
                Alert(id="urn:oid:expired", expires_in=-60),
                Alert(id="urn:oid:gone"),
                Alert(id="urn:oid:cancel", msg_type="Cancel", references=("urn:oid:gone",)),
            ]
        )
    )
    async with polling(site, feed) as hub:
        await eventually(lambda: shown(hub) == [OURS.id], hub, what="the tornado warning")
        (seen,) = audited(hub, "weather alert seen")
        assert seen["user"] == "weather"
        assert seen["detail"]["event"] == "Tornado Warning"
        assert seen["detail"]["proposes"] == "shelter"
        async with httpx.AsyncClient(base_url=hub.api_url) as web:
            login = await web.post("/api/login", json=admin_login(site))
            token = {"Authorization": f"Bearer {login.json()['token']}"}
            listed = (await web.get("/api/weather", headers=token)).json()
        assert listed["health"]["state"] == "ok"
        (banner,) = listed["banners"]
        assert banner["propose"]["label"] == "Shelter for tornado"
        assert "action=shelter" in banner["propose"]["href"]
        assert "hazard=tornado" in banner["propose"]["href"]
        assert hub.engine.directives.latest_seq == 0, "a banner never issues anything"


async def test_the_cap_atom_format_and_a_later_cancel(
    site: ThrowawaySite, mosquitto: MosquittoProcess, feed: FeedServer
) -> None:
    atom = "application/atom+xml"
    feed.serve(cap_atom([OURS], embedded=(Alert(id="urn:oid:county", ugc=("TXC453",)),)), atom)
    async with polling(site, feed, format="cap-atom") as hub:
        assert hub.weather is not None
        await eventually(lambda: shown(hub) == [OURS.id, "urn:oid:county"], hub, what="both alerts")
        cancel = Alert(id="urn:oid:cancel", msg_type="Cancel", references=(OURS.id,))
        feed.serve(cap_atom([OURS, cancel]), atom)
        hub.weather.poll_now()
        await eventually(lambda: shown(hub) == [], hub, what="the cancel to remove it")
        assert len(audited(hub, "weather alert seen")) == 2


async def test_a_broken_or_oversized_feed_is_reported_and_retried_without_harm(
    site: ThrowawaySite, mosquitto: MosquittoProcess, feed: FeedServer
) -> None:
    feed.serve(b"<html>502 Bad Gateway</html>", "text/html")
    async with polling(site, feed, format="cap-atom") as hub:
        poller = hub.weather
        assert poller is not None
        await eventually(lambda: poller.health().state == "failing", hub, what="the failure")
        assert "not an Atom feed" in poller.health().last_error
        feed.serve(b"<feed>" + b" " * 3_000_000 + b"</feed>", "application/atom+xml")
        poller.poll_now()
        await eventually(
            lambda: "over the 2000000" in poller.health().last_error, hub, what="the size limit"
        )
        feed.declare_length = False  # only the count of bytes read can stop it now
        before = poller.health().failures
        poller.poll_now()
        await eventually(lambda: poller.health().failures > before, hub, what="the count")
        assert "over the 2000000 bytes allowed" in poller.health().last_error
        async with httpx.AsyncClient(base_url=hub.api_url) as web:
            assert (await web.get("/api/health")).status_code == 200  # the hub is unharmed
            login = await web.post("/api/login", json=admin_login(site))
            token = {"Authorization": f"Bearer {login.json()['token']}"}
            health = (await web.get("/api/weather", headers=token)).json()["health"]
            status = (await web.get("/api/status", headers=token)).json()
        (words,) = status["trouble"]["weather"]
        assert words.startswith("weather feed FAILING (no good poll yet: FeedError")
        assert health["state"] == "failing" and health["failures"] >= 2
        feed.serve(cap_atom([OURS]), "application/atom+xml")
        poller.poll_now()
        await eventually(lambda: poller.health().state == "ok", hub, what="the recovery")
        assert shown(hub) == [OURS.id]
        assert "WEATHER: weather feed FAILING" in format_status(status)  # roomcast status
        async with httpx.AsyncClient(base_url=hub.api_url, headers=token) as web:
            assert (await web.get("/api/status")).json()["trouble"]["weather"] == []


async def test_dismissing_a_banner_is_audited_with_who(
    site: ThrowawaySite, mosquitto: MosquittoProcess, feed: FeedServer
) -> None:
    feed.serve(nws_json([OURS]))
    async with polling(site, feed) as hub:
        await eventually(lambda: shown(hub) == [OURS.id], hub, what="the tornado warning")
        async with httpx.AsyncClient(base_url=hub.api_url) as web:
            login = await web.post("/api/login", json=admin_login(site))
            token = {"Authorization": f"Bearer {login.json()['token']}"}
            dismissed = await web.post("/api/weather/dismiss", json={"id": OURS.id}, headers=token)
            assert dismissed.status_code == 200
            again = await web.post("/api/weather/dismiss", json={"id": OURS.id}, headers=token)
            assert again.status_code == 404
        assert shown(hub) == []
        (entry,) = audited(hub, "weather alert dismissed")
        assert entry["user"] == site.admin_user and entry["detail"]["id"] == OURS.id
    async with polling(site, feed) as again:
        await eventually(
            lambda: again.weather is not None and again.weather.health().state == "ok",
            again,
            what="a poll",
        )
        assert shown(again) == [], "a dismissed banner stays dismissed across a restart"
        assert len(audited(again, "weather alert seen")) == 1, "seen once, not again"


async def test_dismissing_needs_a_session_and_the_issue_role(
    site: ThrowawaySite, mosquitto: MosquittoProcess, feed: FeedServer
) -> None:
    feed.serve(nws_json([OURS]))
    async with polling(site, feed) as hub:
        await eventually(lambda: shown(hub) == [OURS.id], hub, what="the tornado warning")
        async with httpx.AsyncClient(base_url=hub.api_url) as web:
            refused = await web.post("/api/weather/dismiss", json={"id": OURS.id})
            assert refused.status_code == 401
            assert (await web.get("/api/weather")).status_code == 401
            add_user(site.layout.root, "wall-screen", "viewer", PASSWORD)
            login = await web.post("/api/login", json={"user": "wall-screen", "password": PASSWORD})
            viewer = {"Authorization": f"Bearer {login.json()['token']}"}
            assert (await web.get("/api/weather", headers=viewer)).status_code == 200
            dismiss = await web.post("/api/weather/dismiss", json={"id": OURS.id}, headers=viewer)
            assert dismiss.status_code == 403
        assert shown(hub) == [OURS.id]
