"""The site's certificate authority: keys, certificates and the revocation list.

TLS material uses ECDSA P-256: Mosquitto, OpenSSL and every MQTT client library accept it,
and the keys are small enough for a Raspberry Pi to handshake quickly. Directive signing is
a separate Ed25519 key, so a broker compromise cannot forge directives and a leaked signing
key cannot impersonate the broker.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from provisioning.errors import InventoryError

CA_DAYS = 3650
SERVER_DAYS = 730
CLIENT_DAYS = 730
NOT_BEFORE = datetime(1970, 1, 1, tzinfo=UTC)
"""Every certificate is valid from the Unix epoch, not from the moment it was issued.

A Raspberry Pi has no real-time clock. It boots with whatever time it last saved
(fake-hwclock: the last clean shutdown, possibly weeks ago), else with systemd's clock
floor (the date systemd was built, often a year or more back), else at 1970-01-01; NTP
corrects it only once the network is up, and a school network may not offer NTP at all.
A certificate that is not yet valid by the node's clock would keep it off the broker (LINK
LOST, presses waiting in the outbox) just after it boots. No clock a Linux machine can
have is earlier than the epoch, so this start date never refuses a node. Nothing is lost:
a certificate is withdrawn by revocation, not by its start date, and the expiry stays
where it was (a node days ahead still connects; ``provision check`` warns a month ahead).
"""
_CRL_BACKDATE = timedelta(minutes=5)  # only the broker (on the hub's clock) reads the CRL


@dataclass(frozen=True)
class Authority:
    """The CA's certificate and key, loaded together because one is useless without the other."""

    cert: x509.Certificate
    key: ec.EllipticCurvePrivateKey


@dataclass(frozen=True)
class Issued:
    """A freshly issued certificate and its private key."""

    cert: x509.Certificate
    key: ec.EllipticCurvePrivateKey


def new_tls_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def key_pem(key: ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey) -> bytes:
    """PKCS#8 PEM without encryption: services start unattended, so the file mode protects it."""
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def cert_pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def _name(common_name: str, site: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, f"Roomcast {site}"),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def create_authority(site: str, *, now: datetime | None = None) -> Authority:
    """A self-signed CA that may sign leaf certificates only (path length 0)."""
    now = now or datetime.now(UTC)
    key = new_tls_key()
    name = _name(f"Roomcast {site} CA", site)
    ski = x509.SubjectKeyIdentifier.from_public_key(key.public_key())
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(NOT_BEFORE)
        .not_valid_after(now + timedelta(days=CA_DAYS))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(_key_usage(cert_sign=True), critical=True)
        .add_extension(ski, critical=False)
        .sign(key, hashes.SHA256())
    )
    return Authority(cert=cert, key=key)


def redate_authority(ca: Authority) -> Authority:
    """The same CA (key, subject, extensions, expiry) valid from :data:`NOT_BEFORE`.

    For sites created before the floor: OpenSSL checks the CA's own start date too, so a
    node whose clock is behind the CA's creation cannot connect. Every certificate the
    old one signed still verifies against this one (same name, same key).
    """
    builder = (
        x509.CertificateBuilder()
        .subject_name(ca.cert.subject)
        .issuer_name(ca.cert.subject)
        .public_key(ca.key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(NOT_BEFORE)
        .not_valid_after(ca.cert.not_valid_after_utc)
    )
    for extension in ca.cert.extensions:
        builder = builder.add_extension(extension.value, extension.critical)
    return Authority(cert=builder.sign(ca.key, hashes.SHA256()), key=ca.key)


def starts_late(cert: x509.Certificate) -> bool:
    """Issued before the floor: valid only from its issue, so an old node clock refuses it."""
    return cert.not_valid_before_utc > NOT_BEFORE


def _key_usage(*, cert_sign: bool) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=not cert_sign,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=cert_sign,
        crl_sign=cert_sign,
        encipher_only=False,
        decipher_only=False,
    )


def _san(hosts: Iterable[str]) -> x509.SubjectAlternativeName:
    """DNS names and IP addresses, each as the right SAN type (OpenSSL matches IPs only so)."""
    entries: list[x509.GeneralName] = []
    for host in dict.fromkeys(hosts):
        try:
            entries.append(x509.IPAddress(ipaddress.ip_address(host)))
        except ValueError:
            entries.append(x509.DNSName(host))
    return x509.SubjectAlternativeName(entries)


