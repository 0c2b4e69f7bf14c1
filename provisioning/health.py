"""Keeping a site healthy: ``check`` finds what will break, ``rotate`` renews what expires.

Certificates expire silently and a classroom whose certificate lapsed simply stops getting
directives, so ``check`` warns a month ahead and ``rotate`` renews in place, keeping every
device id (the hub's records, the ACL and the room mapping stay valid).
"""

from __future__ import annotations

import stat
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from pathlib import Path

from provisioning.access import HUB_USERNAME, acl_text, reload_broker, write_derived
from provisioning.create import write_broker_identity
from provisioning.devices import ReloadTarget, reissue
from provisioning.fsutil import write_private, write_public
from provisioning.pki import (
    NOT_BEFORE,
    Authority,
    cert_pem,
    issue,
    key_pem,
    load_authority,
    load_cert,
    redate_authority,
    starts_late,
)
from provisioning.pki import load_crl as _load_crl
from provisioning.site import (
    SiteLayout,
    SiteRecord,
    broker_owner,
    hub_owner,
    locked,
    open_site,
    save_inventory,
)

WARN_DAYS = 30


class Level(StrEnum):
    ERROR = "error"
    WARNING = "warning"


@dataclass(frozen=True)
class Finding:
    """One thing IT should look at: what (a file or device), and what to do."""

    level: Level
    subject: str
    message: str

    def __str__(self) -> str:
        return f"{self.level.value}: {self.subject}: {self.message}"


@dataclass(frozen=True)
class CheckReport:
    findings: tuple[Finding, ...]

    @property
    def errors(self) -> list[Finding]:
        return [f for f in self.findings if f.level is Level.ERROR]

    @property
    def warnings(self) -> list[Finding]:
        return [f for f in self.findings if f.level is Level.WARNING]

    @property
    def ok(self) -> bool:
        return not self.errors


def _expiry(
    subject: str, not_after: datetime, now: datetime, warn: timedelta, remedy: str
) -> list[Finding]:
    days = (not_after - now).days
    if not_after <= now:
        return [Finding(Level.ERROR, subject, f"expired on {not_after:%Y-%m-%d}; {remedy}")]
    if not_after - now <= warn:
        return [
            Finding(
                Level.WARNING,
                subject,
                f"expires on {not_after:%Y-%m-%d} (in {days} days); {remedy}",
            )
        ]
    return []


def _certificates(
    layout: SiteLayout, inventory: SiteRecord, now: datetime, warn: timedelta
) -> list[Finding]:
    rotate = "run `roomcast provision rotate`"
    found = _expiry(
        str(layout.ca_cert),
        load_cert(layout.ca_cert).not_valid_after_utc,
        now,
        warn,
        "the CA cannot be rotated in place: plan a new site and re-issue",
    )
    for path in (layout.broker.cert, layout.hub.cert):
        found += _expiry(str(path), load_cert(path).not_valid_after_utc, now, warn, rotate)
    crl = _load_crl(layout.broker.crl)
    if crl.next_update_utc is not None:
        found += _expiry(
            str(layout.broker.crl),
            crl.next_update_utc,
            now,
            warn,
            "revoke any device again to re-sign it",
        )
    for device_id, record in inventory.active_devices().items():
        found += _expiry(f"device {device_id}", record.not_after, now, warn, rotate)
    return found + _late_starts(layout, inventory)


def _late_starts(layout: SiteLayout, inventory: SiteRecord) -> list[Finding]:
    """Certificates from before the validity floor: a node whose clock is behind their
    issue (no real-time clock, an old boot time) cannot connect."""
    paths = [layout.ca_cert, layout.broker.cert, layout.hub.cert]
    paths += [layout.device_cert(i) for i in inventory.active_devices()]
    late = [path for path in paths if path.is_file() and starts_late(load_cert(path))]
    if not late:
        return []
    return [
        Finding(
            Level.WARNING,
            f"{len(late)} certificate(s), {late[0]} first",
            f"valid only from their issue, not from {NOT_BEFORE:%Y-%m-%d}: a node whose "
            "clock is behind that cannot connect. Run `roomcast provision rotate` and "
            "install the new bundles",
        )
    ]


def _rooms(layout: SiteLayout, inventory: SiteRecord) -> list[Finding]:
    active = inventory.active_devices()
    equipped = {d.room for d in active.values()}
    found = [
        Finding(Level.WARNING, f"room {r}", "has no active device; `provision device` it")
        for r in sorted(set(inventory.rooms) - equipped)
    ]
    found += [
        Finding(
            Level.ERROR,
            f"device {i}",
            f"is in room {d.room!r}, which "
            f"{layout.inventory} does not list; re-import the rooms or revoke it",
        )
        for i, d in active.items()
        if d.room not in inventory.rooms
    ]
    return found


