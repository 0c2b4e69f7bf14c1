"""Topic names: the tree under roomcast/v1/<site>/ and the parse of device topics."""

from __future__ import annotations

import pytest

from protocol.topics import (
    DEVICE_READS,
    DEVICE_WRITES,
    DeviceChannel,
    DeviceTopic,
    InvalidName,
    ScopeKind,
    Topics,
    check_level,
)

TOPICS = Topics("lincoln")


def test_topic_shapes() -> None:
    assert TOPICS.base == "roomcast/v1/lincoln"
    assert TOPICS.hub_state == "roomcast/v1/lincoln/hub/state"
    assert TOPICS.directive(ScopeKind.SITE) == "roomcast/v1/lincoln/directive/site"
    assert (
        TOPICS.directive(ScopeKind.BUILDING, "main")
        == "roomcast/v1/lincoln/directive/building/main"
    )
    assert TOPICS.directive(ScopeKind.ROOM, "101") == "roomcast/v1/lincoln/directive/room/101"
    assert TOPICS.directive_wildcard == "roomcast/v1/lincoln/directive/#"
    assert (
        TOPICS.device("dev-101", DeviceChannel.EVENT) == "roomcast/v1/lincoln/device/dev-101/event"
    )
    assert TOPICS.device_wildcard(DeviceChannel.ACK) == "roomcast/v1/lincoln/device/+/ack"
    assert TOPICS.acl_pattern(DeviceChannel.STATUS) == "roomcast/v1/lincoln/device/%u/status"


def test_a_room_reads_its_three_scopes_and_the_hub_the_whole_site() -> None:
    assert TOPICS.room_directives("main", "101") == (
        "roomcast/v1/lincoln/directive/site",
        "roomcast/v1/lincoln/directive/building/main",
        "roomcast/v1/lincoln/directive/room/101",
    )
    assert TOPICS.site_wildcard == "roomcast/v1/lincoln/#"


def test_device_writes_and_reads_are_disjoint_and_cover_every_channel() -> None:
    assert set(DEVICE_WRITES) | set(DEVICE_READS) == set(DeviceChannel)
    assert not set(DEVICE_WRITES) & set(DEVICE_READS)


@pytest.mark.parametrize("channel", list(DeviceChannel))
def test_parse_device_round_trip(channel: DeviceChannel) -> None:
    topic = TOPICS.device("dev_7-b", channel)
    assert TOPICS.parse_device(topic) == DeviceTopic("dev_7-b", channel)


@pytest.mark.parametrize(
    "topic",
    [
        "roomcast/v1/other/device/dev-101/event",  # another site
        "roomcast/v2/lincoln/device/dev-101/event",
        "roomcast/v1/lincoln/device/dev-101",  # no channel
        "roomcast/v1/lincoln/device/dev-101/event/extra",
        "roomcast/v1/lincoln/device//event",  # empty id
        "roomcast/v1/lincoln/device/Dev-101/event",  # uppercase id
        "roomcast/v1/lincoln/device/dev.101/event",
        "roomcast/v1/lincoln/device/+/event",  # a wildcard is not an id
        "roomcast/v1/lincoln/device/dev-101/reboot",  # unknown channel
        "roomcast/v1/lincoln/device/dev-101/EVENT",
        "roomcast/v1/lincoln/hub/state",
        "roomcast/v1/lincoln/directive/site",
        "",
    ],
)
def test_parse_device_rejects_other_topics(topic: str) -> None:
    assert TOPICS.parse_device(topic) is None


@pytest.mark.parametrize("bad", ["Lincoln", "lincoln.high", "lincoln high", "x" * 65, "", "a/b"])
def test_invalid_site_names(bad: str) -> None:
    with pytest.raises(InvalidName, match=r"site id .* must be 1-64 characters"):
        Topics(bad)


@pytest.mark.parametrize("good", ["a", "lincoln-high_2", "0", "x" * 64])
def test_valid_levels(good: str) -> None:
    assert check_level("room", good) == good


def test_invalid_names_in_topics_are_rejected() -> None:
    with pytest.raises(InvalidName, match="room id 'Room 1'"):
        TOPICS.directive(ScopeKind.ROOM, "Room 1")
    with pytest.raises(InvalidName, match="building id ''"):
        TOPICS.directive(ScopeKind.BUILDING)
    with pytest.raises(InvalidName, match="device id 'dev#1'"):
        TOPICS.device("dev#1", DeviceChannel.STATUS)
    with pytest.raises(InvalidName, match="has no target"):
        TOPICS.directive(ScopeKind.SITE, "101")


def test_invalid_name_message_says_why() -> None:
    with pytest.raises(InvalidName) as caught:
        check_level("room", "Room.1")
    assert "(it becomes an MQTT topic level)" in str(caught.value)
