"""``check`` (expiry, rooms vs devices, file modes) and ``rotate`` (renewal keeping ids)."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509

from protocol.inventory import Room
from provisioning import check, init, issue_all, issue_device, pki, rotate
from provisioning.health import Level
from provisioning.rooms import apply_rooms
from provisioning.site import SiteLayout, open_site


def _subjects(site: SiteLayout, **kwargs: object) -> dict[str, Level]:
    return {f.subject: f.level for f in check(site.root, **kwargs).findings}  # type: ignore[arg-type]


def test_a_complete_fresh_site_is_clean(equipped_site: SiteLayout) -> None:
    report = check(equipped_site.root)
    assert report.ok and report.findings == ()


def test_rooms_without_devices_are_warned_about(site: SiteLayout) -> None:
    issue_device(site.root, "101")
    assert _subjects(site) == {"room 102": Level.WARNING, "room gym": Level.WARNING}


def test_certificates_expiring_soon_warn_and_expired_ones_are_errors(
    equipped_site: SiteLayout,
) -> None:
    bundle = issue_device(equipped_site.root, "gym", validity_days=10)
    short = bundle.name.removeprefix("lincoln-").removesuffix(".tar.gz")
    report = check(equipped_site.root)
    assert [(f.level, f.subject) for f in report.findings] == [(Level.WARNING, f"device {short}")]
    assert "provision rotate" in report.findings[0].message
    later = _subjects(equipped_site, now=datetime.now(UTC) + timedelta(days=800))
    assert later[f"device {short}"] is Level.ERROR
    assert later[str(equipped_site.broker.cert)] is Level.ERROR
    assert later[str(equipped_site.hub.cert)] is Level.ERROR
    assert str(equipped_site.ca_cert) not in later


def test_keys_readable_by_others_are_errors(equipped_site: SiteLayout) -> None:
    os.chmod(equipped_site.hub.signing_key, 0o644)  # simulating a careless copy
    os.chmod(equipped_site.bundles_dir, 0o755)
    report = check(equipped_site.root)
    assert {f.subject for f in report.errors} == {
        str(equipped_site.hub.signing_key),
        str(equipped_site.bundles_dir),
    }
    assert any(f"chmod 600 {equipped_site.hub.signing_key}" in str(e) for e in report.errors)
    assert not report.ok


def test_a_hand_edited_acl_is_noticed(equipped_site: SiteLayout) -> None:
    with equipped_site.broker.acl.open("a") as acl:
        acl.write("user intruder\ntopic readwrite #\n")
    assert _subjects(equipped_site) == {str(equipped_site.broker.acl): Level.WARNING}


def test_rotate_renews_only_what_expires_and_keeps_device_ids(
    equipped_site: SiteLayout,
) -> None:
    bundle = issue_device(equipped_site.root, "gym", validity_days=10)
    short = bundle.name.removeprefix("lincoln-").removesuffix(".tar.gz")
    before = open_site(equipped_site.root)[1].devices
    broker_before = equipped_site.broker.cert.read_bytes()
    result = rotate(equipped_site.root, within_days=30)
    assert list(result.devices) == [short]
    assert (result.broker, result.hub, result.ca_expiring) == (False, False, False)
    after = open_site(equipped_site.root)[1].devices
    assert set(after) == set(before)
    assert after[short].serial != before[short].serial
    assert after[short].previous_serials == [before[short].serial]
    assert all(after[i].serial == before[i].serial for i in before if i != short)
    assert equipped_site.broker.cert.read_bytes() == broker_before
    assert check(equipped_site.root).findings == ()


def test_rotate_renews_broker_and_hub_certificates_near_their_end(
    equipped_site: SiteLayout,
) -> None:
    result = rotate(equipped_site.root, within_days=30, now=datetime.now(UTC) + timedelta(days=720))
    assert result.broker and result.hub and len(result.devices) == 3
    broker = x509.load_pem_x509_certificate(equipped_site.broker.cert.read_bytes())
    assert broker.not_valid_after_utc > datetime.now(UTC) + timedelta(days=700)


def test_a_site_from_before_the_validity_floor_is_warned_about_and_rotate_redates_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A site created when certificates started at their issue: ``check`` says so, and
    ``rotate`` re-signs the CA (same key) and re-issues every leaf from the floor."""
    issued = datetime.now(UTC) - timedelta(minutes=5)
    with monkeypatch.context() as old_style:
        old_style.setattr(pki, "NOT_BEFORE", issued.replace(microsecond=0))
        layout = init(
            tmp_path / "site", "lincoln", ["10.20.0.5"], broker_user=None, buildings=["main"]
        ).layout
        rooms = [Room(id="101", building="main", floor="1", name="Lab")]
        apply_rooms(
            layout.root, rooms, source=tmp_path / "rooms.csv", hardware={"101": "simulated"}
        )
        issue_all(layout.root)
    ca_before = x509.load_pem_x509_certificate(layout.ca_cert.read_bytes())
    (finding,) = check(layout.root).findings
    assert finding.level is Level.WARNING and "provision rotate" in finding.message

    result = rotate(layout.root)
    assert result.ca_redated and result.broker and result.hub and len(result.devices) == 1
    ca = x509.load_pem_x509_certificate(layout.ca_cert.read_bytes())
    assert ca.not_valid_before_utc == pki.NOT_BEFORE
    assert ca.public_key() == ca_before.public_key() and ca.subject == ca_before.subject
    assert (
        layout.broker.ca.read_bytes() == layout.hub.ca.read_bytes() == layout.ca_cert.read_bytes()
    )
    leaves = [layout.broker.cert, layout.hub.cert, *layout.devices_dir.glob("*.crt")]
    for path in leaves:
        leaf = x509.load_pem_x509_certificate(path.read_bytes())
        assert leaf.not_valid_before_utc == pki.NOT_BEFORE
        leaf.verify_directly_issued_by(ca)
    assert check(layout.root).findings == ()
    assert rotate(layout.root) == type(result)()  # nothing left to do