def _private_paths(layout: SiteLayout) -> list[Path]:
    dirs = [layout.root, layout.ca_dir, layout.broker.dir, layout.hub.dir, layout.bundles_dir]
    files = [layout.hub.users, *layout.root.rglob("*.key"), *layout.bundles_dir.glob("*.tar.gz")]
    return [*dirs, *sorted(set(files))]


def _permissions(layout: SiteLayout) -> list[Finding]:
    found = []
    for path in _private_paths(layout):
        if not path.exists():
            continue
        mode = stat.S_IMODE(path.stat().st_mode)
        allowed = 0o011 if path == layout.root else 0  # 0711 root: broker may traverse
        if mode & 0o077 & ~allowed:
            want = "700" if path.is_dir() else "600"
            found.append(
                Finding(
                    Level.ERROR,
                    str(path),
                    f"mode {mode:04o} lets other users read a secret; run `chmod {want} {path}`",
                )
            )
    return found


def check(
    site_dir: Path | str, *, warn_days: int = WARN_DAYS, now: datetime | None = None
) -> CheckReport:
    """Everything that is wrong or will be within ``warn_days``; changes nothing."""
    layout, inventory = open_site(site_dir)
    now = now or datetime.now(UTC)
    found = _certificates(layout, inventory, now, timedelta(days=warn_days))
    found += _rooms(layout, inventory)
    found += _permissions(layout)
    if layout.broker.acl.read_text(encoding="utf-8") != acl_text(layout, inventory):
        found.append(
            Finding(
                Level.WARNING,
                str(layout.broker.acl),
                "differs from the "
                "inventory (edited by hand?); the next issue or revoke rewrites it",
            )
        )
    return CheckReport(tuple(found))


@dataclass(frozen=True)
class RotateResult:
    """What ``rotate`` renewed. New device bundles must be installed on their nodes."""

    devices: dict[str, Path] = field(default_factory=dict)
    broker: bool = False
    hub: bool = False
    ca_expiring: bool = False
    reloaded_pid: int | None = None
    ca_redated: bool = False
    """The CA was re-signed (same key) to be valid from the floor: every node needs its
    new bundle, which carries it."""


def _rotate_hub(layout: SiteLayout, inventory: SiteRecord, ca: Authority) -> None:
    hub = issue(ca, common_name=HUB_USERNAME, site=inventory.site)
    owner = hub_owner(inventory)
    write_public(layout.hub.cert, cert_pem(hub.cert), owner)
    write_private(layout.hub.key, key_pem(hub.key), owner)


def _redate_ca(layout: SiteLayout, inventory: SiteRecord, ca: Authority) -> Authority:
    """The CA re-signed from :data:`NOT_BEFORE`, written wherever a copy of it lives."""
    ca = redate_authority(ca)
    pem = cert_pem(ca.cert)
    write_public(layout.ca_cert, pem)
    write_public(layout.broker.ca, pem, broker_owner(inventory))
    write_public(layout.hub.ca, pem, hub_owner(inventory))
    return ca


def _due(path: Path, limit: datetime) -> bool:
    """Expiring by ``limit``, or from before the validity floor."""
    cert = load_cert(path)
    return cert.not_valid_after_utc <= limit or starts_late(cert)


def rotate(
    site_dir: Path | str,
    *,
    within_days: int = WARN_DAYS,
    now: datetime | None = None,
    reload_pid: ReloadTarget = None,
) -> RotateResult:
    """Renew the broker, hub and device certificates that expire within ``within_days``,
    and those issued before the validity floor (:data:`provisioning.pki.NOT_BEFORE`),
    re-signing the CA itself from the floor if it predates it too.

    Old device certificates stay valid until they expire, so a node keeps working until its
    new bundle is installed. The broker re-reads its certificate on SIGHUP; the hub must be
    restarted to use its new one.
    """
    layout, _ = open_site(site_dir)
    limit = (now or datetime.now(UTC)) + timedelta(days=within_days)
    with locked(layout):
        _, inventory = open_site(site_dir)
        ca = load_authority(layout.ca_cert, layout.ca_key)
        redated = starts_late(ca.cert)
        if redated:
            ca = _redate_ca(layout, inventory, ca)
        broker, hub = _due(layout.broker.cert, limit), _due(layout.hub.cert, limit)
        if broker:
            write_broker_identity(layout, inventory, ca)
        if hub:
            _rotate_hub(layout, inventory, ca)
        due = [i for i in inventory.active_devices() if _due(layout.device_cert(i), limit)]
        devices = {i: reissue(layout, inventory, ca, i) for i in due}
        write_derived(layout, inventory)
        save_inventory(layout, inventory)
    pid = reload_broker(reload_pid) if reload_pid is not None and broker else None
    return RotateResult(
        devices=devices,
        broker=broker,
        hub=hub,
        ca_expiring=ca.cert.not_valid_after_utc <= limit,
        reloaded_pid=pid,
        ca_redated=redated,
    )
