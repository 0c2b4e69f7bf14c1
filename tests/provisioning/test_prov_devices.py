"""Device identities: ids, bundles and their modes, the ACL, revocation."""

from __future__ import annotations

import io
import json
import re
import stat
import tarfile
from datetime import UTC, datetime
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from prov_helpers import SITE_ID

from protocol.inventory import Inventory
from protocol.topics import DeviceChannel, Topics
from provisioning import issue_all, issue_device, render_acl, revoke
from provisioning.access import device_permissions, reload_broker
from provisioning.errors import BrokerReloadError, DeviceError
from provisioning.pki import NOT_BEFORE
from provisioning.profiles import EXAMPLES
from provisioning.site import SiteLayout, open_site

ID = re.compile(r"^rc-(101|102|gym)-[0-9a-f]{4}$")


def _members(bundle: Path) -> dict[str, tuple[int, bytes]]:
    with tarfile.open(bundle, "r:gz") as archive:
        return {
            m.name: (m.mode, archive.extractfile(m).read())  # type: ignore[union-attr]
            for m in archive.getmembers()
        }


def test_bundle_contents_and_modes(site: SiteLayout) -> None:
    bundle = issue_device(site.root, "101")
    assert stat.S_IMODE(bundle.stat().st_mode) == 0o600
    members = _members(bundle)
    assert {n: m for n, (m, _) in members.items()} == {
        "device.json": 0o644,
        "ca.crt": 0o644,
        "device.crt": 0o644,
        "device.key": 0o600,
        "hub-signing.pub": 0o644,
        "manifest.json": 0o644,
        "manifest.sig": 0o644,
    }
    config = json.loads(members["device.json"][1])
    assert ID.match(config["device_id"])
    assert config | {"device_id": "x"} == {
        "format": 2,
        "site": SITE_ID,
        "device_id": "x",
        "room": "101",
        "building": "main",
        "floor": "1",
        "room_name": "Science Lab",
        "broker": {
            "host": "hub.lincoln.example",
            "port": 8883,
            "tls": {"ca": "ca.crt", "cert": "device.crt", "key": "device.key"},
        },
        "hub_public_key": "hub-signing.pub",
        "hardware": EXAMPLES["oled-4button"],
    }
    assert members["hub-signing.pub"][1] == site.hub.signing_pub.read_bytes()
    assert members["ca.crt"][1] == site.ca_cert.read_bytes()
    assert members["device.key"][1].startswith(b"-----BEGIN PRIVATE KEY-----")


def test_device_certificate_is_a_client_certificate_named_by_the_device_id(
    site: SiteLayout,
) -> None:
    bundle = issue_device(site.root, "gym", validity_days=100)
    members = _members(bundle)
    device_id = json.loads(members["device.json"][1])["device_id"]
    cert = x509.load_pem_x509_certificate(members["device.crt"][1])
    cert.verify_directly_issued_by(x509.load_pem_x509_certificate(site.ca_cert.read_bytes()))
    assert cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == device_id
    eku = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert list(eku) == [ExtendedKeyUsageOID.CLIENT_AUTH]
    # Valid from the epoch (a node boots with an old clock), for 100 days from its issue.
    assert cert.not_valid_before_utc == NOT_BEFORE
    assert 99 <= (cert.not_valid_after_utc - datetime.now(UTC)).days <= 100
    record = open_site(site.root)[1].devices[device_id]
    assert (record.room, record.serial) == ("gym", cert.serial_number)
    assert site.device_cert(device_id).read_bytes() == members["device.crt"][1]
    assert f"user {device_id}\n" in site.broker.acl.read_text()
    hub_inventory = Inventory.from_dict(json.loads(site.hub.inventory.read_text()))
    assert hub_inventory.room_of(device_id) == open_site(site.root)[1].rooms["gym"]


def test_issue_all_is_idempotent(site: SiteLayout) -> None:
    first = issue_all(site.root)
    assert len(first) == 3
    assert issue_all(site.root) == []
    ids = list(open_site(site.root)[1].devices)
    assert all(ID.match(i) for i in ids) and len(set(ids)) == 3


