"""Signed commands from the hub to one device: obeyed when genuine and fresh, else refused."""

from __future__ import annotations

import dataclasses
import time

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from hub.service import HubService
from protocol.codec import encode
from protocol.messages import Command, CommandKind
from protocol.signing import sign
from protocol.topics import DeviceChannel, Topics
from provisioning import add_user
from provisioning.throwaway import ThrowawaySite
from roomcast.broker import MosquittoProcess
from tests.conftest import Node, admin_login, eventually, mqtt_as

pytestmark = pytest.mark.integration


async def test_admin_identify_command_blinks_the_node(
    site: ThrowawaySite, hub: HubService, nodes: list[Node]
) -> None:
    node = nodes[0]
    device_id = node.service.config.device_id
    async with httpx.AsyncClient(base_url=hub.api_url, timeout=10) as api:
        login = await api.post("/api/login", json=admin_login(site))
        auth = {"Authorization": f"Bearer {login.json()['token']}"}
        sent = await api.post(
            f"/api/devices/{device_id}/command", json={"kind": "identify"}, headers=auth
        )
        assert sent.status_code == 202, sent.text
        add_user(site.layout.root, "office-user", "office", "a long enough password")
        office = await api.post(
            "/api/login", json={"user": "office-user", "password": "a long enough password"}
        )
        refused = await api.post(
            f"/api/devices/{device_id}/command",
            json={"kind": "identify"},
            headers={"Authorization": f"Bearer {office.json()['token']}"},
        )
    assert refused.status_code == 403
    await eventually(lambda: node.indicator.pattern == "blink", node, what="the identify blink")
    audit = hub.store.audit_log()
    assert any(e["action"] == "command identify" and e["user"] == site.admin_user for e in audit)


async def test_forged_replayed_expired_and_misaddressed_commands_are_refused(
    site: ThrowawaySite, mosquitto: MosquittoProcess, hub: HubService, nodes: list[Node]
) -> None:
    node = nodes[0]
    config = node.service.config
    genuine = hub.send_command(config.device_id, CommandKind.REPUBLISH, user="it")
    now = time.time()
    key = hub.config.signing_key
    base = Command(
        seq=genuine.seq + 10,
        device_id=config.device_id,
        kind=CommandKind.IDENTIFY,
        issued_at=now,
        expires_at=now + 60,
        issued_by="x",
    )
    bad = {
        "bad signature": sign(base, Ed25519PrivateKey.generate()),
        "replayed or stale": genuine,
        "expired command": sign(
            dataclasses.replace(base, issued_at=now - 120, expires_at=now - 60), key
        ),
        "wrong device": sign(dataclasses.replace(base, device_id="rc-999-0000"), key),
    }
    topic = Topics(site.site).device(config.device_id, DeviceChannel.COMMAND)
    pattern_before = node.indicator.pattern

    async with mqtt_as(site, mosquitto, "hub") as intruder:
        for command in bad.values():
            await intruder.publish(topic, encode(command), qos=1)

    await eventually(
        lambda: all(node.service.rejected[reason] == 1 for reason in bad),
        node,
        what=lambda: f"four refusals (have {dict(node.service.rejected)})",
    )
    assert node.indicator.pattern == pattern_before  # none of them made it blink
