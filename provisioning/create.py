"""Creating a site: CA, broker and hub identities, signing key, broker config, first admin.

A site is built in a hidden sibling directory and renamed into place at the end, so a
failure half-way leaves nothing behind and a forced re-init never leaves a mix of two CAs.
"""

from __future__ import annotations

import ipaddress
import re
import secrets
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from provisioning.access import HUB_USERNAME, write_crl, write_derived
from provisioning.broker import BrokerConfig, BrokerTls
from provisioning.errors import ProvisioningError, SiteExistsError
from provisioning.fsutil import (
    PRIVATE_DIR,
    make_private_dir,
    write_json,
    write_private,
    write_public,
)
from provisioning.pki import (
    SERVER_DAYS,
    Authority,
    cert_pem,
    create_authority,
    issue,
    key_pem,
    new_signing_key,
    public_key_pem,
)
from provisioning.profiles import write_examples
from provisioning.site import (
    SiteLayout,
    SiteRecord,
    broker_owner,
    hub_owner,
    open_site,
    save_inventory,
    valid_id,
)
from provisioning.users import create_first_admin

DEFAULT_PORT = 8883
LOOPBACK_HOSTS = ("localhost", "127.0.0.1")
_DNS = re.compile(r"^(?=.{1,253}$)([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.?)+$")


@dataclass(frozen=True)
class InitResult:
    """What ``init`` made; ``admin_password`` is shown once and stored only as a hash."""

    layout: SiteLayout
    admin_user: str
    admin_password: str


def _check_host(host: str, what: str = "hub host") -> str:
    """An IP address or DNS name; anything else would break the config or the certificate."""
    try:
        ipaddress.ip_address(host)
    except ValueError:
        if not _DNS.match(host):
            raise ProvisioningError(
                f"{what} {host!r} is neither an IP address nor a DNS name; give the names "
                "and addresses devices use to reach the hub"
            ) from None
    return host


def broker_config(
    site_dir: Path | str,
    *,
    host: str | None = None,
    port: int | None = None,
    data_dir: Path | None = None,
    user: str | None = None,
    log_dest: str = "stderr",
) -> BrokerConfig:
    """The site's Mosquitto config; tests and the demo override host, port and data dir.

    Always TLS with client certificates, the CN as username, the site ACL and CRL.
    """
    layout, inventory = open_site(site_dir)
    return _broker_config(
        layout, inventory, host=host, port=port, data_dir=data_dir, user=user, log_dest=log_dest
    )


def _broker_config(
    layout: SiteLayout,
    inventory: SiteRecord,
    *,
    host: str | None = None,
    port: int | None = None,
    data_dir: Path | None = None,
    user: str | None = None,
    log_dest: str = "stderr",
) -> BrokerConfig:
    files = layout.broker
    tls = BrokerTls(cafile=files.ca, certfile=files.cert, keyfile=files.key, crlfile=files.crl)
    return BrokerConfig(
        host=host or inventory.broker_bind,
        port=port or inventory.broker_port,
        data_dir=data_dir or files.data,
        tls=tls,
        aclfile=files.acl,
        user=user or inventory.broker_user,
        log_dest=log_dest,
    )


def hub_broker_host(inventory: SiteRecord) -> str:
    """The address the hub (on the broker's machine) dials: loopback unless bound elsewhere."""
    bind = inventory.broker_bind
    return "127.0.0.1" if bind in ("0.0.0.0", "::", "127.0.0.1", "localhost") else bind  # noqa: S104


def _write_hub(work: SiteLayout, inventory: SiteRecord, ca: Authority, admin: str) -> str:
    """The hub's TLS identity (CN "hub"), signing key pair, config and first admin."""
    files, owner = work.hub, hub_owner(inventory)
    make_private_dir(files.dir, owner)
    hub = issue(ca, common_name=HUB_USERNAME, site=inventory.site)
    signing = new_signing_key()
    write_public(files.ca, cert_pem(ca.cert), owner)
    write_public(files.cert, cert_pem(hub.cert), owner)
    write_private(files.key, key_pem(hub.key), owner)
    write_private(files.signing_key, key_pem(signing), owner)
    write_public(files.signing_pub, public_key_pem(signing), owner)
    tls = {"ca": files.ca.name, "cert": files.cert.name, "key": files.key.name}
    config = {
        "format": 1,
        "site": inventory.site,
        "broker": {
            "host": hub_broker_host(inventory),
            "port": inventory.broker_port,
            "tls": tls,
        },
        "signing_key": files.signing_key.name,
        "signing_pub": files.signing_pub.name,
        "inventory": files.inventory.name,
        "users": files.users.name,
    }
    write_json(files.config, config, owner=owner)
    return create_first_admin(files.users, admin, owner)