def test_unknown_room_is_a_clear_error(site: SiteLayout) -> None:
    with pytest.raises(DeviceError, match=r"no room '999' .*rooms: 101, 102, gym"):
        issue_device(site.root, "999")


def test_acl_grants_devices_only_their_own_topics() -> None:
    topics = Topics("lincoln")
    acl = render_acl(topics, ["rc-101-abcd"])
    block = acl.split("user rc-101-abcd\n")[1].strip().splitlines()
    assert sorted(block) == sorted(
        [
            "topic read roomcast/v1/lincoln/hub/state",
            "topic read roomcast/v1/lincoln/directive/#",
            f"topic read {topics.device('rc-101-abcd', DeviceChannel.RECEIPT)}",
            f"topic read {topics.device('rc-101-abcd', DeviceChannel.COMMAND)}",
            f"topic write {topics.device('rc-101-abcd', DeviceChannel.STATUS)}",
            f"topic write {topics.device('rc-101-abcd', DeviceChannel.EVENT)}",
            f"topic write {topics.device('rc-101-abcd', DeviceChannel.ACK)}",
        ]
    )
    assert "pattern" not in acl.replace("# ", "")  # no rule that applies to unknown names
    with pytest.raises(DeviceError, match="reserved for the hub"):
        device_permissions(topics, "hub")


def test_revoke_updates_crl_and_acl_and_deletes_the_bundle(equipped_site: SiteLayout) -> None:
    _, inventory = open_site(equipped_site.root)
    victim, record = next(iter(inventory.devices.items()))
    bundle = equipped_site.bundle(SITE_ID, victim)
    result = revoke(equipped_site.root, victim)
    assert result.serials == (record.serial,) and result.reloaded_pid is None
    crl = x509.load_pem_x509_crl(equipped_site.broker.crl.read_bytes())
    ca = x509.load_pem_x509_certificate(equipped_site.ca_cert.read_bytes())
    assert crl.is_signature_valid(ca.public_key())  # type: ignore[arg-type]
    assert crl.get_revoked_certificate_by_serial_number(record.serial) is not None
    assert victim not in equipped_site.broker.acl.read_text()
    assert victim not in equipped_site.hub.inventory.read_text()
    assert not bundle.exists()
    assert open_site(equipped_site.root)[1].devices[victim].revoked_at is not None
    others = [i for i in inventory.devices if i != victim]
    assert all(f"user {i}\n" in equipped_site.broker.acl.read_text() for i in others)
    again = revoke(equipped_site.root, victim)  # repairs, does not fail
    assert again.serials == result.serials
    assert len(x509.load_pem_x509_crl(equipped_site.broker.crl.read_bytes())) == 1


def test_revoking_an_unknown_device_is_a_clear_error(site: SiteLayout) -> None:
    with pytest.raises(DeviceError, match="no device 'rc-nope-0000'"):
        revoke(site.root, "rc-nope-0000")


def test_reload_errors_name_the_pid_file(tmp_path: Path) -> None:
    with pytest.raises(BrokerReloadError, match=r"mosquitto\.pid"):
        reload_broker(tmp_path / "mosquitto.pid")
    (tmp_path / "bad.pid").write_text("not a pid")
    with pytest.raises(BrokerReloadError, match=r"bad\.pid"):
        reload_broker(tmp_path / "bad.pid")
    with pytest.raises(BrokerReloadError, match="systemctl reload"):
        reload_broker(2**22 + 12345)  # above pid_max: no such process
    for group in (0, -1, 1):  # process groups and init are never signalled
        with pytest.raises(BrokerReloadError, match="not a broker pid"):
            reload_broker(group)
    (tmp_path / "zero.pid").write_text("0\n")
    with pytest.raises(BrokerReloadError, match="not a broker pid"):
        reload_broker(tmp_path / "zero.pid")


def test_bundle_is_a_valid_gzip_tar_with_plain_names(site: SiteLayout) -> None:
    data = issue_device(site.root, "102").read_bytes()
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as archive:
        assert all("/" not in m.name and m.isreg() for m in archive.getmembers())
