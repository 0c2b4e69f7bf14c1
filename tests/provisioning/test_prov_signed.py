"""Signed bundles: every doctored member is refused, by ``install`` and by the first-boot hook.

Each case takes a real bundle of the test site apart and changes one thing the way someone
holding the stick or the card could; a few re-sign the result with the real CA key (which an
attacker does not have) to reach the checks that stand behind the signature.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from bundle_helpers import (
    Files,
    config_of,
    fake_system,
    fake_wheelhouse,
    read_members,
    resign,
    with_config,
    without_manifest,
    write_bundle,
)
from prov_helpers import SITE_ID, Connector, Session, TlsIdentity

from protocol.inventory import Room
from provisioning import init, issue_device, rotate
from provisioning.errors import BundleError
from provisioning.install import install
from provisioning.pki import (
    Authority,
    cert_pem,
    create_authority,
    fingerprint,
    issue,
    key_pem,
    load_authority,
    new_signing_key,
    new_tls_key,
    public_key_pem,
)
from provisioning.rooms import apply_rooms
from provisioning.sdcard import REPORT_NAME as REPORT
from provisioning.sdcard import sdcard
from provisioning.site import SiteLayout


@dataclass(frozen=True)
class Parts:
    """A genuine bundle's members, another device's of the same site, and the site CA."""

    files: Files
    other: Files
    ca: Authority


@pytest.fixture
def parts(site: SiteLayout) -> Parts:
    return Parts(
        files=read_members(issue_device(site.root, "101")),
        other=read_members(issue_device(site.root, "102")),
        ca=load_authority(site.ca_cert, site.ca_key),
    )


def _impostor(p: Parts) -> Files:
    """A CA the attacker made, a certificate and key for the same device, all re-signed."""
    fake = create_authority(SITE_ID)
    leaf = issue(fake, common_name=config_of(p.files)["device_id"], site=SITE_ID)
    hub = public_key_pem(new_signing_key())
    doctored = {
        **p.files,
        "ca.crt": cert_pem(fake.cert),
        "device.crt": cert_pem(leaf.cert),
        "device.key": key_pem(leaf.key),
        "hub-signing.pub": hub,
    }
    return resign(doctored, fake)


def _corrupt_signature(p: Parts) -> Files:
    signature = bytearray(p.files["manifest.sig"])
    signature[-1] ^= 0x01
    return {**p.files, "manifest.sig": bytes(signature)}


def _old_unsigned(p: Parts) -> Files:
    return with_config(without_manifest(p.files), format=1)


CHANGED = r"{} was changed after the bundle was signed"
UNSIGNED = r"is not signed .*roomcast provision device --room 101"
BAD_SIGNATURE = r"manifest\.sig does not verify against the bundled ca\.crt"
Doctor = Callable[[Parts], Files]
CASES: dict[str, tuple[Doctor, str]] = {
    "hub signing key swapped": (
        lambda p: {**p.files, "hub-signing.pub": public_key_pem(new_signing_key())},
        CHANGED.format(r"hub-signing\.pub"),
    ),
    "device key swapped for another device's": (
        lambda p: {**p.files, "device.key": p.other["device.key"]},
        CHANGED.format(r"device\.key"),
    ),
    "device key not the certificate's, re-signed by the real CA": (
        lambda p: resign({**p.files, "device.key": key_pem(new_tls_key())}, p.ca),
        r"device\.key does not belong to device\.crt",
    ),
    "device cert swapped for another device's": (
        lambda p: {**p.files, "device.crt": p.other["device.crt"]},
        CHANGED.format(r"device\.crt"),
    ),
    "device cert of another device, re-signed by the real CA": (
        lambda p: resign({**p.files, "device.crt": p.other["device.crt"]}, p.ca),
        r"device\.crt is not for 'rc-101-",
    ),
    "room changed in the config": (
        lambda p: with_config(p.files, room="102"),
        r"device\.json says room '102' but the bundle was signed for '101'",
    ),
    "site changed in the config": (
        lambda p: with_config(p.files, site="roosevelt"),
        r"device\.json says site 'roosevelt' but the bundle was signed for 'lincoln'",
    ),
    "broker host changed in the config": (
        lambda p: with_config(p.files, broker={"host": "evil.example", "port": 8883}),
        CHANGED.format(r"device\.json"),
    ),
    "CA swapped, not re-signed": (
        lambda p: {**p.files, "ca.crt": cert_pem(create_authority(SITE_ID).cert)},
        BAD_SIGNATURE,
    ),
    "manifest removed": (lambda p: without_manifest(p.files), UNSIGNED),
    "old unsigned format 1 bundle": (_old_unsigned, UNSIGNED),
    "manifest signature corrupted": (_corrupt_signature, BAD_SIGNATURE),
    "manifest edited": (
        lambda p: {**p.files, "manifest.json": p.files["manifest.json"].replace(b"101", b"102")},
        BAD_SIGNATURE,
    ),
    "extra member": (
        lambda p: {**p.files, "authorized_keys": b"ssh-ed25519 AAAA attacker"},
        r"unexpected member 'authorized_keys'",
    ),
}
# The CA and everything under it replaced: only a pinned or given fingerprint can tell.
# The hook passes the fingerprint taken when the card was prepared, so it names a swapped
# CA before looking at the signature.
PINNED_CASES = {
    **CASES,
    "CA swapped, not re-signed": (CASES["CA swapped, not re-signed"][0], r"not the expected"),
    "CA swapped by a self-made CA that re-signs everything": (_impostor, r"not the expected"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_install_refuses_a_doctored_bundle_and_writes_nothing(
    parts: Parts, tmp_path: Path, case: str
) -> None:
    doctor, message = CASES[case]
    bundle = write_bundle(tmp_path / "doctored.tar.gz", doctor(parts))
    with pytest.raises(BundleError, match=message):
        install(bundle, tmp_path / "node")
    assert not (tmp_path / "node").exists()


def test_a_self_made_ca_is_refused_by_pin_and_by_fingerprint(
    site: SiteLayout, parts: Parts, tmp_path: Path
) -> None:
    genuine = write_bundle(tmp_path / "genuine.tar.gz", parts.files)
    node = tmp_path / "node"
    install(genuine, node)
    before = {p.name: p.read_bytes() for p in node.iterdir()}
    impostor = write_bundle(tmp_path / "impostor.tar.gz", _impostor(parts))
    with pytest.raises(BundleError, match=r"trusts site CA .* signed by CA .*--ca-fingerprint"):
        install(impostor, node)
    assert {p.name: p.read_bytes() for p in node.iterdir()} == before
    real = fingerprint(parts.ca.cert)
    with pytest.raises(BundleError, match=f"not the expected {real}"):
        install(impostor, tmp_path / "fresh", ca_fingerprint=real)
    assert not (tmp_path / "fresh").exists()
    # Typed as IT might: lower case, no colons.
    done = install(genuine, tmp_path / "fresh", ca_fingerprint=real.replace(":", "").lower())
    assert done.device_id == config_of(parts.files)["device_id"]
    with pytest.raises(BundleError, match="--ca-fingerprint: 'abc' is not a SHA-256"):
        install(genuine, tmp_path / "other", ca_fingerprint="abc")


@pytest.mark.integration
def test_a_node_installed_from_a_self_made_ca_cannot_join_the_real_site(
    parts: Parts, site: SiteLayout, mqtt_clients: Connector, tmp_path: Path
) -> None:
    """Why signing with a CA that travels in the bundle still means something."""
    genuine = install(write_bundle(tmp_path / "g.tar.gz", parts.files), tmp_path / "real")
    identity = TlsIdentity(ca=site.ca_cert, cert=genuine.cert, key=genuine.key)
    assert isinstance(mqtt_clients.attempt(genuine.device_id, identity), Session)
    # A fresh node given no fingerprint cannot tell a re-signed bundle from a real one...
    forged = install(write_bundle(tmp_path / "f.tar.gz", _impostor(parts)), tmp_path / "fake")
    assert forged.device_id == genuine.device_id
    # ...but the real broker refuses its certificate: it never joins the site.
    identity = TlsIdentity(ca=site.ca_cert, cert=forged.cert, key=forged.key)
    assert isinstance(mqtt_clients.attempt(forged.device_id, identity), str)


def _prepared_card(tmp_path: Path, genuine: Path, doctored: Files | None) -> tuple[Path, Path]:
    """A boot partition prepared from ``genuine``, whose bundle is then swapped on the card."""
    boot = tmp_path / "bootfs"
    boot.mkdir()
    (boot / "cmdline.txt").write_text("console=tty1 rootwait\n")
    result = sdcard(boot, genuine, mount_point=str(boot), wheelhouse=fake_wheelhouse(tmp_path))
    if doctored is not None:
        write_bundle(result.bundle, doctored)
    return boot, result.hook


def test_sdcard_checks_the_fingerprint_before_touching_the_card(
    parts: Parts, tmp_path: Path
) -> None:
    boot = tmp_path / "bootfs"
    boot.mkdir()
    (boot / "cmdline.txt").write_text("console=tty1\n")
    impostor = write_bundle(tmp_path / "impostor.tar.gz", _impostor(parts))
    real = fingerprint(parts.ca.cert)
    wheels = fake_wheelhouse(tmp_path)
    with pytest.raises(BundleError, match=f"not the expected {real}"):
        sdcard(boot, impostor, wheelhouse=wheels, ca_fingerprint=real)
    assert sorted(p.name for p in boot.iterdir()) == ["cmdline.txt"]
    genuine = write_bundle(tmp_path / "genuine.tar.gz", parts.files)
    result = sdcard(boot, genuine, wheelhouse=wheels, ca_fingerprint=real)
    settings = (boot / "roomcast" / "firstboot.env").read_text()
    assert result.ca_fingerprint == real and f"CA_FINGERPRINT='{real}'" in settings


def _run_hook(hook: Path, env: dict[str, str]) -> None:
    subprocess.run(["/bin/sh", str(hook)], env=env, check=True, timeout=60)


@pytest.mark.parametrize("case", sorted(PINNED_CASES))
def test_the_first_boot_hook_refuses_a_doctored_bundle_and_wipes_it(
    parts: Parts, tmp_path: Path, case: str
) -> None:
    doctor, message = PINNED_CASES[case]
    genuine = write_bundle(tmp_path / "genuine.tar.gz", parts.files)
    boot, hook = _prepared_card(tmp_path, genuine, doctor(parts))
    env, log = fake_system(tmp_path, roomcast="real")
    _run_hook(hook, env)
    assert "roomcast provision install" in log.read_text()
    assert not Path(env["ROOMCAST_ETC"]).exists()
    assert not Path(env["ROOMCAST_PENDING"]).exists()
    # No secret stays on the card; the reason does, for IT to read on a laptop.
    assert sorted(p.name for p in boot.iterdir()) == ["cmdline.txt", "config.txt", REPORT]
    report = (boot / REPORT).read_text()
    assert report.startswith("Roomcast first-boot install FAILED")
    assert re.search(message, report), report
    assert "PRIVATE KEY" not in report and len(report.splitlines()) < 40
    assert (boot / "cmdline.txt").read_text() == "console=tty1 rootwait\n"
    assert not hook.exists()


def test_the_first_boot_hook_installs_a_genuine_bundle(parts: Parts, tmp_path: Path) -> None:
    genuine = write_bundle(tmp_path / "genuine.tar.gz", parts.files)
    boot, hook = _prepared_card(tmp_path, genuine, None)
    env, _ = fake_system(tmp_path, roomcast="real")
    _run_hook(hook, env)
    etc = Path(env["ROOMCAST_ETC"])
    assert (etc / "device.key").stat().st_mode & 0o777 == 0o600
    assert (etc / "hub-signing.pub").read_bytes() == parts.files["hub-signing.pub"]
    assert sorted(p.name for p in boot.iterdir()) == ["cmdline.txt", "config.txt"]
    assert not hook.exists()


def test_rotation_keeps_the_pinned_ca_and_a_new_site_is_refused(
    site: SiteLayout, tmp_path: Path
) -> None:
    node = tmp_path / "node"
    first = install(issue_device(site.root, "101"), node)
    old_ca = fingerprint(load_authority(site.ca_cert, site.ca_key).cert)
    rotated = rotate(site.root, within_days=10_000).devices[first.device_id]
    second = install(rotated, node, ca_fingerprint=old_ca)
    assert second.device_id == first.device_id
    rotated_cert = read_members(rotated)["device.crt"]
    assert (node / "device.crt").read_bytes() == rotated_cert

    # The site is re-created (`init --force`): a new CA, which the node must not just accept.
    init(
        site.root,
        SITE_ID,
        ["hub.lincoln.example"],
        force=True,
        broker_user=None,
        buildings=["main"],
    )
    room = Room(id="101", building="main", floor="1", name="Science Lab")
    apply_rooms(site.root, [room], source=tmp_path / "rooms.csv", hardware={"101": "oled-4button"})
    new_bundle = issue_device(site.root, "101")
    new_ca = fingerprint(load_authority(site.ca_cert, site.ca_key).cert)
    with pytest.raises(BundleError, match=f"trusts site CA {old_ca}.*--ca-fingerprint {new_ca}"):
        install(new_bundle, node)
    assert (node / "device.crt").read_bytes() == rotated_cert
    shutil.rmtree(node)
    assert install(new_bundle, node, ca_fingerprint=new_ca).room == "101"
