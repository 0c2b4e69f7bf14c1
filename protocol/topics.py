"""MQTT topic names: the only place in Roomcast where topic strings are built.

Everything lives under ``roomcast/v1/<site>/``. Topic levels use ``[a-z0-9_-]`` only,
so the same contract runs on Mosquitto, a Mosquitto bridge and NATS JetStream's MQTT
(which rejects ``.`` and spaces).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

_LEVEL = re.compile(r"^[a-z0-9_-]{1,64}$")
ROOT = "roomcast/v1"


class InvalidName(ValueError):
    """A site, building, room or device id that cannot be a topic level."""


def check_level(kind: str, value: str) -> str:
    """Return ``value`` if it is a valid topic level, else raise :class:`InvalidName`."""
    if not _LEVEL.match(value):
        raise InvalidName(
            f"{kind} id {value!r} must be 1-64 characters of a-z, 0-9, '_' or '-' "
            "(it becomes an MQTT topic level)"
        )
    return value


class DeviceChannel(StrEnum):
    """The per-device topics. The first three are written by the device, the rest by the hub."""

    STATUS = "status"
    EVENT = "event"
    ACK = "ack"
    RECEIPT = "receipt"
    COMMAND = "command"


DEVICE_WRITES = (DeviceChannel.STATUS, DeviceChannel.EVENT, DeviceChannel.ACK)
DEVICE_READS = (DeviceChannel.RECEIPT, DeviceChannel.COMMAND)


class ScopeKind(StrEnum):
    SITE = "site"
    BUILDING = "building"
    ROOM = "room"


@dataclass(frozen=True)
class DeviceTopic:
    """A parsed ``device/<id>/<channel>`` topic."""

    device_id: str
    channel: DeviceChannel


@dataclass(frozen=True)
class Topics:
    """The topic tree of one site."""

    site: str

    def __post_init__(self) -> None:
        check_level("site", self.site)

    @property
    def base(self) -> str:
        return f"{ROOT}/{self.site}"

    @property
    def hub_state(self) -> str:
        return f"{self.base}/hub/state"

    def directive(self, kind: ScopeKind, target: str = "") -> str:
        """The retained topic for one scope: site, or one building, or one room."""
        if kind is ScopeKind.SITE:
            if target:
                raise InvalidName("a site-wide directive has no target")
            return f"{self.base}/directive/site"
        return f"{self.base}/directive/{kind.value}/{check_level(kind.value, target)}"

    @property
    def directive_wildcard(self) -> str:
        return f"{self.base}/directive/#"

    def device(self, device_id: str, channel: DeviceChannel) -> str:
        return f"{self.base}/device/{check_level('device', device_id)}/{channel.value}"

    def device_wildcard(self, channel: DeviceChannel) -> str:
        """``device/+/<channel>``: what the hub subscribes to."""
        return f"{self.base}/device/+/{channel.value}"

    def acl_pattern(self, channel: DeviceChannel) -> str:
        """The Mosquitto ACL pattern for a device's own channel (``%u`` = certificate CN)."""
        return f"{self.base}/device/%u/{channel.value}"

    def parse_device(self, topic: str) -> DeviceTopic | None:
        """Parse ``<base>/device/<id>/<channel>``; None if the topic is not one."""
        prefix = f"{self.base}/device/"
        if not topic.startswith(prefix):
            return None
        parts = topic[len(prefix) :].split("/")
        if len(parts) != 2 or not _LEVEL.match(parts[0]):
            return None
        try:
            return DeviceTopic(parts[0], DeviceChannel(parts[1]))
        except ValueError:
            return None


def site_wildcard(topics: Topics) -> str:
    """Everything under one site: the hub's grant in the broker ACL."""
    return f"{topics.base}/#"
