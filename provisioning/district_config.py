"""The district broker's and the school bridges' config text (provisioning.district).

The district broker is a NATS cluster with JetStream and its MQTT listener; each school's
Mosquitto bridges to it. The settings that matter, each met in the tests
(tests/district/test_bridge.py; docs/district.md):

- ``server_name`` on every node and a ``cluster`` name: JetStream (which MQTT needs for its
  sessions and retained messages) refuses to run clustered without them.
- ``mqtt.stream_replicas``: the retained messages (a school's directives in force, its
  summary) and QoS 1 sessions live in JetStream streams; with one replica they die with
  the node that holds them.
- ``verify_and_map``: a client is the distinguished name of its certificate from the
  district CA ("CN=school-lincoln,O=Roomcast district metro"), and a name the
  authorization block does not list may not connect at all: removing a school's entry is
  its revocation.
- Permissions are on NATS subjects (``roomcast.v1.<site>.>``), not MQTT topics. An MQTT
  ``a/#`` subscription is two NATS subscriptions, ``a`` and ``a.>``, and both must be
  allowed; a QoS 1 subscription is delivered through a JetStream consumer on
  ``$MQTT.sub.<id>``, which the client must be allowed to subscribe to.
- Mosquitto's bridge must not ``try_private`` (a bridge-only protocol bit NATS does not
  know), and needs a client id of its own per school.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from protocol.topics import DistrictChannel, InvalidName, Topics, check_level

SERVICE_CN = "district"
"""The district service's own MQTT identity."""


class GroupError(ValueError):
    """A named group in ``district.json`` that is not right; the message names its key."""


def check_group_name(name: object) -> str:
    if not isinstance(name, str):
        raise GroupError(f"groups: a group name must be text, not {name!r}")
    try:
        return check_level("group", name)
    except InvalidName as error:
        raise GroupError(f"groups: bad group name: {error}") from None


def check_group(name: str, sites: object, schools: Collection[str]) -> tuple[str, ...]:
    """One group's schools: a non-empty list of this district's schools, each once."""
    key = f"groups.{check_group_name(name)}"
    if not isinstance(sites, list | tuple) or not all(isinstance(s, str) for s in sites):
        raise GroupError(f"{key}: must be a list of school ids, not {sites!r}")
    if not sites:
        raise GroupError(f"{key}: empty group; give it a school or remove the group")
    unknown = [s for s in sites if s not in schools]
    if unknown:
        known = ", ".join(sorted(schools)) or "none yet"
        raise GroupError(f"{key}: unknown school {unknown[0]!r} (schools: {known})")
    return tuple(dict.fromkeys(sites))


def check_groups(raw: object, schools: Collection[str]) -> dict[str, tuple[str, ...]]:
    """``district.json``'s ``groups``: name -> schools of this district (missing: none)."""
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise GroupError(f"groups: must be an object of group name -> school ids, not {raw!r}")
    return {check_group_name(n): check_group(n, sites, schools) for n, sites in raw.items()}


@dataclass(frozen=True, kw_only=True)
class NatsNode:
    """One node of the district cluster: where it listens."""

    name: str
    host: str
    client_port: int
    cluster_port: int
    mqtt_port: int

    def as_dict(self) -> dict[str, object]:
        return {
            "name": self.name,
            "host": self.host,
            "client_port": self.client_port,
            "cluster_port": self.cluster_port,
            "mqtt_port": self.mqtt_port,
        }


@dataclass(frozen=True, kw_only=True)
class NodeFiles:
    """A node's directory: its config, its TLS identity, its JetStream store."""

    dir: Path

    @property
    def conf(self) -> Path:
        return self.dir / "nats.conf"

    @property
    def cert(self) -> Path:
        return self.dir / "server.crt"

    @property
    def key(self) -> Path:
        return self.dir / "server.key"

    @property
    def ca(self) -> Path:
        return self.dir / "ca.crt"

    @property
    def store(self) -> Path:
        return self.dir / "jetstream"


def distinguished_name(common_name: str, district: str) -> str:
    """The name NATS maps a certificate to (RFC 2253 order, as it prints it)."""
    return f"CN={common_name},O=Roomcast district {district}"


def school_cn(site: str) -> str:
    return f"school-{site}"


def subject(topic: str) -> str:
    """An MQTT topic filter as the NATS subject its MQTT listener uses."""
    return topic.replace("/", ".").replace("+", "*").replace("#", ">")


def _subscribable(topic_filter: str) -> list[str]:
    """The NATS subjects one MQTT subscription needs: ``a/#`` is ``a`` and ``a.>``."""
    if topic_filter.endswith("/#"):
        return [subject(topic_filter[:-2]), subject(topic_filter)]
    return [subject(topic_filter)]


