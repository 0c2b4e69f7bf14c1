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


class DistrictChannel(StrEnum):
    """What a school hub publishes for its district, under ``district/`` (protocol.md)."""

    SUMMARY = "summary"
    """The school's state in one retained message: directives in force, confirmed/total."""
    BRIDGE = "bridge"
    """The school broker's bridge, "1" up and "0" down (Mosquitto's own notification, with
    "0" as its last will on the district broker)."""


DISTRICT_VIEW = (f"{ROOT}/+/hub/state", f"{ROOT}/+/district/#")
"""What the district service reads on the district broker: every school's hub state and
what each school publishes for its district (its summary, its bridge's up/down)."""


def parse_school(topic: str) -> tuple[str, str] | None:
    """``roomcast/v1/<site>/<rest>`` as (site, rest); None for anything else."""
    prefix = f"{ROOT}/"
    if not topic.startswith(prefix):
        return None
    site, _, rest = topic[len(prefix) :].partition("/")
    return (site, rest) if _LEVEL.match(site) and rest else None


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

    def room_directives(self, building: str, room: str) -> tuple[str, str, str]:
        """The three scopes a room obeys (site, its building, itself): a node reads these."""
        return (
            self.directive(ScopeKind.SITE),
            self.directive(ScopeKind.BUILDING, building),
            self.directive(ScopeKind.ROOM, room),
        )

    @property
    def directive_wildcard(self) -> str:
        return f"{self.base}/directive/#"

    @property
    def site_wildcard(self) -> str:
        """Everything under the site's base: what the hub's identity may read and write."""
        return f"{self.base}/#"

    def district(self, channel: DistrictChannel) -> str:
        return f"{self.base}/district/{channel.value}"

    @property
    def bridged_out(self) -> tuple[str, ...]:
        """What crosses a school's bridge to the district broker, and nothing else: the hub's
        state, the directives in force (retained, signed by the school hub) and what the hub
        publishes for the district. Never a device's own topics (heartbeats stay local)."""
        return (self.hub_state, self.directive_wildcard, f"{self.base}/district/#")

    @property
    def district_requests(self) -> str:
        """Where signed district requests come in, the one topic bridged *in* to a school."""
        return f"{self.base}/district-request/#"

    def district_request(self, request_id: str) -> str:
        """The topic of one district request: its id is the last level."""
        return f"{self.base}/district-request/{check_level('request', request_id)}"

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
