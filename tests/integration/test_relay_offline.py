"""A room's display going offline while the room is under a Lockdown, handed off where a
destination asks for it (``offline_during_lockdown = true``).

A real hub on a real Mosquitto, real classroom services that stop (their goodbye says
offline), a real HTTPS receiver (webhook and CAP paths) and a real SMTP server on loopback.
Every webhook body is validated against docs/webhook.schema.json, every CAP alert against
the OASIS CAP 1.2 schema.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import xml.etree.ElementTree as ET
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import jsonschema
import pytest
import xmlschema

from device.config import load_device_config
from device.service import DeviceService
from hardware.simulated import PngDisplay, SimulatedIndicator, SimulatedInputs
from hub.directives import DirectiveRequest
from hub.service import HubService
from protocol.srp import Action
from provisioning.throwaway import ThrowawaySite
from roomcast.broker import MosquittoProcess
from tests.conftest import WAIT, eventually, hub_with
from tests.relay_receiver import Authority, Receiver, _toml, hook
from tests.smtp_receiver import SmtpServer, mailbox, serving, write_relay_with_email

pytestmark = pytest.mark.integration

DOCS = Path(__file__).parents[2] / "docs"
SCHEMA = json.loads((DOCS / "webhook.schema.json").read_text(encoding="utf-8"))
CAP_SCHEMA = xmlschema.XMLSchema(Path(__file__).parents[1] / "cap" / "CAP-v1.2.xsd")
CAP = "{urn:oasis:names:tc:emergency:cap:1.2}"


@pytest.fixture
def smtp(authority: Authority) -> Iterator[SmtpServer]:
    with serving(SmtpServer(authority)) as started:
        yield started


@contextlib.asynccontextmanager
async def running_node(site: ThrowawaySite, device_id: str, folder: Path) -> AsyncIterator[None]:
    """A classroom service for ``device_id``; leaving the block stops it (it says goodbye:
    the hub sees it offline at once)."""
    (device,) = [d for d in site.devices if d.device_id == device_id]
    service = DeviceService(
        load_device_config(device.config),
        display=PngDisplay(folder / f"{device_id}.png", size=(128, 64)),
        inputs=SimulatedInputs(),
        indicator=SimulatedIndicator(),
    )
    task = asyncio.create_task(service.run())
    try:
        async with asyncio.timeout(WAIT):
            await service.connected.wait()
        yield
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


async def online(hub: HubService, device_id: str, state: bool) -> None:
    record = hub.engine.presence.devices[device_id]
    await eventually(lambda: record.online is state, hub, what=f"{device_id} online={state}")


async def test_a_display_offline_during_a_lockdown_reaches_the_destinations_that_ask(
    site: ThrowawaySite,
    mosquitto: MosquittoProcess,
    receiver: Receiver,
    authority: Authority,
    smtp: SmtpServer,
    tmp_path: Path,
) -> None:
    asks = {"offline_during_lockdown": True}
    hooks = [
        hook(receiver, authority, **asks),
        hook(receiver, authority, name="plain", url=receiver.url("/plain")),
    ]
    write_relay_with_email(site, hooks, [mailbox(smtp, authority, **asks)])
    cap = {"name": "signage", "url": receiver.url("/cap"), "ca_file": str(authority.ca_file)}
    with (site.hub.dir / "relay.toml").open("a", encoding="utf-8") as relay_toml:
        relay_toml.write("[[cap]]\n" + "".join(f"{k} = {_toml(v)}\n" for k, v in cap.items()))
        relay_toml.write("offline_during_lockdown = true\n")
    first, second = site.devices[0], site.devices[1]
    async with hub_with(site) as hub:
        assert hub.relay is not None
        async with running_node(site, first.device_id, tmp_path):
            async with running_node(site, second.device_id, tmp_path):
                await online(hub, second.device_id, True)
            await online(hub, second.device_id, False)  # no Lockdown: nothing to say
            await online(hub, first.device_id, True)
            lockdown = hub.engine.directives.issue(
                DirectiveRequest(action=Action.LOCKDOWN), user="office"
            )
        await online(hub, first.device_id, False)
        session = hub.engine.presence.devices[first.device_id].session
        key = f"offline:{first.device_id}:{session}"
        got = await receiver.until(
            lambda r: {"/hook", "/cap"} <= {x.path for x in r if x.key == key}
        )
        mail = await smtp.until(lambda m: any(x.key == key for x in m))

        directive_key = f"directive:{lockdown.seq}"
        assert [r["key"] for r in hub.relay.store.queued("dispatch")] == [directive_key, key]
        assert [r["key"] for r in hub.relay.store.queued("plain")] == [directive_key]

        (posted,) = [r for r in got if r.key == key and r.path == "/hook"]
        body = posted.json
        jsonschema.validate(body, SCHEMA, format_checker=jsonschema.FormatChecker())
        assert (body["kind"], body["drill"], body["test"]) == (
            "offline_during_lockdown",
            False,
            False,
        )
        assert (body["room"], body["device"], body["event"]) == (first.room, first.device_id, None)
        assert body["directive"]["action"] == "lockdown"
        assert body["directive"]["seq"] == lockdown.seq

        (alert,) = [r for r in got if r.key == key and r.path == "/cap"]
        CAP_SCHEMA.validate(alert.body.decode("utf-8"))
        root = ET.fromstring(alert.body)
        assert (root.findtext(f"{CAP}status"), root.findtext(f"{CAP}msgType")) == (
            "Actual",
            "Alert",
        )  # its own alert: an Update would replace the Lockdown at the receiver
        assert root.find(f"{CAP}references") is None
        assert root.findtext(f"{CAP}info/{CAP}event") == "Display offline during lockdown"

        (sent,) = [m for m in mail if m.key == key]
        room = hub.engine.presence.inventory.rooms[first.room]
        assert sent.subject.startswith(
            f"OFFLINE DURING LOCKDOWN: {room.label} (room {room.id}) at "
        )
        assert "went offline while the room is under LOCKDOWN" in sent.text
