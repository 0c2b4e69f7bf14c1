"""A press on the teacher's page is handed off beyond the building as a button's is: the
relay's webhook gets a signed ``panic`` for the room, from ``page:<user>``, once."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import jsonschema
import pytest

from provisioning.staff import import_staff
from provisioning.throwaway import ThrowawaySite
from provisioning.users import set_password
from roomcast.broker import MosquittoProcess
from tests.conftest import hub_with
from tests.relay_receiver import Authority, Receiver, hook, write_relay
from tests.relay_waits import attempted

pytestmark = pytest.mark.integration

PASSWORD = "correct horse battery staple"
SCHEMA = json.loads(
    (Path(__file__).parents[2] / "docs" / "webhook.schema.json").read_text(encoding="utf-8")
)


async def test_a_page_press_reaches_the_webhook_as_a_real_panic_once(
    site: ThrowawaySite,
    mosquitto: MosquittoProcess,
    receiver: Receiver,
    authority: Authority,
    tmp_path: Path,
) -> None:
    staff = tmp_path / "staff.csv"
    staff.write_text("name,username,rooms\nAna Lima,ana,101\n", encoding="utf-8")
    import_staff(site.layout.root, staff)
    set_password(site.layout.root, "ana", PASSWORD)
    write_relay(site, [hook(receiver, authority)])
    async with (
        hub_with(site) as hub,
        httpx.AsyncClient(base_url=hub.api_url, timeout=10) as phone,
    ):
        login = await phone.post(
            "/api/login", json={"user": "ana", "password": PASSWORD, "kind": "page"}
        )
        phone.headers["X-CSRF-Token"] = login.json()["csrf"]
        for _ in range(2):  # a retried POST: one alert, one hand-off
            press = await phone.post(
                "/api/teacher/rooms/101/panic", json={"press_id": "handoff-01"}
            )
            assert press.status_code == 200, press.text
        event_id = press.json()["event_id"]
        (got,) = await receiver.until(lambda r: len(r) >= 1)
        body = got.json
        jsonschema.validate(body, SCHEMA, format_checker=jsonschema.FormatChecker())
        assert (body["id"], body["kind"], body["room"]) == (f"event:{event_id}", "panic", "101")
        assert body["device"] == "page:ana" and body["drill"] is False
        attempts = await attempted(hub, lambda a: len(a) >= 1)
        assert [a["result"] for a in attempts] == ["delivered"]
        assert len(receiver.received) == 1
