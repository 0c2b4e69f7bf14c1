"""Against a real Mosquitto run from the generated config: TLS identities, ACL, revocation."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from prov_helpers import SITE_ID, WAIT, Broker, Connector, Session, TlsIdentity

from protocol.topics import DeviceChannel, ScopeKind, Topics
from provisioning import init, issue_device, revoke
from provisioning.install import InstalledDevice, install
from provisioning.site import SiteLayout

pytestmark = pytest.mark.integration
TOPICS = Topics(SITE_ID)
HUB_TOPICS = (
    TOPICS.hub_state,
    TOPICS.directive_wildcard,
    *(TOPICS.device_wildcard(ch) for ch in DeviceChannel),
)


def _nodes(site: SiteLayout, tmp_path: Path) -> list[InstalledDevice]:
    """Install every bundle of the site, one directory per node, as on a Pi."""
    return [
        install(b, tmp_path / "nodes" / b.name.removesuffix(".tar.gz"))
        for b in sorted(site.bundles_dir.glob("*.tar.gz"))
    ]


def _identity(node: InstalledDevice) -> TlsIdentity:
    return TlsIdentity(ca=node.ca, cert=node.cert, key=node.key)


def _hub(clients: Connector, site: SiteLayout) -> Session:
    hub = clients.session("hub", TlsIdentity(site.hub.ca, site.hub.cert, site.hub.key))
    assert hub.subscribe(*HUB_TOPICS) == [1] * len(HUB_TOPICS)
    return hub


def test_device_and_hub_connect_with_their_certificates(
    mqtt_clients: Connector, equipped_site: SiteLayout, tmp_path: Path
) -> None:
    hub = _hub(mqtt_clients, equipped_site)
    node = _nodes(equipped_site, tmp_path)[0]
    device = mqtt_clients.session(node.device_id, _identity(node))
    status = TOPICS.device(node.device_id, DeviceChannel.STATUS)
    device.publish(status, b"online")
    assert hub.expect(status, b"online") == []


def test_no_certificate_is_refused(mqtt_clients: Connector, equipped_site: SiteLayout) -> None:
    result = mqtt_clients.attempt("anonymous", TlsIdentity(ca=equipped_site.hub.ca))
    assert not isinstance(result, Session)


def test_certificate_from_another_ca_is_refused(
    mqtt_clients: Connector, equipped_site: SiteLayout, tmp_path: Path
) -> None:
    other = init(tmp_path / "other", SITE_ID, ["127.0.0.1"], broker_user=None).layout
    rogue = TlsIdentity(ca=equipped_site.hub.ca, cert=other.hub.cert, key=other.hub.key)
    assert not isinstance(mqtt_clients.attempt("hub", rogue), Session)
    assert "certificate verify failed" in mqtt_clients.broker.log_text()


def test_device_cannot_publish_outside_its_own_topics(
    mqtt_clients: Connector, equipped_site: SiteLayout, tmp_path: Path
) -> None:
    hub = _hub(mqtt_clients, equipped_site)
    mine, other = _nodes(equipped_site, tmp_path)[:2]
    device = mqtt_clients.session(mine.device_id, _identity(mine))
    forbidden = [
        TOPICS.directive(ScopeKind.SITE),
        TOPICS.directive(ScopeKind.ROOM, mine.room),
        TOPICS.hub_state,
        TOPICS.device(other.device_id, DeviceChannel.EVENT),
        TOPICS.device(other.device_id, DeviceChannel.STATUS),
        TOPICS.device(mine.device_id, DeviceChannel.RECEIPT),  # hub -> device only
        TOPICS.device(mine.device_id, DeviceChannel.COMMAND),  # hub -> device only
    ]
    for topic in forbidden:
        device.publish(topic, b"forged")
    marker = TOPICS.device(mine.device_id, DeviceChannel.EVENT)
    device.publish(marker, b"marker")
    assert hub.expect(marker, b"marker") == []


def test_device_reads_only_what_it_needs(
    mqtt_clients: Connector, equipped_site: SiteLayout, tmp_path: Path
) -> None:
    hub = _hub(mqtt_clients, equipped_site)
    mine, other = _nodes(equipped_site, tmp_path)[:2]
    device = mqtt_clients.session(mine.device_id, _identity(mine))
    device.subscribe(
        TOPICS.directive_wildcard,
        TOPICS.device_wildcard(DeviceChannel.RECEIPT),
        TOPICS.device_wildcard(DeviceChannel.EVENT),
    )
    hub.publish(TOPICS.device(other.device_id, DeviceChannel.RECEIPT), b"not yours")
    hub.publish(TOPICS.device(other.device_id, DeviceChannel.EVENT), b"not yours either")
    hub.publish(TOPICS.directive(ScopeKind.SITE), b"directive")
    hub.publish(TOPICS.device(mine.device_id, DeviceChannel.RECEIPT), b"yours")
    received = device.expect(TOPICS.device(mine.device_id, DeviceChannel.RECEIPT), b"yours")
    assert received == [(TOPICS.directive(ScopeKind.SITE), b"directive")]


def _await_reload(broker: Broker, hub: Session, probe: Session, probe_id: str) -> None:
    """Block (bounded) until the broker has applied its SIGHUP reload.

    ``probe`` was issued after the broker started, so the loaded ACL lacks it and its
    publishes are dropped; once one reaches the hub, the new ACL is in force, and with it
    the TLS context re-created in the same reload step with the new CRL.
    """
    topic = TOPICS.device(probe_id, DeviceChannel.EVENT)
    deadline = time.monotonic() + WAIT
    n = 0
    while time.monotonic() < deadline:
        n += 1
        probe.publish(topic, f"probe {n}".encode())
        hub.publish(TOPICS.hub_state, f"tick {n}".encode())
        if (topic, f"probe {n}".encode()) in hub.expect(TOPICS.hub_state, f"tick {n}".encode()):
            return
    pytest.fail(f"the broker never applied the reload:\n{broker.log_text()}")


def test_revoked_device_is_refused_after_sighup(
    mqtt_clients: Connector, equipped_site: SiteLayout, tmp_path: Path
) -> None:
    broker = mqtt_clients.broker
    hub = _hub(mqtt_clients, equipped_site)
    victim, bystander = _nodes(equipped_site, tmp_path)[:2]
    opened_before = mqtt_clients.session(f"{victim.device_id}-early", _identity(victim))
    assert opened_before.subscribe(TOPICS.directive_wildcard) == [1]
    probe_node = install(issue_device(equipped_site.root, "gym"), tmp_path / "probe")
    probe = mqtt_clients.session(probe_node.device_id, _identity(probe_node))
    pid_file = tmp_path / "mosquitto.pid"
    pid_file.write_text(f"{broker.pid}\n")

    result = revoke(equipped_site.root, victim.device_id, reload_pid=pid_file)
    assert result.reloaded_pid == broker.pid
    _await_reload(broker, hub, probe, probe_node.device_id)

    # The CRL refuses a new TLS handshake...
    assert not isinstance(mqtt_clients.attempt(victim.device_id, _identity(victim)), Session)
    assert "certificate verify failed" in broker.log_text()
    # ...and the ACL silences a connection opened before the revocation.
    event = TOPICS.device(victim.device_id, DeviceChannel.EVENT)
    opened_before.publish(event, b"after revocation")
    marker = TOPICS.device(bystander.device_id, DeviceChannel.EVENT)
    mqtt_clients.session(bystander.device_id, _identity(bystander)).publish(marker, b"marker")
    assert (event, b"after revocation") not in hub.expect(marker, b"marker")
    # It receives nothing either: a directive reaches a bystander, not the revoked device.
    listener = mqtt_clients.session(f"{bystander.device_id}-2", _identity(bystander))
    listener.subscribe(TOPICS.directive_wildcard)
    hub.publish(TOPICS.directive(ScopeKind.SITE), b"lockdown")
    listener.expect(TOPICS.directive(ScopeKind.SITE), b"lockdown")
    # A SUBACK round trip: anything sent before it has arrived. (Mosquitto's acl_file grants
    # every SUBSCRIBE and checks read access on each delivery, so the code says nothing.)
    opened_before.subscribe(TOPICS.hub_state)
    assert opened_before.messages.empty()
    assert broker.process.poll() is None, "the broker must keep running through the reload"
