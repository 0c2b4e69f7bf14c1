"""Ed25519 signatures on directives.

Each device holds the hub's public key from its bundle. A device applies a directive only
if the signature holds, so even a misconfigured broker cannot make a device show a
directive the hub did not issue.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from protocol.codec import canonical
from protocol.messages import Directive


class BadSignature(ValueError):
    """The directive is unsigned, or not signed by this site's hub."""


def sign_directive(directive: Directive, key: Ed25519PrivateKey) -> Directive:
    """Return the directive with ``sig`` set over its canonical encoding."""
    signature = key.sign(canonical(directive, without="sig"))
    return dataclasses.replace(directive, sig=base64.b64encode(signature).decode("ascii"))


def verify_directive(directive: Directive, key: Ed25519PublicKey) -> None:
    """Raise :class:`BadSignature` unless the hub's key signed exactly this directive."""
    if not directive.sig:
        raise BadSignature("directive is unsigned")
    try:
        signature = base64.b64decode(directive.sig, validate=True)
    except (binascii.Error, ValueError):
        raise BadSignature("signature is not base64") from None
    try:
        key.verify(signature, canonical(directive, without="sig"))
    except InvalidSignature:
        raise BadSignature("signature does not match the hub's key") from None
