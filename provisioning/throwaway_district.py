"""A complete, disposable district on loopback for the district demo and its benchmark.

It goes through the production steps: ``init_district`` (CA, signing key, one config per
NATS node), then per school a throw-away site (provisioning.throwaway) and ``add_school``,
its bridge files installed under the school's broker directory as IT would copy them,
``include_dir`` in its Mosquitto config and the ``district`` block in its ``hub.json``.
Only the addresses are loopback and the schools and rooms are generated. Nothing is
started here: the caller runs the nodes (``nats-server -c``), the brokers, the hubs.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import random
import shutil
import socket
from dataclasses import dataclass
from pathlib import Path

from provisioning.broker import BrokerConfig
from provisioning.district import DistrictLayout, add_school, init_district
from provisioning.district_config import NatsNode
from provisioning.district_users import add_user, enrol_totp
from provisioning.fsutil import write_json
from provisioning.throwaway import ThrowawaySite, create_throwaway_site

DISTRICT = "metro"
NODE_COUNT = 3
ADMIN_USER = "district-admin"
SCHOOL_NAMES = (
    "lincoln", "adams", "jefferson", "madison", "monroe", "jackson", "grant", "hayes",
    "garfield", "arthur",
)  # fmt: skip
"""The first schools' names; a larger district numbers the rest (``school11``, ...)."""


@dataclass(frozen=True)
class ThrowawaySchool:
    site: ThrowawaySite
    broker: BrokerConfig
    """The school's Mosquitto config, with ``include_dir`` of its installed bridge."""
    bridge_dir: Path
    """Where the bridge files are installed (``<site>/broker/district``)."""

    @property
    def name(self) -> str:
        return self.site.site

    @property
    def hub_port(self) -> int:
        port: int = json.loads(self.site.hub.config.read_text(encoding="utf-8"))["http"]["port"]
        return port


@dataclass(frozen=True)
class ThrowawayDistrict:
    layout: DistrictLayout
    district: str
    nodes: tuple[NatsNode, ...]
    schools: tuple[ThrowawaySchool, ...]
    admin_user: str
    admin_password: str
    """The district console's admin, with a password generated here (no defaults)."""
    admin_totp_secret: str
    """The admin's second factor, enrolled here: a district admin needs one to log in."""


def school_names(count: int) -> list[str]:
    return [SCHOOL_NAMES[i] if i < len(SCHOOL_NAMES) else f"school{i + 1}" for i in range(count)]


def distinct_free_ports(count: int) -> list[int]:
    """``count`` different free ports on loopback, all bound at once so none is handed out
    twice, and below the kernel's ephemeral range when it leaves room: a district starts
    minutes after it is provisioned, and meanwhile its own outgoing connections (bridges,
    rooms) take ephemeral ports, one of which was once a hub's port ("address in use")."""
    low = _ephemeral_low()
    candidates = random.sample(range(10_000, low), min(count * 4, low - 10_000))
    with contextlib.ExitStack() as stack:
        ports: list[int] = []
        for port in [*candidates, *([0] * count)]:  # then any port, if those are taken
            if len(ports) == count:
                break
            sock = stack.enter_context(socket.socket(socket.AF_INET, socket.SOCK_STREAM))
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            ports.append(int(sock.getsockname()[1]))
        return ports


def _ephemeral_low() -> int:
    try:
        text = Path("/proc/sys/net/ipv4/ip_local_port_range").read_text(encoding="ascii")
        return max(10_000 + 1, int(text.split()[0]))
    except (OSError, ValueError, IndexError):
        return 32_768


def loopback_nodes(count: int = NODE_COUNT, *, ports: list[int] | None = None) -> list[NatsNode]:
    """``count`` NATS nodes ``n1``... on loopback, every port a different free one (taken
    from ``ports`` when given: all of a district's ports must come from one call)."""
    ports = distinct_free_ports(3 * count) if ports is None else ports
    return [
        NatsNode(
            name=f"n{i}",
            host="127.0.0.1",
            client_port=ports.pop(),
            cluster_port=ports.pop(),
            mqtt_port=ports.pop(),
        )
        for i in range(1, count + 1)
    ]


def create_throwaway_district(
    root: Path,
    *,
    schools: int,
    rooms: int,
    summary_s: float = 10.0,
    heartbeat_s: float = 5.0,
    nodes: int = NODE_COUNT,
) -> ThrowawayDistrict:
    """A district in ``root/district`` with ``nodes`` NATS nodes and ``schools`` schools of
    ``rooms`` rooms each in ``root/schools/<site>``, every port a free loopback one."""
    ports = distinct_free_ports(3 * nodes + 2 * schools)
    cluster = loopback_nodes(nodes, ports=ports)
    layout = init_district(root / "district", DISTRICT, cluster)
    password = add_user(layout.root, ADMIN_USER, "district-admin")
    factor = enrol_totp(layout.root, ADMIN_USER)
    made = [
        _school(
            root / "schools" / name,
            layout,
            name,
            rooms=rooms,
            broker_port=ports.pop(),
            http_port=ports.pop(),
            summary_s=summary_s,
            heartbeat_s=heartbeat_s,
        )
        for name in school_names(schools)
    ]
    return ThrowawayDistrict(
        layout, DISTRICT, tuple(cluster), tuple(made), ADMIN_USER, password, factor.secret
    )


def _school(
    site_dir: Path,
    layout: DistrictLayout,
    name: str,
    *,
    rooms: int,
    broker_port: int,
    http_port: int,
    summary_s: float,
    heartbeat_s: float,
) -> ThrowawaySchool:
    site = create_throwaway_site(
        site_dir,
        rooms=rooms,
        broker_port=broker_port,
        http_port=http_port,
        site_id=name,
        heartbeat_s=heartbeat_s,
    )
    installed = site.layout.broker.dir / "district"
    shutil.copytree(add_school(layout.root, name, installed_dir=installed).dir, installed)
    # The hub's copy of the district's public key, beside hub.json (docs/district.md).
    public_key = site.hub.dir / "district.pub"
    shutil.copyfile(installed / "district.pub", public_key)
    config = json.loads(site.hub.config.read_text(encoding="utf-8"))
    config["district"] = {"id": DISTRICT, "public_key": str(public_key), "summary_s": summary_s}
    write_json(site.hub.config, config)
    return ThrowawaySchool(
        site=site,
        broker=dataclasses.replace(site.broker, include_dir=installed),
        bridge_dir=installed,
    )
