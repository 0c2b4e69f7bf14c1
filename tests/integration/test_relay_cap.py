"""CAP 1.2 out: POSTed to a real HTTPS receiver, and served as an authenticated Atom feed.

The receiver is tests/relay_receiver.py's (a real server on loopback with the test's own
CA); the hub is the real service on a real Mosquitto; presses come from real classroom
services. Every CAP alert a test sees, posted or in the feed, is validated against the
OASIS CAP 1.2 schema (tests/cap/CAP-v1.2.xsd).
"""

from __future__ import annotations

import asyncio
import contextlib
import xml.etree.ElementTree as ET
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import xmlschema

from hub.directives import DirectiveRequest
from hub.service import HubService
from protocol.messages import EventKind
from protocol.srp import Action
from provisioning.throwaway import ThrowawaySite
from roomcast.broker import MosquittoProcess
from roomcast.cli import main
from tests.conftest import StartNode, admin_login, hub_with
from tests.relay_receiver import (
    FAST,
    Authority,
    Received,
    Receiver,
    _toml,
    write_relay,
)
from tests.relay_waits import press

pytestmark = pytest.mark.integration

CAP = "{urn:oasis:names:tc:emergency:cap:1.2}"
ATOM = "{http://www.w3.org/2005/Atom}"
SCHEMA = xmlschema.XMLSchema(Path(__file__).parents[1] / "cap" / "CAP-v1.2.xsd")
FEED_USER, FEED_PASSWORD = "signage", "feed-password-0123456789"


def cap_table(receiver: Receiver, authority: Authority, **settings: Any) -> dict[str, Any]:
    return {"name": "signage", "url": receiver.url("/cap"), "ca_file": str(authority.ca_file)} | (
        FAST | settings
    )


@contextlib.asynccontextmanager
async def capping(site: ThrowawaySite, *caps: dict[str, Any]) -> AsyncIterator[HubService]:
    write_relay(site, [])
    relay = site.hub.dir / "relay.toml"
    lines = [relay.read_text(encoding="utf-8")]
    for table in caps:
        lines.append("[[cap]]")
        lines += [f"{key} = {_toml(value)}" for key, value in table.items()]
    lines += ["[cap_feed]", f'username = "{FEED_USER}"', f'password = "{FEED_PASSWORD}"']
    relay.write_text("\n".join(lines) + "\n", encoding="utf-8")
    async with hub_with(site) as service:
        yield service


def alert(xml: bytes) -> ET.Element:
    """A CAP alert, valid against the OASIS schema."""
    SCHEMA.validate(xml.decode("utf-8"))
    return ET.fromstring(xml)


def field(element: ET.Element, path: str) -> str:
    found = element.findtext("/".join(CAP + part for part in path.split("/")))
    assert found is not None, path
    return found


def posted(received: Received) -> ET.Element:
    assert received.headers["content-type"].startswith("application/xml")
    return alert(received.body)


async def test_a_panic_and_its_cancel_arrive_as_a_cap_alert_and_a_cancel_referencing_it(
    site: ThrowawaySite,
    mosquitto: MosquittoProcess,
    start_node: StartNode,
    receiver: Receiver,
    authority: Authority,
) -> None:
    async with capping(site, cap_table(receiver, authority)) as hub:
        node = await start_node(site.devices[0].device_id)
        panic = await press(node, hub)
        await press(node, hub, EventKind.CANCEL)
        first, second = [posted(r) for r in await receiver.until(lambda r: len(r) >= 2)]
        assert field(first, "identifier") == f"roomcast.{site.site}.event.{panic}"
        assert field(first, "sender") == "roomcast@hub.lincoln.example.org"
        assert (field(first, "status"), field(first, "msgType")) == ("Actual", "Alert")
        assert field(first, "scope") == "Restricted"
        assert field(first, "sent")[-6] in "+-"  # an offset, never Z
        assert field(first, "info/category") == "Security"
        assert field(first, "info/urgency") == "Immediate"
        assert field(first, "info/area/circle") == "30.2672,-97.7431 0.5"
        assert field(first, "info/web").endswith(f"/alerts#alert-{panic}")
        assert field(second, "msgType") == "Cancel"
        ref = f"{field(first, 'sender')},{field(first, 'identifier')},{field(first, 'sent')}"
        assert field(second, "references") == ref


async def test_a_drill_is_exercise_only_where_drills_are_taken_and_all_clear_references_it(
    site: ThrowawaySite,
    mosquitto: MosquittoProcess,
    receiver: Receiver,
    authority: Authority,
) -> None:
    drills = cap_table(receiver, authority, name="drills", url=receiver.url("/drills"))
    drills |= {"drills": True, "scope": "Private", "addresses": ["signage", "office"]}
    real = cap_table(receiver, authority, name="dispatch", url=receiver.url("/dispatch"))
    async with capping(site, drills, real) as hub:
        issue = hub.engine.directives.issue
        lockdown = issue(DirectiveRequest(action=Action.LOCKDOWN, drill=True), user="t")
        issue(DirectiveRequest(action=Action.ALL_CLEAR), user="t")
        hold = issue(DirectiveRequest(action=Action.HOLD), user="t")
        secure = issue(DirectiveRequest(action=Action.SECURE), user="t")
        await receiver.until(lambda r: len(r) >= 6)
        assert receiver.keys("/dispatch") == [f"directive:{hold.seq}", f"directive:{secure.seq}"]
        got = [posted(r) for r in receiver.received if r.path == "/drills"]
        drill, ended, held, secured = got
        assert (field(drill, "status"), field(drill, "msgType")) == ("Exercise", "Alert")
        assert field(drill, "scope") == "Private"
        assert field(drill, "addresses") == "signage office"
        assert field(drill, "note") == "This is a drill."
        assert field(drill, "info/instruction") == "Locks, lights, out of sight."
        assert (field(ended, "status"), field(ended, "msgType")) == ("Exercise", "Cancel")
        assert field(ended, "references").split(",")[1] == field(drill, "identifier")
        assert lockdown.seq < hold.seq
        assert (field(held, "status"), field(held, "msgType")) == ("Actual", "Alert")
        assert field(secured, "msgType") == "Update"  # Secure replaces the Hold in force
        assert field(secured, "references").split(",")[1] == field(held, "identifier")


