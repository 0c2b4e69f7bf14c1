"""Signed bundles: a manifest of every bundle member, signed with the site CA's key.

A bundle travels on a USB stick or an SD card that anyone may have held, and it tells the
node whom to obey (the hub's directive-signing key), who it is (device key, certificate,
room) and whom to trust (the site CA). So at provisioning the site CA signs a manifest: the
bundle format, the site, device id, room and building, the SHA-256 of every other member and
when it was made. The installer checks the signature against the bundled CA certificate and
every member against the manifest, and refuses the bundle on any difference.

Checking against a CA that travels in the same bundle is still meaningful: the broker accepts
device certificates only from the real site CA, so whoever replaces the CA to re-sign a
doctored bundle produces a node that cannot join the real site. The only gap left, a node
lured onto an impostor's broker, is closed by pinning: a node keeps the CA it first trusted,
and ``install --ca-fingerprint`` (which the SD-card hook always passes) names the one to
expect on a fresh node.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec

from protocol.topics import InvalidName, check_level
from provisioning.errors import BundleError
from provisioning.pki import Authority, fingerprint

MANIFEST = "manifest.json"
MANIFEST_SIG = "manifest.sig"
SIGNATURE_MEMBERS = (MANIFEST, MANIFEST_SIG)
BUNDLE_FORMAT = 2
"""Format 1 bundles were unsigned; they are refused with a re-issue message."""
MANIFEST_TYPE = "roomcast-bundle-manifest"
# The CA key also signs certificates and the CRL: a fixed prefix keeps a manifest signature
# from ever being valid for anything else, and vice versa.
_CONTEXT = b"roomcast bundle manifest v2\n"
_IDENTITY = ("site", "device_id", "room", "building")


@dataclass(frozen=True)
class Manifest:
    """The signed statement of what a bundle holds."""

    site: str
    device_id: str
    room: str
    building: str | None
    created: str
    members: dict[str, str]
    """Member name → lowercase hex SHA-256 of its bytes."""


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def sign_manifest(
    ca: Authority, config: dict[str, Any], files: dict[str, bytes], *, now: datetime | None = None
) -> dict[str, bytes]:
    """The two signature members for a bundle of ``files`` whose ``device.json`` is ``config``."""
    manifest: dict[str, Any] = {
        "type": MANIFEST_TYPE,
        "format": BUNDLE_FORMAT,
        "created": (now or datetime.now(UTC)).isoformat(timespec="seconds"),
        "members": {name: sha256(data) for name, data in sorted(files.items())},
        **{field: config[field] for field in _IDENTITY if config.get(field) is not None},
    }
    data = (json.dumps(manifest, indent=2, sort_keys=True) + "\n").encode()
    signature = ca.key.sign(_CONTEXT + data, ec.ECDSA(hashes.SHA256()))
    return {MANIFEST: data, MANIFEST_SIG: signature}


def unsigned_message(bundle: Path, config_bytes: bytes | None) -> str:
    """Why an unsigned bundle is refused, and the exact re-issue command where it can tell."""
    room, device = "ROOM", "DEVICE_ID"
    try:
        config = json.loads(config_bytes or b"")
        room = check_level("room", config["room"])
        device = check_level("device", config["device_id"])
    except (ValueError, KeyError, TypeError, InvalidName):
        pass  # only a hint: the command still reads right with the placeholders
    return (
        f"{bundle} is not signed (no {MANIFEST} / {MANIFEST_SIG}): it was made before signed "
        "bundles, or its manifest was removed. Do not install it. On the site, re-issue it "
        f"with `roomcast provision device --room {room}` and install the new bundle; then "
        f"`roomcast provision revoke {device}` retires the old identity."
    )


def verify_manifest(bundle: Path, files: dict[str, bytes], ca: x509.Certificate) -> Manifest:
    """Check the manifest's signature against ``ca``; return what it states.

    Raises BundleError when the manifest is missing, damaged, or not signed by ``ca``.
    """
    data, signature = files.get(MANIFEST), files.get(MANIFEST_SIG)
    if data is None or signature is None:
        raise BundleError(unsigned_message(bundle, files.get("device.json")))
    public = ca.public_key()
    try:
        if not isinstance(public, ec.EllipticCurvePublicKey):
            raise InvalidSignature
        public.verify(signature, _CONTEXT + data, ec.ECDSA(hashes.SHA256()))
    except InvalidSignature:
        raise BundleError(
            f"{bundle}: {MANIFEST_SIG} does not verify against the bundled ca.crt "
            f"(CA {fingerprint(ca)}): the bundle was changed after it was signed, or damaged. "
            "Do not install it; copy the bundle again from the site's bundles/ directory, or "
            "re-issue it with `roomcast provision device --room ROOM`."
        ) from None
    return _parse(bundle, data)


def _parse(bundle: Path, data: bytes) -> Manifest:
    """A signed manifest is trusted, but still checked: a wrong shape is a bug, not a crash."""
    try:
        raw = json.loads(data)
        if raw["type"] != MANIFEST_TYPE or raw["format"] != BUNDLE_FORMAT:
            raise BundleError(
                f"{bundle}: {MANIFEST} is {raw['type']!r} format {raw['format']!r}, not "
                f"{MANIFEST_TYPE!r} format {BUNDLE_FORMAT}; install a matching Roomcast version"
            )
        members = raw["members"]
        if not isinstance(members, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in members.items()
        ):
            raise TypeError("members must map names to SHA-256 digests")
        building = raw.get("building")
        return Manifest(
            site=check_level("site", raw["site"]),
            device_id=check_level("device", raw["device_id"]),
            room=check_level("room", raw["room"]),
            building=None if building is None else check_level("building", building),
            created=str(raw["created"]),
            members=dict(members),
        )
    except (ValueError, KeyError, TypeError, InvalidName) as exc:
        raise BundleError(
            f"{bundle}: {MANIFEST} is signed but unreadable ({exc}); re-issue the bundle"
        ) from exc


def check_config(bundle: Path, manifest: Manifest, config: dict[str, Any]) -> None:
    """The site, device id, room and building in ``device.json`` are the signed ones."""
    for field in _IDENTITY:
        signed, found = getattr(manifest, field), config.get(field)
        if found != signed:
            raise BundleError(
                f"{bundle}: device.json says {field} {found!r} but the bundle was signed for "
                f"{signed!r}: it was edited after signing. Do not install it; re-issue it with "
                f"`roomcast provision device --room {manifest.room}`."
            )


def check_members(bundle: Path, manifest: Manifest, files: dict[str, bytes]) -> None:
    """Exactly the signed members, each with its signed SHA-256."""
    content = set(files) - set(SIGNATURE_MEMBERS)
    unlisted = sorted(content - set(manifest.members))
    absent = sorted(set(manifest.members) - content)
    if unlisted or absent:
        raise BundleError(
            f"{bundle}: members differ from the signed manifest (not signed: "
            f"{', '.join(unlisted) or '-'}; signed but missing: {', '.join(absent) or '-'}); "
            "re-issue the bundle"
        )
    for name in sorted(content):
        if sha256(files[name]) != manifest.members[name]:
            raise BundleError(
                f"{bundle}: {name} was changed after the bundle was signed (its SHA-256 differs "
                "from the manifest's). Do not install it; re-issue it with "
                f"`roomcast provision device --room {manifest.room}`."
            )