def issue(
    ca: Authority,
    *,
    common_name: str,
    site: str,
    server_hosts: Sequence[str] = (),
    days: int = CLIENT_DAYS,
    now: datetime | None = None,
    client_too: bool = False,
) -> Issued:
    """Sign a leaf certificate: a server one when ``server_hosts`` is given, else a client
    one; ``client_too`` makes a server's certificate good for its outgoing connections as
    well (a NATS node dials its cluster peers with the same certificate it serves with)."""
    now = now or datetime.now(UTC)
    key = new_tls_key()
    usages = [ExtendedKeyUsageOID.SERVER_AUTH] if server_hosts else []
    if client_too or not server_hosts:
        usages.append(ExtendedKeyUsageOID.CLIENT_AUTH)
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(common_name, site))
        .issuer_name(ca.cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(NOT_BEFORE)
        .not_valid_after(min(now + timedelta(days=days), ca.cert.not_valid_after_utc))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_key_usage(cert_sign=False), critical=True)
        .add_extension(x509.ExtendedKeyUsage(usages), critical=False)
        .add_extension(_authority_key_id(ca), critical=False)
    )
    if server_hosts:
        builder = builder.add_extension(_san(server_hosts), critical=False)
    return Issued(cert=builder.sign(ca.key, hashes.SHA256()), key=key)


def _authority_key_id(ca: Authority) -> x509.AuthorityKeyIdentifier:
    return x509.AuthorityKeyIdentifier.from_issuer_public_key(ca.key.public_key())


def build_crl(
    ca: Authority, revoked: Iterable[tuple[int, datetime]], *, number: int
) -> x509.CertificateRevocationList:
    """A CRL listing ``revoked`` (serial, when), valid until the CA itself expires.

    OpenSSL refuses *every* client once a CRL's next-update time passes. For a life-safety
    system a forgotten CRL refresh must not silence every classroom, so the CRL is valid as
    long as the CA; a revocation re-signs it anyway.
    """
    now = datetime.now(UTC)
    builder = (
        x509.CertificateRevocationListBuilder()
        .issuer_name(ca.cert.subject)
        .last_update(now - _CRL_BACKDATE)
        .next_update(ca.cert.not_valid_after_utc)
        .add_extension(x509.CRLNumber(number), critical=False)
        .add_extension(_authority_key_id(ca), critical=False)
    )
    for serial, when in revoked:
        entry = x509.RevokedCertificateBuilder().serial_number(serial).revocation_date(when)
        builder = builder.add_revoked_certificate(entry.build())
    return builder.sign(ca.key, hashes.SHA256())


def crl_pem(crl: x509.CertificateRevocationList) -> bytes:
    return crl.public_bytes(serialization.Encoding.PEM)


def new_signing_key() -> ed25519.Ed25519PrivateKey:
    return ed25519.Ed25519PrivateKey.generate()


def public_key_pem(key: ed25519.Ed25519PrivateKey) -> bytes:
    """SubjectPublicKeyInfo PEM: what ``load_pem_public_key`` on the device expects."""
    return key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def fingerprint(cert: x509.Certificate) -> str:
    """SHA-256 of the DER certificate as ``AB:CD:...``: what ``openssl x509 -fingerprint
    -sha256`` prints, so IT can compare it with a tool they already trust."""
    return cert.fingerprint(hashes.SHA256()).hex(":").upper()


def parse_fingerprint(text: str) -> str:
    """A SHA-256 fingerprint as IT may type it (colons or not, any case, ``SHA256:`` or
    ``sha256 Fingerprint=`` in front), normalised to what ``fingerprint`` returns."""
    value = text.strip().rpartition("=")[2].removeprefix("SHA256:").removeprefix("sha256:")
    digits = value.replace(":", "").replace(" ", "").lower()
    if len(digits) != 64 or any(c not in "0123456789abcdef" for c in digits):
        raise ValueError(
            f"{text!r} is not a SHA-256 fingerprint (64 hex digits, colons allowed), "
            "as `roomcast provision init`, `device` or `sdcard` printed it"
        )
    return bytes.fromhex(digits).hex(":").upper()


def load_cert(path: Path) -> x509.Certificate:
    """Load a PEM certificate, naming the file if it is missing or damaged."""
    try:
        return x509.load_pem_x509_certificate(path.read_bytes())
    except (OSError, ValueError) as exc:
        raise InventoryError(f"cannot read certificate {path}: {exc}") from exc


def load_crl(path: Path) -> x509.CertificateRevocationList:
    try:
        return x509.load_pem_x509_crl(path.read_bytes())
    except (OSError, ValueError) as exc:
        raise InventoryError(f"cannot read revocation list {path}: {exc}") from exc


def load_authority(cert_path: Path, key_path: Path) -> Authority:
    """Load the CA; its key may have been moved offline, which the message explains."""
    cert = load_cert(cert_path)
    try:
        key = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
    except (OSError, ValueError) as exc:
        raise InventoryError(
            f"cannot read the CA key {key_path}: {exc}. Issuing, revoking and rotating need "
            "it; if it is kept offline, restore it to that path (mode 0600) first."
        ) from exc
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise InventoryError(f"{key_path} is not an EC private key; restore the site's CA key")
    return Authority(cert=cert, key=key)
