"""Putting a device bundle onto a classroom node: directly, or via the SD card's boot partition.

The bundle is read fully into memory and checked before anything is written: only the five
known regular files, no paths, no links, the certificate signed by the bundled CA for the
named device. A node already set up for one site refuses a bundle for another, because a
display that silently joins the wrong school would show the wrong school's directives.
"""

from __future__ import annotations

import json
import os
import pwd
import shutil
import subprocess
import tarfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.x509.oid import NameOID

from protocol.topics import InvalidName, check_level
from provisioning.devices import (
    BUNDLE_FORMAT,
    BUNDLE_MEMBERS,
    CA_CERT,
    DEVICE_CERT,
    DEVICE_CONFIG,
    DEVICE_KEY,
    HUB_SIGNING_PUB,
)
from provisioning.errors import BundleError
from provisioning.fsutil import make_private_dir, write_file

DEFAULT_TARGET = Path("/etc/roomcast")
SERVICE = "roomcast-device"
_MAX_MEMBER = 64 * 1024


@dataclass(frozen=True)
class InstalledDevice:
    """Where an installed node's files are; what the device service loads."""

    target_dir: Path
    site: str
    device_id: str
    room: str
    service_enabled: bool = False

    @property
    def config(self) -> Path:
        return self.target_dir / DEVICE_CONFIG

    @property
    def ca(self) -> Path:
        return self.target_dir / CA_CERT

    @property
    def cert(self) -> Path:
        return self.target_dir / DEVICE_CERT

    @property
    def key(self) -> Path:
        return self.target_dir / DEVICE_KEY

    @property
    def hub_signing_key(self) -> Path:
        return self.target_dir / HUB_SIGNING_PUB


def _member_data(bundle: Path, archive: tarfile.TarFile) -> dict[str, bytes]:
    files: dict[str, bytes] = {}
    for member in archive:  # streamed: a hostile archive fails at its first odd member
        name = member.name
        if name.startswith("/") or ".." in Path(name).parts or "/" in name.strip("/"):
            raise BundleError(
                f"{bundle}: member {name!r} is a path, not a plain file name "
                "(possible path traversal); refusing the whole bundle"
            )
        if not member.isreg() or name not in BUNDLE_MEMBERS or name in files:
            raise BundleError(
                f"{bundle}: unexpected member {name!r}; a Roomcast bundle holds "
                f"exactly {', '.join(sorted(BUNDLE_MEMBERS))}"
            )
        if member.size > _MAX_MEMBER:
            raise BundleError(f"{bundle}: member {name!r} is {member.size} bytes; too large")
        handle = archive.extractfile(member)
        files[name] = handle.read() if handle else b""
    missing = sorted(set(BUNDLE_MEMBERS) - set(files))
    if missing:
        raise BundleError(f"{bundle}: missing {', '.join(missing)}; re-issue the bundle")
    return files


def read_bundle(bundle: Path | str) -> tuple[dict[str, Any], dict[str, bytes]]:
    """Read and check a bundle without writing anything; returns (device config, files)."""
    bundle = Path(bundle)
    try:
        with tarfile.open(bundle, mode="r:gz") as archive:
            files = _member_data(bundle, archive)
        config = json.loads(files[DEVICE_CONFIG])
        if config.get("format") != BUNDLE_FORMAT:
            raise BundleError(
                f"{bundle}: bundle format {config.get('format')!r} is not "
                f"{BUNDLE_FORMAT}; install a matching Roomcast version"
            )
        check_level("site", config["site"])
        check_level("device", config["device_id"])
        _check_identity(bundle, config["device_id"], files)
    except (
        OSError,
        tarfile.TarError,
        ValueError,
        KeyError,
        TypeError,
        AttributeError,
        InvalidName,
    ) as exc:
        raise BundleError(f"{bundle} is not a usable Roomcast bundle: {exc}") from exc
    return config, files


def _check_identity(bundle: Path, device_id: str, files: dict[str, bytes]) -> None:
    ca = x509.load_pem_x509_certificate(files[CA_CERT])
    cert = x509.load_pem_x509_certificate(files[DEVICE_CERT])
    try:
        cert.verify_directly_issued_by(ca)
    except (ValueError, TypeError) as exc:
        raise BundleError(f"{bundle}: device.crt is not signed by the bundled CA") from exc
    names = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    if not names or names[0].value != device_id:
        raise BundleError(f"{bundle}: device.crt is not for {device_id!r}; re-issue the bundle")


def _installed_site(target: Path) -> str | None:
    path = target / DEVICE_CONFIG
    if not path.exists():
        return None
    try:
        return str(json.loads(path.read_text(encoding="utf-8"))["site"])
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise BundleError(
            f"{path} exists but is unreadable ({exc}); inspect or remove it, then install again"
        ) from exc


def install(
    bundle: Path | str,
    target_dir: Path | str = DEFAULT_TARGET,
    site_check: str | None = None,
    *,
    enable_service: bool = False,
    owner: str | None = None,
) -> InstalledDevice:
    """Install a bundle into ``target_dir`` (0700; key 0600); optionally start the service.

    ``site_check`` is the site the caller expects; a mismatch, or a target that already
    belongs to another site, is refused before anything is written.
    """
    config, files = read_bundle(bundle)
    target = Path(target_dir)
    site = config["site"]
    if site_check is not None and site != site_check:
        raise BundleError(f"{bundle} is for site {site!r}, not {site_check!r}; nothing installed")
    existing = _installed_site(target)
    if existing is not None and existing != site:
        raise BundleError(
            f"{target} already holds a device of site {existing!r} and {bundle} is for "
            f"{site!r}; nothing installed. Remove {target} first if the node really moves."
        )
    make_private_dir(target)
    for name in sorted(files, key=lambda n: n == DEVICE_CONFIG):  # config last: the commit
        write_file(target / name, files[name], BUNDLE_MEMBERS[name])
    if owner is not None:
        _chown(target, owner)
    enabled = _enable_service() if enable_service else False
    return InstalledDevice(target, site, config["device_id"], config["room"], enabled)


def _chown(target: Path, owner: str) -> None:
    """Hand the files to the service's user; the modes stay as written."""
    try:
        entry = pwd.getpwnam(owner)
    except KeyError:
        raise BundleError(f"no user {owner!r} on this machine; create it or drop --owner") from None
    for path in [target, *(target / n for n in BUNDLE_MEMBERS)]:
        os.chown(path, entry.pw_uid, entry.pw_gid)


def _enable_service() -> bool:
    """``systemctl enable --now`` the device unit, if this machine has systemd."""
    systemctl = shutil.which("systemctl")
    if systemctl is None:
        return False
    result = subprocess.run(  # noqa: S603 - fixed argv, no shell
        [systemctl, "enable", "--now", SERVICE], capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        raise BundleError(
            f"installed, but `systemctl enable --now {SERVICE}` failed: "
            f"{result.stderr.strip()}; fix the unit and start it by hand"
        )
    return True


def load_installed(target_dir: Path | str = DEFAULT_TARGET) -> InstalledDevice:
    """Describe an already installed node (paths, site, id) from its ``device.json``."""
    target = Path(target_dir)
    try:
        config = json.loads((target / DEVICE_CONFIG).read_text(encoding="utf-8"))
        return InstalledDevice(target, config["site"], config["device_id"], config["room"])
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise BundleError(f"{target / DEVICE_CONFIG}: no installed device ({exc})") from exc
