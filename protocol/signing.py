"""Ed25519 signatures on everything the hub tells devices to do: directives and commands.

Each device holds the hub's public key from its bundle. A device acts only on what the key
signed, so even a misconfigured broker cannot make a device show a directive, or obey a
command, that the hub did not issue.

The hub signs with ``cryptography`` (it also makes the site's certificates); signatures
are checked with PyNaCl (libsodium). ``cryptography`` bundles its own OpenSSL and costs a
classroom node ~8 MB of memory just to import, where PyNaCl costs ~1 MB; the bytes on the
wire and the key files are the same standard Ed25519 either way.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import re
from typing import TYPE_CHECKING, Protocol, TypeVar

from nacl.exceptions import BadSignatureError
from nacl.signing import VerifyKey

from protocol.codec import canonical
from protocol.district import DistrictRequest
from protocol.messages import Signed

if TYPE_CHECKING:  # only the hub signs; a device never loads cryptography
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

SignedWire = Signed | DistrictRequest
"""What carries a signature: the hub's directives and commands, the district's requests."""
S = TypeVar("S", bound=SignedWire)

SIGNATURE_BYTES = 64
ED25519_SPKI_PREFIX = bytes.fromhex("302a300506032b6570032100")
"""DER of an Ed25519 SubjectPublicKeyInfo (RFC 8410) up to the 32 key bytes: SEQUENCE,
AlgorithmIdentifier with OID 1.3.101.112 and no parameters, BIT STRING of 33 bytes. DER
is canonical, so every Ed25519 public key file starts with exactly these 12 bytes."""
_PEM = re.compile(rb"-----BEGIN PUBLIC KEY-----([A-Za-z0-9+/=\s]*)-----END PUBLIC KEY-----")


class BadSignature(ValueError):
    """The message is unsigned, or not signed by this site's hub."""


class NotAPublicKey(ValueError):
    """The file is not a PEM public key (``BEGIN PUBLIC KEY``)."""


class NotEd25519(ValueError):
    """The PEM public key is of another algorithm (RSA, EC, X25519...)."""


class PublicKey(Protocol):
    """An Ed25519 public key that can give its 32 raw bytes: :class:`HubPublicKey` (a
    device's copy of the hub's key) or cryptography's ``Ed25519PublicKey`` (the hub's)."""

    def public_bytes_raw(self) -> bytes: ...


@dataclasses.dataclass(frozen=True)
class HubPublicKey:
    """The hub's directive-signing public key as a device holds it: the 32 raw bytes."""

    raw: bytes

    def __post_init__(self) -> None:
        if len(self.raw) != 32:
            raise NotEd25519(f"an Ed25519 public key is 32 bytes, not {len(self.raw)}")

    @classmethod
    def from_pem(cls, pem: bytes) -> HubPublicKey:
        """Read a ``BEGIN PUBLIC KEY`` file, the SubjectPublicKeyInfo the hub's bundle holds.

        Raises:
            NotAPublicKey: no PEM public key block, or its body is not base64.
            NotEd25519: a public key, but not an Ed25519 one.
        """
        found = _PEM.search(pem)
        if found is None:
            raise NotAPublicKey("no BEGIN PUBLIC KEY block")
        try:
            der = base64.b64decode(b"".join(found.group(1).split()), validate=True)
        except (binascii.Error, ValueError):
            raise NotAPublicKey("the key block is not base64") from None
        if len(der) != len(ED25519_SPKI_PREFIX) + 32 or not der.startswith(ED25519_SPKI_PREFIX):
            raise NotEd25519("the public key is not an Ed25519 key")
        return cls(der[len(ED25519_SPKI_PREFIX) :])

    def public_bytes_raw(self) -> bytes:
        return self.raw


def sign(message: S, key: Ed25519PrivateKey) -> S:
    """Return the message with ``sig`` set over its canonical encoding."""
    signature = key.sign(canonical(message, without="sig"))
    return dataclasses.replace(message, sig=base64.b64encode(signature).decode("ascii"))


def verify(message: SignedWire, key: PublicKey) -> None:
    """Raise :class:`BadSignature` unless the hub's key signed exactly this message."""
    if not message.sig:
        raise BadSignature(f"{message.TYPE} is unsigned")
    try:
        signature = base64.b64decode(message.sig, validate=True)
    except (binascii.Error, ValueError):
        raise BadSignature("signature is not base64") from None
    if len(signature) != SIGNATURE_BYTES:  # libsodium would raise ValueError, not refuse
        raise BadSignature("signature does not match the hub's key (wrong length)")
    try:
        VerifyKey(key.public_bytes_raw()).verify(canonical(message, without="sig"), signature)
    except BadSignatureError:
        raise BadSignature("signature does not match the hub's key") from None


sign_directive = sign
verify_directive = verify
