"""``roomcast provision district``: a district CA, its NATS cluster, and each school's bridge.

Layout of a district directory (every directory 0700, every key 0600)::

    <district>/district.json        district id, the NATS nodes, the schools and when added,
                                     the named groups
    <district>/.district.lock        flock'd by every edit of district.json (re-read under it)
    <district>/ca/ca.crt, ca.key     the district CA (signs nodes, bridges, the service)
    <district>/signing.key, .pub     the district's Ed25519 key for district requests
    <district>/service/              the district service's MQTT identity (CN=district)
    <district>/nats/<node>/          one node's nats.conf, server.crt/.key, ca.crt, jetstream/
    <district>/schools/<site>/       what a school installs: bridge.conf, district-ca.crt,
                                     bridge.crt/.key, district.pub

A school is known to the district by its site id; its bridge's certificate is named
``school-<site>`` and may only publish what crosses out of that school (district_config).
Removing a school takes it out of every node's authorization and deletes its files; a
restart of each node, one at a time, then refuses its bridge (not a SIGHUP reload:
nats-server 2.9 can panic reloading authorization, nats-io/nats-server#7596).
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from provisioning.district_config import (
    SERVICE_CN,
    BridgeFiles,
    GroupError,
    NatsNode,
    NodeFiles,
    check_group,
    check_groups,
    render_bridge,
    render_node,
    school_cn,
)
from provisioning.errors import ProvisioningError
from provisioning.fsutil import make_private_dir, write_json, write_private, write_public
from provisioning.pki import (
    cert_pem,
    create_authority,
    issue,
    key_pem,
    load_authority,
    new_signing_key,
    public_key_pem,
)
from provisioning.site import valid_id

FORMAT = 1
LOOPBACK = ("127.0.0.1", "localhost")
LOCK_NAME = ".district.lock"
"""Held (flock) by every edit of district.json: IT's commands and the console's groups
page, each re-reading the file under it, so no edit is lost to another made meanwhile."""


class DistrictError(ProvisioningError):
    """A district directory that is missing, damaged, or asked something impossible."""


@dataclass(frozen=True)
class DistrictLayout:
    root: Path

    @property
    def record(self) -> Path:
        return self.root / "district.json"

    @property
    def lock(self) -> Path:
        return self.root / LOCK_NAME

    @property
    def ca_cert(self) -> Path:
        return self.root / "ca" / "ca.crt"

    @property
    def ca_key(self) -> Path:
        return self.root / "ca" / "ca.key"

    @property
    def signing_key(self) -> Path:
        return self.root / "signing.key"

    @property
    def signing_pub(self) -> Path:
        return self.root / "signing.pub"

    @property
    def service(self) -> BridgeFiles:
        """The district service's identity has the same three files as a bridge."""
        return BridgeFiles(dir=self.root / "service")

    def node(self, name: str) -> NodeFiles:
        return NodeFiles(dir=self.root / "nats" / name)

    def school(self, site: str) -> BridgeFiles:
        return BridgeFiles(dir=self.root / "schools" / site)


CONSOLE_KEYS = ("totp_required_for", "allow_directives_without_second_factor")


@dataclass
class DistrictRecord:
    district: str
    nodes: list[NatsNode]
    schools: dict[str, str]
    """site id -> when it was added (ISO 8601)."""
    groups: dict[str, tuple[str, ...]] = field(default_factory=dict)
    """A named group -> its schools (district directives to a group, district_config)."""
    console: dict[str, Any] = field(default_factory=dict)
    """The console's second-factor settings, as IT wrote them (``totp_required_for``,
    ``allow_directives_without_second_factor``): kept verbatim, checked by the service."""

    def to_dict(self) -> dict[str, Any]:
        return self.console | {
            "format": FORMAT,
            "district": self.district,
            "nodes": [n.as_dict() for n in self.nodes],
            "schools": dict(sorted(self.schools.items())),
            "groups": {name: list(sites) for name, sites in sorted(self.groups.items())},
        }


