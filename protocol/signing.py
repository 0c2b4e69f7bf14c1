"""Ed25519 signatures on everything the hub tells devices to do: directives and commands.

Each device holds the hub's public key from its bundle. A device acts only on what the key
signed, so even a misconfigured broker cannot make a device show a directive, or obey a
command, that the hub did not issue.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
from typing import TypeVar

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from protocol.codec import canonical
from protocol.messages import Signed

S = TypeVar("S", bound=Signed)


class BadSignature(ValueError):
    """The message is unsigned, or not signed by this site's hub."""


def sign(message: S, key: Ed25519PrivateKey) -> S:
    """Return the message with ``sig`` set over its canonical encoding."""
    signature = key.sign(canonical(message, without="sig"))
    return dataclasses.replace(message, sig=base64.b64encode(signature).decode("ascii"))


def verify(message: Signed, key: Ed25519PublicKey) -> None:
    """Raise :class:`BadSignature` unless the hub's key signed exactly this message."""
    if not message.sig:
        raise BadSignature(f"{message.TYPE} is unsigned")
    try:
        signature = base64.b64decode(message.sig, validate=True)
    except (binascii.Error, ValueError):
        raise BadSignature("signature is not base64") from None
    try:
        key.verify(signature, canonical(message, without="sig"))
    except InvalidSignature:
        raise BadSignature("signature does not match the hub's key") from None


sign_directive = sign
verify_directive = verify
