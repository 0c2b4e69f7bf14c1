"""Installing bundles on a node, and preparing an SD card's boot partition."""

from __future__ import annotations

import io
import os
import stat
import subprocess
import tarfile
from pathlib import Path

import pytest
from bundle_helpers import resign
from prov_helpers import SITE_ID
from pytest_mock import MockerFixture

from device.config import load_device_config
from protocol.inventory import Room
from provisioning import init, issue_device, load_installed
from provisioning.errors import BundleError
from provisioning.install import install
from provisioning.pki import load_authority
from provisioning.rooms import apply_rooms
from provisioning.site import SiteLayout


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _read(bundle: Path) -> dict[str, bytes]:
    with tarfile.open(bundle, "r:gz") as archive:
        return {
            m.name: archive.extractfile(m).read()  # type: ignore[union-attr]
            for m in archive.getmembers()
        }


def _write(path: Path, files: dict[str, bytes], *, link: str | None = None) -> Path:
    with tarfile.open(path, "w:gz") as archive:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
        if link is not None:
            info = tarfile.TarInfo(link)
            info.type, info.linkname = tarfile.SYMTYPE, "/etc/shadow"
            archive.addfile(info)
    return path


def test_install_writes_files_with_the_right_modes(site: SiteLayout, tmp_path: Path) -> None:
    target = tmp_path / "etc-roomcast"
    node = install(issue_device(site.root, "101"), target)
    assert _mode(target) == 0o700
    assert {p.name: _mode(p) for p in target.iterdir()} == {
        "device.json": 0o644,
        "ca.crt": 0o644,
        "device.crt": 0o644,
        "device.key": 0o600,
        "hub-signing.pub": 0o644,
    }
    assert (node.site, node.room, node.service_enabled) == (SITE_ID, "101", False)
    assert node.key == target / "device.key" and node.ca.read_bytes() == site.ca_cert.read_bytes()
    assert load_installed(target) == node
    config = load_device_config(node.config, state_dir=tmp_path / "state")
    assert (config.site, config.device_id, config.room) == (SITE_ID, node.device_id, "101")
    assert config.broker.tls is not None
    assert (config.broker.tls.cert, config.broker.tls.key) == (node.cert, node.key)
    assert config.broker.tls.ca == node.ca
    assert (config.broker.host, config.broker.port) == ("hub.lincoln.example", 8883)


def test_reinstalling_for_the_same_site_replaces_the_identity(
    site: SiteLayout, tmp_path: Path
) -> None:
    target = tmp_path / "node"
    first = install(issue_device(site.root, "101"), target)
    second = install(issue_device(site.root, "101"), target, site_check=SITE_ID)
    assert first.device_id != second.device_id
    assert load_installed(target).device_id == second.device_id


def _other_site_bundle(tmp_path: Path) -> Path:
    other = init(
        tmp_path / "other-site", "roosevelt", ["127.0.0.1"], broker_user=None, buildings=["main"]
    ).layout
    apply_rooms(
        other.root,
        [Room(id="101", building="main", floor="1", name="Lab")],
        source=tmp_path / "x.csv",
        hardware={"101": "oled-4button"},
    )
    return issue_device(other.root, "101")


def test_a_bundle_for_another_site_is_refused_and_nothing_changes(
    site: SiteLayout, tmp_path: Path
) -> None:
    target = tmp_path / "node"
    install(issue_device(site.root, "101"), target)
    before = {p.name: p.read_bytes() for p in target.iterdir()}
    foreign = _other_site_bundle(tmp_path)
    with pytest.raises(BundleError, match=r"already holds a device of site 'lincoln'"):
        install(foreign, target)
    assert {p.name: p.read_bytes() for p in target.iterdir()} == before
    with pytest.raises(BundleError, match=r"is for site 'roosevelt', not 'lincoln'"):
        install(foreign, tmp_path / "fresh", site_check=SITE_ID)
    assert not (tmp_path / "fresh").exists()


