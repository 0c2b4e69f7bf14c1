"""``init``: the site directory, its keys and their modes, the broker config, refusals."""

from __future__ import annotations

import ipaddress
import json
import os
import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from prov_helpers import SITE_ID

from hub.config import load_hub_config
from protocol.inventory import Room
from provisioning import add_user, broker_config, init, rotate
from provisioning.errors import InvalidIdError, ProvisioningError, SiteExistsError
from provisioning.rooms import apply_rooms
from provisioning.site import SiteLayout, open_site


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _cn(cert: x509.Certificate) -> str:
    return str(cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value)


def test_private_keys_are_0600_and_key_directories_0700(site: SiteLayout) -> None:
    keys = [site.ca_key, site.broker.key, site.hub.key, site.hub.signing_key, site.hub.users]
    assert {p.name: _mode(p) for p in keys} == {p.name: 0o600 for p in keys}
    dirs = [site.root, site.ca_dir, site.broker.dir, site.hub.dir, site.bundles_dir]
    assert {str(d): _mode(d) for d in dirs} == {str(d): 0o700 for d in dirs}
    assert _mode(site.ca_cert) == 0o644


def test_broker_files_are_handed_to_the_broker_user_when_run_as_root(tmp_path: Path) -> None:
    layout = init(tmp_path / "s", SITE_ID, ["127.0.0.1"]).layout  # broker_user="mosquitto"
    owner = layout.broker.key.stat().st_uid
    if os.geteuid() == 0:
        import pwd

        assert owner == pwd.getpwnam("mosquitto").pw_uid
        assert _mode(layout.root) == 0o711  # traversable by the broker, not listable
        assert "user mosquitto" in layout.broker.conf.read_text()
    else:
        assert owner == os.geteuid()
        assert _mode(layout.root) == 0o700
    assert _mode(layout.broker.key) == 0o600


def test_hub_files_are_handed_to_the_hub_user_and_stay_with_it(tmp_path: Path) -> None:
    """The hub service runs as its own user: it must read its keys and users.json (0600),
    after init and after every later change that rewrites a file in hub/."""
    import pwd

    root = tmp_path / "etc" / "roomcast" / "site"
    layout = init(
        root, SITE_ID, ["127.0.0.1"], broker_user=None, hub_user="nobody", buildings=["main"]
    ).layout
    assert json.loads(layout.inventory.read_text())["hub"] == {"user": "nobody"}
    add_user(layout.root, "ana", "office", "a long enough password")
    lab = Room(id="101", building="main", floor="1", name="Lab")
    apply_rooms(layout.root, [lab], source=tmp_path / "rooms.csv")
    assert rotate(layout.root, within_days=100_000).hub
    owned = [layout.hub.dir, *layout.hub.dir.iterdir()]
    expected = pwd.getpwnam("nobody").pw_uid if os.geteuid() == 0 else os.geteuid()
    assert {p.name: p.stat().st_uid for p in owned} == {p.name: expected for p in owned}
    assert _mode(layout.hub.key) == _mode(layout.hub.users) == 0o600
    assert _mode(layout.ca_key) == 0o600 and layout.ca_key.stat().st_uid == os.geteuid()
    if os.geteuid() == 0:
        assert _mode(layout.root) == _mode(root.parent) == 0o711  # the hub can reach hub/
        with pytest.raises(ProvisioningError, match=r"hub\.user.*useradd --system"):
            init(tmp_path / "other", SITE_ID, ["127.0.0.1"], hub_user="no-such-user-x")


def test_ca_broker_and_hub_certificates(site: SiteLayout) -> None:
    ca = x509.load_pem_x509_certificate(site.ca_cert.read_bytes())
    assert ca.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    assert isinstance(ca.public_key(), ec.EllipticCurvePublicKey)
    broker = x509.load_pem_x509_certificate(site.broker.cert.read_bytes())
    broker.verify_directly_issued_by(ca)
    san = broker.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert set(san.get_values_for_type(x509.DNSName)) == {"hub.lincoln.example", "localhost"}
    assert set(san.get_values_for_type(x509.IPAddress)) == {
        ipaddress.ip_address("10.20.0.5"),
        ipaddress.ip_address("127.0.0.1"),
    }
    eku = broker.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert ExtendedKeyUsageOID.SERVER_AUTH in eku
    hub = x509.load_pem_x509_certificate(site.hub.cert.read_bytes())
    hub.verify_directly_issued_by(ca)
    assert _cn(hub) == "hub"
    assert site.hub.ca.read_bytes() == site.broker.ca.read_bytes() == site.ca_cert.read_bytes()


def test_every_certificate_is_valid_from_the_epoch_whatever_the_clock(
    equipped_site: SiteLayout,
) -> None:
    """A node that boots with an old clock (no RTC) must still accept the broker and the
    CA; the leaves expire on schedule, years after any plausible wrong clock."""
    site = equipped_site
    paths = [site.ca_cert, site.broker.cert, site.hub.cert, *site.devices_dir.glob("*.crt")]
    certs = [x509.load_pem_x509_certificate(path.read_bytes()) for path in paths]
    assert len(certs) == 6  # CA, broker, hub, three devices
    for cert in certs:
        assert cert.not_valid_before_utc == datetime(1970, 1, 1, tzinfo=UTC)
        assert cert.not_valid_after_utc > datetime.now(UTC) + timedelta(days=365)


