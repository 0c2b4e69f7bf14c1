"""Who may connect and what each identity may do: the broker's ACL and CRL, and its reload.

The ACL grants each device its topics by name, in a ``user <device id>`` block, rather than
with one global ``pattern ... %u`` rule. Mosquitto applies patterns to *every* username,
so with patterns a revoked device whose TLS handshake still succeeded (a CRL not yet
reloaded, or a connection opened before the revocation) could go on publishing panic
events. With per-identity blocks, a name that is not in the file matches nothing and is
denied everything; removing the block is the revocation, the CRL is the second lock.

Mosquitto 2.0.11 re-creates its TLS context with the new CRL on SIGHUP, so new handshakes
of a revoked certificate fail; but a connection opened before the revocation stays open,
and only the ACL (re-applied to live connections on the same SIGHUP) silences it. The same
re-applied ACL is how a flooding device is cut off (provisioning.quarantine): its block
keeps only its read grants while the cut-off lasts, in every ACL the site writes.
"""

from __future__ import annotations

from datetime import datetime

from protocol.inventory import Inventory
from provisioning.acl import (
    HUB_USERNAME,
    acl_text,
    applied_cut_offs,
    device_permissions,
    reload_broker,
    render_acl,
)
from provisioning.fsutil import write_json, write_public
from provisioning.pki import Authority, build_crl, crl_pem
from provisioning.site import SiteLayout, SiteRecord, broker_owner, hub_owner


def revoked_serials(inventory: SiteRecord) -> list[tuple[int, datetime]]:
    """Every serial a revoked device ever held, current and rotated-out alike."""
    out: list[tuple[int, datetime]] = []
    for record in inventory.devices.values():
        if record.revoked_at is not None:
            out += [(s, record.revoked_at) for s in (record.serial, *record.previous_serials)]
    return sorted(out)


def write_acl(layout: SiteLayout, inventory: SiteRecord) -> None:
    write_public(layout.broker.acl, acl_text(layout, inventory).encode(), broker_owner(inventory))


__all__ = [
    "HUB_USERNAME",
    "acl_text",
    "applied_cut_offs",
    "device_permissions",
    "reload_broker",
    "render_acl",
]


def hub_inventory(record: SiteRecord) -> Inventory:
    """What the hub needs to know: every room, and the room of each *active* device."""
    devices = {i: d.room for i, d in record.active_devices().items()}
    return Inventory(site=record.site, rooms=dict(record.rooms), devices=devices)


def write_derived(layout: SiteLayout, record: SiteRecord) -> None:
    """Rewrite the files derived from ``site.json``: the broker ACL and the hub inventory."""
    write_acl(layout, record)
    write_json(layout.hub.inventory, hub_inventory(record).to_dict(), owner=hub_owner(record))


def write_crl(layout: SiteLayout, inventory: SiteRecord, ca: Authority) -> None:
    """Re-sign the CRL from the inventory (so it can always be rebuilt) with a new number."""
    inventory.crl_number += 1
    crl = build_crl(ca, revoked_serials(inventory), number=inventory.crl_number)
    write_public(layout.broker.crl, crl_pem(crl), broker_owner(inventory))
