"""Second factors for console users: TOTP secrets and recovery codes in ``users.json``.

``enrol`` writes a new secret and ten recovery codes (as SHA-256 digests, see
protocol.factors) and a new ``factor_epoch``: the hub then ends the user's open sessions and
stops honouring any enrolment the user made in the console. ``clear`` removes the secret
(with a new epoch too), so the user sets one up again at their next console login.
The secret is printed once as an ``otpauth://`` URI and a QR code; the recovery codes are
printed once; a QR code written to a PNG file is 0600 like ``users.json``, since it holds
the secret.
"""

from __future__ import annotations

import io
import json
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import segno

from protocol.accounts import Role
from protocol.factors import new_recovery_codes, new_secret, otpauth_uri, recovery_digests
from protocol.factors import required_roles as parse_required_roles
from provisioning.errors import InventoryError, UserError
from provisioning.fsutil import write_private
from provisioning.site import SiteLayout, hub_owner, locked, open_site
from provisioning.users import load_users, now_text, save_users


@dataclass(frozen=True)
class Enrolled:
    """What the user needs once, to set up their authenticator app; never stored as such."""

    user: str
    secret: str
    uri: str
    recovery_codes: tuple[str, ...]

    def qr(self) -> segno.QRCode:
        return segno.make(self.uri, error="m")

    def write_png(self, path: Path) -> None:
        out = io.BytesIO()
        self.qr().save(out, kind="png", scale=8, border=4)
        write_private(path, out.getvalue())


def required_roles(layout: SiteLayout) -> frozenset[Role]:
    """``totp_required_for`` from the hub's config (default: admin only)."""
    try:
        config = json.loads(layout.hub.config.read_text(encoding="utf-8"))
        return parse_required_roles(config.get("totp_required_for", ["admin"]))
    except (OSError, ValueError, AttributeError) as exc:
        raise InventoryError(f"{layout.hub.config}: totp_required_for: {exc}") from None


def needs_second_factor(site_dir: Path | str, role: Role | str) -> bool:
    layout, _ = open_site(site_dir)
    return Role(str(role)) in required_roles(layout)


def set_new_totp(record: dict[str, Any], name: str) -> tuple[str, list[str]]:
    """Put a new TOTP secret and recovery codes (as digests) in a users-file ``record``,
    with a new ``factor_epoch``; returns the secret and the codes, to be shown once. A
    school's users file and a district's hold a second factor alike."""
    secret, codes = new_secret(), new_recovery_codes()
    record["totp"] = {
        "secret": secret,
        "recovery": recovery_digests(name, codes),
        "enrolled_at": now_text(),
    }
    record["factor_epoch"] = secrets.token_hex(8)
    return secret, codes


def enrol(site_dir: Path | str, name: str) -> Enrolled:
    """Give ``name`` a new TOTP secret and new recovery codes (the old ones stop working)."""
    layout, inventory = open_site(site_dir)
    path = layout.hub.users
    with locked(layout):
        users = load_users(path)
        secret, codes = set_new_totp(_existing(users, name, path), name)
        save_users(path, users, hub_owner(inventory))
    return Enrolled(
        user=name,
        secret=secret,
        uri=otpauth_uri(secret, name, inventory.site),
        recovery_codes=tuple(codes),
    )


def clear(site_dir: Path | str, name: str) -> None:
    """Remove the user's second factor; they set up a new one at their next console login."""
    layout, inventory = open_site(site_dir)
    path = layout.hub.users
    with locked(layout):
        users = load_users(path)
        record = _existing(users, name, path)
        record.pop("totp", None)
        record["factor_epoch"] = secrets.token_hex(8)
        save_users(path, users, hub_owner(inventory))


def enrolled(site_dir: Path | str, name: str) -> bool:
    """Whether IT set up a second factor for ``name`` (console enrolments are the hub's)."""
    layout, _ = open_site(site_dir)
    return _existing(load_users(layout.hub.users), name, layout.hub.users).get("totp") is not None


def _existing(users: dict[str, dict[str, Any]], name: str, path: Path) -> dict[str, Any]:
    if name not in users:
        raise UserError(f"no user {name!r} in {path}; `user add` creates one")
    return users[name]
