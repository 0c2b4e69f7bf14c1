"""``provision district``: the CA, the NATS nodes' configs, and what each school may do."""

from __future__ import annotations

from pathlib import Path

import pytest

from protocol.topics import Topics
from provisioning.district import (
    DistrictError,
    add_school,
    init_district,
    open_district,
    remove_school,
)
from provisioning.district_config import NatsNode, school_permissions, service_permissions, subject

NODES = [
    NatsNode(name=f"n{i}", host=f"10.9.0.{i}", client_port=4222, cluster_port=6222, mqtt_port=8883)
    for i in (1, 2, 3)
]


def test_only_what_the_district_needs_crosses_a_schools_bridge(tmp_path: Path) -> None:
    layout = init_district(tmp_path / "d", "metro", NODES)
    bridge = add_school(
        layout.root, "lincoln", installed_dir=Path("/etc/roomcast/site/broker/district")
    )
    text = bridge.conf.read_text(encoding="utf-8")
    topics = [line.split()[1:] for line in text.splitlines() if line.startswith("topic ")]
    assert topics == [
        ["roomcast/v1/lincoln/hub/state", "out", "1"],
        ["roomcast/v1/lincoln/directive/#", "out", "1"],
        ["roomcast/v1/lincoln/district/#", "out", "1"],
        ["roomcast/v1/lincoln/district-request/#", "in", "1"],
    ]
    assert "device" not in text  # heartbeats and presses stay in the school
    assert (
        "try_private false" in text and "address 10.9.0.1:8883 10.9.0.2:8883 10.9.0.3:8883" in text
    )
    assert "bridge_cafile /etc/roomcast/site/broker/district/district-ca.crt" in text
    assert (bridge.key.stat().st_mode & 0o777) == 0o600


def test_a_school_may_publish_only_in_its_own_namespace() -> None:
    allowed = school_permissions("lincoln")
    assert allowed["publish"] == {
        "allow": [
            "roomcast.v1.lincoln.hub.state",
            "roomcast.v1.lincoln.directive.>",
            "roomcast.v1.lincoln.district.>",
        ]
    }
    # An MQTT "a/#" subscription is the NATS subjects "a" and "a.>"; QoS 1 needs $MQTT.sub.
    assert allowed["subscribe"] == {
        "allow": [
            "roomcast.v1.lincoln.district-request",
            "roomcast.v1.lincoln.district-request.>",
            "$MQTT.sub.>",
        ]
    }
    service = service_permissions()
    assert service["publish"] == {"allow": ["roomcast.v1.*.district-request.>"]}
    assert subject(Topics("x").directive_wildcard) == "roomcast.v1.x.directive.>"


def test_every_node_lists_every_school_and_a_removed_one_is_gone(tmp_path: Path) -> None:
    layout = init_district(tmp_path / "d", "metro", NODES)
    add_school(layout.root, "lincoln")
    add_school(layout.root, "adams")
    for node in NODES:
        conf = layout.node(node.name).conf.read_text(encoding="utf-8")
        assert f'server_name: "{node.name}"' in conf
        assert "stream_replicas: 3" in conf and "verify_and_map: true" in conf
        assert '"CN=school-adams,O=Roomcast district metro"' in conf
    remove_school(layout.root, "adams")
    for node in NODES:
        assert "school-adams" not in layout.node(node.name).conf.read_text(encoding="utf-8")
    assert list(open_district(layout.root)[1].schools) == ["lincoln"]


def test_mistakes_are_refused_with_what_to_do(tmp_path: Path) -> None:
    with pytest.raises(DistrictError, match="majority"):
        init_district(tmp_path / "two", "metro", NODES[:2])
    layout = init_district(tmp_path / "d", "metro", NODES)
    with pytest.raises(DistrictError, match="a district already"):
        init_district(layout.root, "metro", NODES)
    add_school(layout.root, "lincoln")
    with pytest.raises(DistrictError, match="in the district already"):
        add_school(layout.root, "lincoln")
    with pytest.raises(DistrictError, match=r"no school 'adams'.*lincoln"):
        remove_school(layout.root, "adams")
    with pytest.raises(DistrictError, match="provision district init"):
        open_district(tmp_path / "nowhere")
