"""Putting a device bundle onto a classroom node: directly, or via the SD card's boot partition.

The bundle is read fully into memory and checked before anything is written: only the known
regular files, no paths, no links; the manifest signed by the bundled CA and every member
matching it (``provisioning.manifest``); the certificate signed by that CA for the named
device and the key belonging to that certificate. A node keeps the CA it first trusted: a
bundle signed by another CA is refused, and so is one for another site, because a display
that silently joins the wrong school (or an impostor's) would show the wrong directives.
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
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.types import PublicKeyTypes
from cryptography.x509.oid import NameOID

from protocol.topics import InvalidName
from provisioning.devices import (
    ARCHIVE_MODES,
    BUNDLE_MEMBERS,
    CA_CERT,
    DEVICE_CERT,
    DEVICE_CONFIG,
    DEVICE_KEY,
)
from provisioning.errors import BundleError
from provisioning.fsutil import make_private_dir, write_file
from provisioning.manifest import BUNDLE_FORMAT, check_config, check_members, verify_manifest
from provisioning.pki import fingerprint, parse_fingerprint
from provisioning.units import unit_file

DEFAULT_TARGET = Path("/etc/roomcast")
UNIT_DIR = Path("/etc/systemd/system")
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


def _member_data(bundle: Path, archive: tarfile.TarFile) -> dict[str, bytes]:
    files: dict[str, bytes] = {}
    for member in archive:  # streamed: a hostile archive fails at its first odd member
        name = member.name
        if name.startswith("/") or ".." in Path(name).parts or "/" in name.strip("/"):
            raise BundleError(
                f"{bundle}: member {name!r} is a path, not a plain file name "
                "(possible path traversal); refusing the whole bundle"
            )
        if not member.isreg() or name not in ARCHIVE_MODES or name in files:
            raise BundleError(
                f"{bundle}: unexpected member {name!r}; a Roomcast bundle holds "
                f"exactly {', '.join(sorted(ARCHIVE_MODES))}. Do not install it; re-issue it"
            )
        if member.size > _MAX_MEMBER:
            raise BundleError(f"{bundle}: member {name!r} is {member.size} bytes; too large")
        handle = archive.extractfile(member)
        files[name] = handle.read() if handle else b""
    missing = sorted(set(BUNDLE_MEMBERS) - set(files))
    if missing:
        raise BundleError(f"{bundle}: missing {', '.join(missing)}; re-issue the bundle")
    return files


def read_bundle(
    bundle: Path | str, ca_fingerprint: str | None = None
) -> tuple[dict[str, Any], dict[str, bytes]]:
    """Read and check a bundle without writing anything; returns (device config, files).

    ``files`` are the members to install (the manifest is checked, not installed).
    ``ca_fingerprint`` is the site CA the caller expects, as ``provision init`` printed it.
    """
    bundle = Path(bundle)
    expected = _expected_fingerprint(ca_fingerprint)
    try:
        with tarfile.open(bundle, mode="r:gz") as archive:
            files = _member_data(bundle, archive)
        config = _verify(bundle, files, expected)
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
    return config, {name: files[name] for name in BUNDLE_MEMBERS}


def _verify(bundle: Path, files: dict[str, bytes], expected_ca: str | None) -> dict[str, Any]:
    """Every check of a read bundle, the cheapest and most telling first; returns its config."""
    ca = x509.load_pem_x509_certificate(files[CA_CERT])
    if expected_ca is not None and fingerprint(ca) != expected_ca:
        raise BundleError(
            f"{bundle}: its site CA is {fingerprint(ca)}, not the expected {expected_ca}: "
            "it is not from your site, or was re-signed by someone else. Do not install "
            "it; take a fresh bundle from the site, or check the fingerprint you passed."
        )
    manifest = verify_manifest(bundle, files, ca)
    config = json.loads(files[DEVICE_CONFIG])
    if not isinstance(config, dict):
        raise TypeError("device.json is not a JSON object")
    check_config(bundle, manifest, config)
    check_members(bundle, manifest, files)
    if config.get("format") != BUNDLE_FORMAT:
        raise BundleError(
            f"{bundle}: bundle format {config.get('format')!r} is not "
            f"{BUNDLE_FORMAT}; install a matching Roomcast version"
        )
    _check_identity(bundle, config["device_id"], files, ca)
    return config


def _expected_fingerprint(text: str | None) -> str | None:
    try:
        return None if text is None else parse_fingerprint(text)
    except ValueError as exc:
        raise BundleError(f"--ca-fingerprint: {exc}; nothing installed") from None


def _spki(key: PublicKeyTypes) -> bytes:
    return key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def _check_identity(
    bundle: Path, device_id: str, files: dict[str, bytes], ca: x509.Certificate
) -> None:
    """The certificate chains to the CA, names the device, and the key is its key."""
    cert = x509.load_pem_x509_certificate(files[DEVICE_CERT])
    try:
        cert.verify_directly_issued_by(ca)
    except (ValueError, TypeError) as exc:
        raise BundleError(f"{bundle}: device.crt is not signed by the bundled CA") from exc
    names = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    if not names or names[0].value != device_id:
        raise BundleError(f"{bundle}: device.crt is not for {device_id!r}; re-issue the bundle")
    key = serialization.load_pem_private_key(files[DEVICE_KEY], password=None)
    # A key that is not the certificate's would make every TLS handshake fail: the node
    # would look installed and never connect.
    if _spki(key.public_key()) != _spki(cert.public_key()):
        raise BundleError(
            f"{bundle}: device.key does not belong to device.crt (their public keys differ). "
            "Do not install it; re-issue the bundle with `roomcast provision device --room ROOM`."
        )


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
    ca_fingerprint: str | None = None,
) -> InstalledDevice:
    """Install a bundle into ``target_dir`` (0700; key 0600); optionally start the service.

    ``site_check`` is the site the caller expects and ``ca_fingerprint`` its CA; a mismatch,
    or a target that already belongs to another site or trusts another CA, is refused
    before anything is written.
    """
    config, files = read_bundle(bundle, ca_fingerprint)
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
    _check_pinned_ca(Path(bundle), target, files[CA_CERT])
    ids = None if owner is None else _owner_ids(owner)  # refuse before writing, not after
    make_private_dir(target)
    for name in sorted(files, key=lambda n: n == DEVICE_CONFIG):  # config last: the commit
        write_file(target / name, files[name], BUNDLE_MEMBERS[name])
    if ids is not None:
        for path in [target, *(target / n for n in BUNDLE_MEMBERS)]:
            os.chown(path, *ids)  # the modes stay as written
    enabled = _enable_service() if enable_service else False
    return InstalledDevice(target, site, config["device_id"], config["room"], enabled)


def _check_pinned_ca(bundle: Path, target: Path, offered_pem: bytes) -> None:
    """A node keeps trusting the CA it was first installed with (re-install, rotation)."""
    path = target / CA_CERT
    if not path.exists():
        return
    try:
        pinned = fingerprint(x509.load_pem_x509_certificate(path.read_bytes()))
    except (OSError, ValueError) as exc:
        raise BundleError(
            f"{path} exists but is unreadable ({exc}); inspect or remove it, then install again"
        ) from exc
    offered = fingerprint(x509.load_pem_x509_certificate(offered_pem))
    if offered != pinned:
        raise BundleError(
            f"{target} trusts site CA {pinned}, but {bundle} is signed by CA {offered}; "
            "nothing installed. If the bundle is not from your site, do not install it. If "
            f"the site really got a new CA (`provision init --force`), remove {target} and "
            f"install again with --ca-fingerprint {offered}, once you have checked that "
            "fingerprint against what `provision init` printed on the site."
        )


def _owner_ids(owner: str) -> tuple[int, int]:
    """The uid and gid of the user the device service runs as."""
    try:
        entry = pwd.getpwnam(owner)
    except KeyError:
        raise BundleError(
            f"no user {owner!r} on this machine; create it or drop --owner; nothing installed"
        ) from None
    return entry.pw_uid, entry.pw_gid


def _enable_service() -> bool:
    """Install the device unit if it is missing, then ``systemctl enable --now`` it."""
    systemctl = shutil.which("systemctl")
    if systemctl is None:
        return False
    unit = UNIT_DIR / f"{SERVICE}.service"
    if not unit.exists() and not Path(f"/lib/systemd/system/{SERVICE}.service").exists():
        write_file(unit, unit_file(f"{SERVICE}.service"), 0o644)
        subprocess.run([systemctl, "daemon-reload"], check=False)  # noqa: S603
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