DELIVERY = "$MQTT.sub.>"
"""Where NATS delivers a QoS 1 subscription (a JetStream consumer's subject)."""


def school_permissions(site: str) -> dict[str, object]:
    """A school's bridge may publish only what crosses out of that school, and receive only
    its own district requests."""
    topics = Topics(site)
    return {
        "publish": {"allow": [subject(t) for t in topics.bridged_out]},
        "subscribe": {"allow": [*_subscribable(topics.district_requests), DELIVERY]},
    }


def service_permissions() -> dict[str, object]:
    """The district service reads every school's bridged topics and writes requests."""
    every = Topics("placeholder")  # the site level becomes a wildcard below
    reads = [f for t in every.bridged_out for f in _subscribable(t)]
    writes = [subject(every.district_requests)]
    return {
        "publish": {"allow": [_any_site(s) for s in writes]},
        "subscribe": {"allow": [*(_any_site(s) for s in reads), DELIVERY]},
    }


def _any_site(nats_subject: str) -> str:
    return nats_subject.replace(".placeholder.", ".*.", 1)


def render_node(
    node: NatsNode,
    files: NodeFiles,
    *,
    district: str,
    nodes: Sequence[NatsNode],
    schools: Iterable[str],
) -> str:
    """One node's ``nats.conf``: TLS everywhere, JetStream, MQTT, who may do what."""
    tls = f'cert_file: "{files.cert}", key_file: "{files.key}", ca_file: "{files.ca}"'
    routes = ", ".join(f'"nats-route://{n.host}:{n.cluster_port}"' for n in nodes)
    users = [
        {"user": distinguished_name(SERVICE_CN, district), "permissions": service_permissions()}
    ]
    users += [
        {
            "user": distinguished_name(school_cn(site), district),
            "permissions": school_permissions(site),
        }
        for site in sorted(schools)
    ]
    listed = ",\n    ".join(
        f"{{ user: {json.dumps(u['user'])}, permissions: {json.dumps(u['permissions'])} }}"
        for u in users
    )
    return f"""# Generated by roomcast provision district; edits are overwritten.
server_name: {json.dumps(node.name)}
listen: "{node.host}:{node.client_port}"
tls {{ {tls}, verify_and_map: true }}
jetstream {{ store_dir: "{files.store}" }}
cluster {{
  name: {json.dumps(f"roomcast-{district}")}
  listen: "{node.host}:{node.cluster_port}"
  routes: [{routes}]
  tls {{ {tls}, verify: true }}
}}
mqtt {{
  listen: "{node.host}:{node.mqtt_port}"
  stream_replicas: {min(3, len(nodes))}
  tls {{ {tls}, verify_and_map: true }}
}}
authorization {{
  users: [
    {listed}
  ]
}}
"""


@dataclass(frozen=True, kw_only=True)
class BridgeFiles:
    """Where a school's broker finds its bridge identity (as installed at the school)."""

    dir: Path

    @property
    def conf(self) -> Path:
        return self.dir / "bridge.conf"

    @property
    def ca(self) -> Path:
        return self.dir / "district-ca.crt"

    @property
    def cert(self) -> Path:
        return self.dir / "bridge.crt"

    @property
    def key(self) -> Path:
        return self.dir / "bridge.key"

    @property
    def district_pub(self) -> Path:
        """The district's request-signing public key, for the school hub."""
        return self.dir / "district.pub"


def render_bridge(site: str, nodes: Sequence[NatsNode], installed: BridgeFiles) -> str:
    """The Mosquitto ``connection`` section a school's broker appends to its config."""
    topics = Topics(site)
    lines = [
        "# Generated by roomcast provision district add-school; edits are overwritten.",
        "connection roomcast-district",
        "address " + " ".join(f"{n.host}:{n.mqtt_port}" for n in nodes),
        "round_robin false",  # the first node that answers, then back to it when it returns
        "try_private false",  # NATS's MQTT listener does not know the bridge protocol bit
        "cleansession false",
        "bridge_protocol_version mqttv311",
        f"remote_clientid roomcast-bridge-{site}",
        f"local_clientid roomcast-bridge-local-{site}",
        f"bridge_cafile {installed.ca}",
        f"bridge_certfile {installed.cert}",
        f"bridge_keyfile {installed.key}",
        "bridge_insecure false",
        "keepalive_interval 15",
        "restart_timeout 1 15",
        # "1" when up, "0" as its will on the district side: the district sees a cut link
        # within the keepalive, without waiting for a summary to go stale.
        "notifications true",
        "notifications_local_only false",
        f"notification_topic {topics.district(DistrictChannel.BRIDGE)}",
    ]
    lines += [f"topic {t} out 1" for t in topics.bridged_out]
    lines += [f"topic {topics.district_requests} in 1"]
    return "\n".join(lines) + "\n"