def open_district(root: Path | str) -> tuple[DistrictLayout, DistrictRecord]:
    layout = DistrictLayout(Path(root))
    try:
        data = json.loads(layout.record.read_text(encoding="utf-8"))
        record = DistrictRecord(
            district=str(data["district"]),
            nodes=[NatsNode(**n) for n in data["nodes"]],
            schools={str(k): str(v) for k, v in data["schools"].items()},
        )
        record.groups = check_groups(data.get("groups"), record.schools)
        record.console = {key: data[key] for key in CONSOLE_KEYS if key in data}
    except GroupError as error:
        raise DistrictError(
            f"{layout.record}: {error}; fix it with `roomcast provision district group ...`"
        ) from None
    except FileNotFoundError:
        raise DistrictError(
            f"{layout.record}: no district here; create one with "
            "`roomcast provision district init --district-dir DIR --district ID`"
        ) from None
    except (OSError, ValueError, TypeError, KeyError) as error:
        raise DistrictError(
            f"{layout.record}: damaged ({error!r}); restore it from backup"
        ) from None
    return layout, record


@contextmanager
def _locked(layout: DistrictLayout) -> Iterator[None]:
    fd = os.open(layout.lock, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # releases the lock


@contextmanager
def editing(root: Path | str) -> Iterator[tuple[DistrictLayout, DistrictRecord]]:
    """district.json read under the district's lock, for an edit that writes it back
    before leaving the block: two edits at once (IT adding a school while an admin saves
    a group in the console) then run one after the other, each on the other's result."""
    layout, _ = open_district(root)  # no district here: says so before making a lock file
    with _locked(layout):
        yield open_district(root)


def init_district(root: Path | str, district: str, nodes: Sequence[NatsNode]) -> DistrictLayout:
    """A new district: CA, request-signing key, service identity, and one config per node."""
    valid_id("district", district)
    if len(nodes) not in (1, 3, 5):
        raise DistrictError(
            f"{len(nodes)} NATS nodes: JetStream needs a majority to keep working, so a "
            "district runs 3 (or 5) nodes, or 1 for a small one"
        )
    if len({n.name for n in nodes}) != len(nodes):
        raise DistrictError("two NATS nodes with the same name; each needs its own server_name")
    layout = DistrictLayout(Path(root))
    make_private_dir(layout.root)
    with _locked(layout):
        _init(layout, district, nodes)
    return layout


def _init(layout: DistrictLayout, district: str, nodes: Sequence[NatsNode]) -> None:
    if layout.record.exists():
        raise DistrictError(f"{layout.record} exists: this directory is a district already")
    make_private_dir(layout.ca_cert.parent)
    ca = create_authority(f"district {district}")
    write_public(layout.ca_cert, cert_pem(ca.cert))
    write_private(layout.ca_key, key_pem(ca.key))
    signing = new_signing_key()
    write_private(layout.signing_key, key_pem(signing))
    write_public(layout.signing_pub, public_key_pem(signing))
    service = layout.service
    make_private_dir(service.dir)
    identity = issue(ca, common_name=SERVICE_CN, site=f"district {district}")
    write_public(service.ca, cert_pem(ca.cert))
    write_public(service.cert, cert_pem(identity.cert))
    write_private(service.key, key_pem(identity.key))
    record = DistrictRecord(district=district, nodes=list(nodes), schools={})
    for node in nodes:
        files = layout.node(node.name)
        make_private_dir(files.dir)
        make_private_dir(files.store)
        hosts = [node.host, *(h for h in LOOPBACK if h != node.host)]
        server = issue(
            ca, common_name=node.name, site=f"district {district}", server_hosts=hosts,
            days=825, client_too=True,
        )  # fmt: skip
        write_public(files.ca, cert_pem(ca.cert))
        write_public(files.cert, cert_pem(server.cert))
        write_private(files.key, key_pem(server.key))
    _commit(layout, record)


def add_school(root: Path | str, site: str, *, installed_dir: Path | None = None) -> BridgeFiles:
    """A school's bridge identity and config; every node's authorization gains it.

    ``installed_dir`` is where the school's broker will find these files (default: this
    directory itself, for a district and school on one machine, as in the tests)."""
    valid_id("site", site)
    with editing(root) as (layout, record):
        return _add_school(layout, record, site, installed_dir)


def _add_school(
    layout: DistrictLayout, record: DistrictRecord, site: str, installed_dir: Path | None
) -> BridgeFiles:
    if site in record.schools:
        raise DistrictError(
            f"school {site!r} is in the district already (added {record.schools[site]})"
        )
    ca = load_authority(layout.ca_cert, layout.ca_key)
    files = layout.school(site)
    make_private_dir(files.dir.parent)
    make_private_dir(files.dir)
    bridge = issue(ca, common_name=school_cn(site), site=f"district {record.district}")
    write_public(files.ca, cert_pem(ca.cert))
    write_public(files.cert, cert_pem(bridge.cert))
    write_private(files.key, key_pem(bridge.key))
    shutil.copyfile(layout.signing_pub, files.district_pub)
    installed = BridgeFiles(dir=installed_dir or files.dir)
    write_public(files.conf, render_bridge(site, record.nodes, installed).encode())
    record.schools[site] = datetime.now(UTC).isoformat(timespec="seconds")
    _commit(layout, record)
    return files


def remove_school(root: Path | str, site: str) -> list[str]:
    """Take a school out: no node lets its bridge in once it restarts. It leaves every
    group it was in (a group left empty goes too); returns what happened to the groups."""
    with editing(root) as (layout, record):
        return _remove_school(layout, record, site)


def _remove_school(layout: DistrictLayout, record: DistrictRecord, site: str) -> list[str]:
    if site not in record.schools:
        known = ", ".join(sorted(record.schools)) or "none"
        raise DistrictError(f"no school {site!r} in this district (schools: {known})")
    del record.schools[site]
    said = []
    for name, sites in sorted(record.groups.items()):
        if site in sites:
            left = tuple(s for s in sites if s != site)
            if left:
                record.groups[name] = left
                said.append(f"removed from group {name!r} (now: {', '.join(left)})")
            else:
                del record.groups[name]
                said.append(f"group {name!r} had only this school and is removed")
    _commit(layout, record)
    shutil.rmtree(layout.school(site).dir, ignore_errors=True)
    return said


def set_group(root: Path | str, name: str, sites: Sequence[str]) -> tuple[str, ...]:
    """Make or replace a named group of this district's schools. Only district.json is
    written (a group is nothing to the NATS nodes), so the console's groups page needs
    no right to any node's config."""
    with editing(root) as (layout, record):
        try:
            record.groups[name] = check_group(name, list(sites), record.schools)
        except GroupError as error:
            raise DistrictError(f"{layout.record}: {error}") from None
        write_json(layout.record, record.to_dict())
        return record.groups[name]


def remove_group(root: Path | str, name: str) -> None:
    with editing(root) as (layout, record):
        if name not in record.groups:
            known = ", ".join(sorted(record.groups)) or "none"
            raise DistrictError(f"no group {name!r} in this district (groups: {known})")
        del record.groups[name]
        write_json(layout.record, record.to_dict())


def _commit(layout: DistrictLayout, record: DistrictRecord) -> None:
    """Every node's config from the record, then the record: a crash is re-runnable."""
    for node in record.nodes:
        text = render_node(
            node,
            layout.node(node.name),
            district=record.district,
            nodes=record.nodes,
            schools=record.schools,
        )
        write_public(layout.node(node.name).conf, text.encode())
    write_json(layout.record, record.to_dict())