async def test_the_atom_feed_needs_the_feed_credential_or_a_session(
    site: ThrowawaySite, mosquitto: MosquittoProcess, receiver: Receiver, authority: Authority
) -> None:
    async with capping(site, cap_table(receiver, authority)) as hub:
        hold = hub.engine.directives.issue(DirectiveRequest(action=Action.HOLD), user="t")
        async with httpx.AsyncClient(base_url=hub.api_url) as web:
            assert (await web.get("/cap/alerts.atom")).status_code == 401
            refused = await web.get("/cap/alerts.atom", auth=(FEED_USER, "wrong-password-000000"))
            assert refused.status_code == 401
            assert refused.headers["www-authenticate"].startswith("Basic")
            one = f"/cap/alerts/roomcast.{site.site}.directive.{hold.seq}.xml"
            assert (await web.get(one)).status_code == 401
            assert (await web.get(one, auth=(FEED_USER, FEED_PASSWORD))).status_code == 200
            login = await web.post("/api/login", json=admin_login(site))
            token = {"Authorization": f"Bearer {login.json()['token']}"}
            assert (await web.get("/cap/alerts.atom", headers=token)).status_code == 200
            bogus = {"Authorization": "Bearer not-a-session"}
            assert (await web.get("/cap/alerts.atom", headers=bogus)).status_code == 401


async def test_the_atom_feed_lists_what_is_in_force_each_entry_a_valid_cap_alert(
    site: ThrowawaySite,
    mosquitto: MosquittoProcess,
    start_node: StartNode,
    receiver: Receiver,
    authority: Authority,
) -> None:
    async with capping(site, cap_table(receiver, authority)) as hub:
        node = await start_node(site.devices[0].device_id)
        panic = await press(node, hub)
        lockdown = hub.engine.directives.issue(DirectiveRequest(action=Action.LOCKDOWN), user="t")
        async with httpx.AsyncClient(base_url=hub.api_url, auth=(FEED_USER, FEED_PASSWORD)) as web:
            feed = await web.get("/cap/alerts.atom")
            assert feed.status_code == 200
            assert feed.headers["content-type"].startswith("application/atom+xml")
            alerts = [
                await entry_alert(web, e) for e in ET.fromstring(feed.content).iter(f"{ATOM}entry")
            ]
            assert [field(a, "identifier") for a in alerts] == [
                f"roomcast.{site.site}.event.{panic}",
                f"roomcast.{site.site}.directive.{lockdown.seq}",
            ]
            hub.engine.directives.issue(DirectiveRequest(action=Action.ALL_CLEAR), user="t")
            after = await web.get("/cap/alerts.atom")
            left = ET.fromstring(after.content).findall(f"{ATOM}entry")
            assert len(left) == 1  # the panic is open until the office acknowledges it
            gone = f"/cap/alerts/roomcast.{site.site}.directive.{lockdown.seq}.xml"
            assert (await web.get(gone)).status_code == 404


async def entry_alert(web: httpx.AsyncClient, entry: ET.Element) -> ET.Element:
    """The entry's embedded CAP alert, valid, and the same as the one it links to."""
    content = entry.find(f"{ATOM}content")
    assert content is not None
    (embedded,) = list(content)
    embedded_alert = alert(ET.tostring(embedded, encoding="utf-8", default_namespace=CAP[1:-1]))
    link = entry.find(f"{ATOM}link")
    assert link is not None
    linked = await web.get(link.attrib["href"])
    assert linked.status_code == 200
    assert field(alert(linked.content), "identifier") == field(embedded_alert, "identifier")
    return embedded_alert


async def test_relay_test_sends_a_cap_alert_of_status_test_and_reports_it(
    site: ThrowawaySite,
    mosquitto: MosquittoProcess,
    receiver: Receiver,
    authority: Authority,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    private = {"scope": "Private", "addresses": ["signage"]}
    async with capping(site, cap_table(receiver, authority, **private)) as hub:
        async with httpx.AsyncClient(base_url=hub.api_url, timeout=10) as client:
            token = (await client.post("/api/login", json=admin_login(site))).json()["token"]
        token_file = tmp_path / "token"
        token_file.write_text(token, encoding="utf-8")
        cli = ("--hub", hub.api_url, "--token-file", str(token_file))
        assert await asyncio.to_thread(main, ["relay", "test", "signage", *cli]) == 0
        printed = capsys.readouterr().out
        (got,) = receiver.received
        assert printed.startswith(f"{got.key}: Signage (CAP): delivered ")
        test = posted(got)
        assert (field(test, "status"), field(test, "msgType")) == ("Test", "Alert")
        assert field(test, "scope") == "Private" and field(test, "addresses") == "signage"
        assert field(test, "identifier") == f"roomcast.{site.site}.{got.key.replace(':', '.')}"
        assert field(test, "info/responseType") == "None"
        async with httpx.AsyncClient(base_url=hub.api_url, timeout=10) as client:
            feed = await client.get("/cap/alerts.atom", auth=(FEED_USER, FEED_PASSWORD))
        assert feed.status_code == 200
        assert ET.fromstring(feed.content).findall(f"{ATOM}entry") == []  # a test is in no feed