@pytest.mark.parametrize("evil", ["../evil", "/etc/cron.d/evil", "sub/device.key", "./x/../y"])
def test_path_traversal_is_refused(site: SiteLayout, tmp_path: Path, evil: str) -> None:
    files = _read(issue_device(site.root, "101"))
    bundle = _write(tmp_path / "evil.tar.gz", {**files, evil: b"owned"})
    with pytest.raises(BundleError, match="path traversal"):
        install(bundle, tmp_path / "node")
    assert not (tmp_path / "node").exists()
    assert not (tmp_path / "evil").exists()


def test_links_extra_and_missing_members_are_refused(site: SiteLayout, tmp_path: Path) -> None:
    files = _read(issue_device(site.root, "101"))
    key = {k: v for k, v in files.items() if k != "device.key"}
    cases = {
        "link": _write(tmp_path / "l.tar.gz", key, link="device.key"),
        "extra": _write(tmp_path / "e.tar.gz", {**files, "extra.sh": b"#!/bin/sh"}),
        "missing": _write(tmp_path / "m.tar.gz", key),
        "garbage": tmp_path / "g.tar.gz",
    }
    cases["garbage"].write_bytes(b"not a tarball")
    cases["list-config"] = _write(tmp_path / "j.tar.gz", {**files, "device.json": b"[1, 2]"})
    for case, bundle in cases.items():
        with pytest.raises(BundleError):
            install(bundle, tmp_path / case)
        assert not (tmp_path / case).exists(), case


def test_a_certificate_from_another_ca_is_refused(site: SiteLayout, tmp_path: Path) -> None:
    files = _read(issue_device(site.root, "101"))
    foreign = _read(_other_site_bundle(tmp_path))
    mixed = {**files, "device.crt": foreign["device.crt"]}
    bundle = _write(tmp_path / "mixed.tar.gz", mixed)
    with pytest.raises(BundleError, match=r"device\.crt was changed after the bundle was signed"):
        install(bundle, tmp_path / "node")
    # Even signed by the site CA itself (a provisioning bug), the chain is checked.
    ca = load_authority(site.ca_cert, site.ca_key)
    bundle = _write(tmp_path / "resigned.tar.gz", resign(mixed, ca))
    with pytest.raises(BundleError, match="not signed by the bundled CA"):
        install(bundle, tmp_path / "node")
    assert not (tmp_path / "node").exists()


def test_enable_runs_systemctl_only_when_asked_and_present(
    site: SiteLayout, tmp_path: Path, mocker: MockerFixture
) -> None:
    bundle = issue_device(site.root, "101")
    units = tmp_path / "etc-systemd-system"
    units.mkdir()
    mocker.patch("provisioning.install.UNIT_DIR", units)
    which = mocker.patch("provisioning.install.shutil.which", return_value="/bin/systemctl")
    run = mocker.patch(
        "provisioning.install.subprocess.run",
        return_value=subprocess.CompletedProcess([], 0, "", ""),
    )
    assert not install(bundle, tmp_path / "a").service_enabled
    run.assert_not_called()
    assert install(bundle, tmp_path / "b", enable_service=True).service_enabled
    # The unit was missing: it is installed from Roomcast's own copy first.
    assert "Type=notify" in (units / "roomcast-device.service").read_text()
    assert [c.args[0] for c in run.call_args_list] == [
        ["/bin/systemctl", "daemon-reload"],
        ["/bin/systemctl", "enable", "--now", "roomcast-device"],
    ]
    which.return_value = None
    assert not install(bundle, tmp_path / "c", enable_service=True).service_enabled
    assert run.call_count == 2


def test_owner_hands_the_files_to_the_service_user(site: SiteLayout, tmp_path: Path) -> None:
    with pytest.raises(BundleError, match="no user 'no-such-user-x'"):
        install(issue_device(site.root, "101"), tmp_path / "n", owner="no-such-user-x")
    assert not (tmp_path / "n").exists()  # refused before anything was written
    import pwd

    me = pwd.getpwuid(os.geteuid()).pw_name
    node = install(issue_device(site.root, "101"), tmp_path / "m", owner=me)
    assert node.key.stat().st_uid == os.geteuid() and _mode(node.key) == 0o600