def test_signing_key_is_ed25519_pkcs8_with_spki_public_key(site: SiteLayout) -> None:
    pem = site.hub.signing_key.read_bytes()
    assert pem.startswith(b"-----BEGIN PRIVATE KEY-----")  # PKCS#8, unencrypted
    key = serialization.load_pem_private_key(pem, password=None)
    assert isinstance(key, ed25519.Ed25519PrivateKey)
    public = serialization.load_pem_public_key(site.hub.signing_pub.read_bytes())
    assert isinstance(public, ed25519.Ed25519PublicKey)
    signature = key.sign(b"directive")
    public.verify(signature, b"directive")


def test_initial_crl_is_empty_and_signed_by_the_ca(site: SiteLayout) -> None:
    ca = x509.load_pem_x509_certificate(site.ca_cert.read_bytes())
    crl = x509.load_pem_x509_crl(site.broker.crl.read_bytes())
    assert crl.is_signature_valid(ca.public_key())  # type: ignore[arg-type]
    assert len(crl) == 0
    assert crl.next_update_utc is not None
    assert crl.next_update_utc >= ca.not_valid_after_utc


def test_broker_config_is_tls_only_with_acl_and_crl(site: SiteLayout) -> None:
    conf = site.broker.conf.read_text()
    assert conf == broker_config(site.root).render()
    for line in (
        "allow_anonymous false",
        "require_certificate true",
        "use_identity_as_username true",
        "persistence true",
        f"crlfile {site.broker.crl}",
        f"acl_file {site.broker.acl}",
        f"cafile {site.broker.ca}",
        "listener 8883 0.0.0.0",
    ):
        assert line in conf.splitlines()
    assert "allow_anonymous true" not in conf
    assert conf.count("listener ") == 1
    acl = site.broker.acl.read_text()
    assert "user hub\ntopic readwrite roomcast/v1/lincoln/#\n" in acl


def test_inventory_and_hub_config(site: SiteLayout) -> None:
    raw = json.loads(site.inventory.read_text())
    assert raw["site"] == SITE_ID
    assert raw["hub_hosts"] == ["hub.lincoln.example", "10.20.0.5"]
    assert set(raw["rooms"]) == {"101", "102", "gym"}
    assert raw["devices"] == {}
    hub = json.loads(site.hub.config.read_text())
    assert hub["site"] == SITE_ID
    assert hub["broker"] == {
        "host": "127.0.0.1",
        "port": 8883,
        "tls": {"ca": "ca.crt", "cert": "hub.crt", "key": "hub.key"},
    }


def test_the_hub_service_loads_the_generated_config(equipped_site: SiteLayout) -> None:
    """The hub reads hub.json and inventory.json through its own loader, unchanged."""
    config = load_hub_config(equipped_site.hub.config)
    assert config.site == SITE_ID
    assert config.broker.tls is not None
    assert config.broker.tls.cert == equipped_site.hub.cert
    assert config.broker.tls.key == equipped_site.hub.key
    assert config.broker.tls.ca == equipped_site.hub.ca
    assert sorted(config.inventory.rooms) == ["101", "102", "gym"]
    record = open_site(equipped_site.root)[1]
    assert dict(config.inventory.devices) == {i: d.room for i, d in record.devices.items()}


def test_init_refuses_to_overwrite_a_site(site: SiteLayout) -> None:
    before = site.ca_cert.read_bytes()
    with pytest.raises(SiteExistsError, match="force"):
        init(site.root, SITE_ID, ["127.0.0.1"])
    assert site.ca_cert.read_bytes() == before
    init(site.root, SITE_ID, ["127.0.0.1"], force=True, broker_user=None)
    assert site.ca_cert.read_bytes() != before
    assert open_site(site.root)[1].rooms == {}  # a forced init is a new, empty site
    assert [p.name for p in site.root.parent.iterdir()] == [site.root.name]


def test_init_refuses_a_non_empty_directory_but_accepts_an_empty_one(tmp_path: Path) -> None:
    (tmp_path / "busy").mkdir()
    (tmp_path / "busy" / "notes.txt").write_text("keep me")
    with pytest.raises(SiteExistsError):
        init(tmp_path / "busy", SITE_ID, ["127.0.0.1"], broker_user=None)
    assert (tmp_path / "busy" / "notes.txt").read_text() == "keep me"
    (tmp_path / "empty").mkdir()
    init(tmp_path / "empty", SITE_ID, ["127.0.0.1"], broker_user=None)
    assert (tmp_path / "empty" / "site.json").is_file()


@pytest.mark.parametrize(
    ("site_id", "hosts", "error"),
    [
        ("Lincoln High", ["127.0.0.1"], InvalidIdError),
        ("a.b", ["127.0.0.1"], InvalidIdError),
        ("lincoln", ["bad host!"], ProvisioningError),
    ],
)
def test_init_rejects_bad_ids_and_hosts_without_creating_anything(
    tmp_path: Path, site_id: str, hosts: list[str], error: type[Exception]
) -> None:
    with pytest.raises(error):
        init(tmp_path / "site", site_id, hosts, broker_user=None)
    assert list(tmp_path.iterdir()) == []


def test_a_missing_site_directory_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ProvisioningError, match=r"not a Roomcast site .*provision init"):
        open_site(tmp_path / "nowhere")