def write_broker_identity(layout: SiteLayout, inventory: SiteRecord, ca: Authority) -> None:
    """The broker's server certificate: every hub host plus loopback as SANs."""
    hosts = [*inventory.hub_hosts, *LOOPBACK_HOSTS]
    server = issue(
        ca, common_name=hosts[0], site=inventory.site, server_hosts=hosts, days=SERVER_DAYS
    )
    owner = broker_owner(inventory)
    write_public(layout.broker.cert, cert_pem(server.cert), owner)
    write_private(layout.broker.key, key_pem(server.key), owner)


def _write_broker(work: SiteLayout, final: SiteLayout, inv: SiteRecord, ca: Authority) -> None:
    files, owner = work.broker, broker_owner(inv)
    make_private_dir(files.dir, owner)
    make_private_dir(files.data, owner)
    write_public(files.ca, cert_pem(ca.cert), owner)
    write_broker_identity(work, inv, ca)
    write_crl(work, inv, ca)
    write_public(files.conf, _broker_config(final, inv).render().encode(), owner)


def _check_port(port: int) -> int:
    if not 0 < port < 65536:
        raise ProvisioningError(f"broker port {port} is not a TCP port (1-65535)")
    return port


def _refuse_existing(site_dir: Path, force: bool) -> None:
    if force or not site_dir.exists():
        return
    if not site_dir.is_dir() or any(site_dir.iterdir()):
        raise SiteExistsError(site_dir)


def init(
    site_dir: Path | str,
    site_id: str,
    hub_hosts: Sequence[str],
    force: bool = False,
    *,
    broker_port: int = DEFAULT_PORT,
    broker_bind: str = "0.0.0.0",  # noqa: S104 - the school's devices connect over the LAN
    broker_user: str | None = "mosquitto",
    hub_user: str | None = None,
    admin_user: str = "admin",
    buildings: Sequence[str] = (),
) -> InitResult:
    """Create a site directory (see ``provisioning.site`` for its layout).

    Refuses a non-empty ``site_dir`` unless ``force``: a new site means a new CA, and every
    device issued under the old one stops connecting. Run as root, ``broker/`` is handed to
    ``broker_user`` and ``hub/`` to ``hub_user`` (the users the services run as), and the
    site root, and its parent if created here, are made traversable (0711, not listable) so
    the services can reach their files; otherwise every directory is 0700.
    """
    final = SiteLayout(Path(site_dir).absolute())
    inventory = SiteRecord(
        site=valid_id("site", site_id),
        hub_hosts=[_check_host(h) for h in hub_hosts] or list(LOOPBACK_HOSTS[1:]),
        broker_port=_check_port(broker_port),
        broker_bind=_check_host(broker_bind, "broker bind address"),
        broker_user=broker_user,
        hub_user=hub_user,
        buildings=sorted({valid_id("building", b) for b in buildings}),
    )
    _refuse_existing(final.root, force)
    make_private_dir(final.root.parent, mode=_root_mode(inventory))
    work = SiteLayout(final.root.with_name(f".{final.root.name}.init-{secrets.token_hex(4)}"))
    try:
        password = _build(work, final, inventory, admin_user)
        _swap_into_place(work.root, final.root)
    except BaseException:
        shutil.rmtree(work.root, ignore_errors=True)
        raise
    return InitResult(layout=final, admin_user=admin_user, admin_password=password)


def _build(work: SiteLayout, final: SiteLayout, inventory: SiteRecord, admin: str) -> str:
    make_private_dir(work.root, mode=_root_mode(inventory))
    make_private_dir(work.ca_dir)
    make_private_dir(work.devices_dir)
    make_private_dir(work.bundles_dir)
    write_examples(work.root)
    ca = create_authority(inventory.site)
    write_public(work.ca_cert, cert_pem(ca.cert))
    write_private(work.ca_key, key_pem(ca.key))
    _write_broker(work, final, inventory, ca)
    password = _write_hub(work, inventory, ca, admin)
    write_derived(work, inventory)
    save_inventory(work, inventory)
    return password


def _root_mode(inventory: SiteRecord) -> int:
    """0711 when a service's own user must reach its directory inside, else 0700."""
    handed_over = broker_owner(inventory) or hub_owner(inventory)
    return 0o711 if handed_over else PRIVATE_DIR


def _swap_into_place(built: Path, target: Path) -> None:
    """Rename the finished site over ``target``; an old site is removed only afterwards."""
    old = None
    if target.exists():
        old = target.with_name(f".{target.name}.old-{secrets.token_hex(4)}")
        target.rename(old)
    built.rename(target)
    if old is not None and old.is_dir():
        shutil.rmtree(old)
    elif old is not None:
        old.unlink()
