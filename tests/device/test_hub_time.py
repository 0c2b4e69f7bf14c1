"""The service and the hub's clock: which ``hub_state`` sets it, what the top bar shows,
and an outbox that keeps resending when the node's own clock steps back.

No broker: messages are handed in as the MQTT session would (see ``helpers.Feed``).
"""

from __future__ import annotations

from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from device.announce import Announcer
from device.service import DeviceService
from device.store import DeviceStore
from hardware.simulated import PngDisplay, SimulatedIndicator, SimulatedInputs
from protocol.codec import encode
from protocol.messages import Command, CommandKind, HubState
from protocol.signing import sign
from protocol.topics import DeviceChannel, Topics
from tests.device.helpers import T0, node_config
from tests.unit.factories import event

HOURS_AHEAD = 3 * 3600.0


def service_ahead(tmp_path: Path, key: Ed25519PrivateKey) -> DeviceService:
    """A node whose wall clock runs three hours ahead of the hub's (T0)."""
    config = node_config(tmp_path, key)
    return DeviceService(
        config,
        display=PngDisplay(tmp_path / "screen.png", size=(128, 64)),
        inputs=SimulatedInputs(),
        indicator=SimulatedIndicator(),
        wall_clock=lambda: T0 + HOURS_AHEAD,
    )


def hear(service: DeviceService, *, online: bool, time: float) -> None:
    state = HubState(online=online, epoch=1, heartbeat_s=5.0, time=time)
    service.link.deliver(Topics(service.config.site).hub_state, encode(state))


def send(service: DeviceService, key: Ed25519PrivateKey, seq: int) -> None:
    command = Command(
        seq=seq,
        device_id=service.config.device_id,
        kind=CommandKind.REPUBLISH,
        issued_at=T0,
        expires_at=T0 + 60,
        issued_by="it",
    )
    topic = Topics(service.config.site).device(service.config.device_id, DeviceChannel.COMMAND)
    service.link.deliver(topic, encode(sign(command, key)))


def test_a_node_hours_ahead_obeys_a_command_fresh_on_the_hubs_clock(
    tmp_path: Path, hub_key: Ed25519PrivateKey
) -> None:
    service = service_ahead(tmp_path, hub_key)
    hear(service, online=True, time=T0)
    send(service, hub_key, seq=1)
    assert service.rejected == {}


def test_the_hubs_last_will_does_not_set_the_hub_clock(
    tmp_path: Path, hub_key: Ed25519PrivateKey
) -> None:
    """An offline state's time is when the hub connected, perhaps hours ago: a command
    checked against it could pass when stale, so it is refused for want of hub time."""
    service = service_ahead(tmp_path, hub_key)
    hear(service, online=False, time=T0)
    send(service, hub_key, seq=1)
    assert service.rejected == {"no hub time": 1}
    hear(service, online=True, time=T0)
    send(service, hub_key, seq=1)
    assert service.rejected == {"no hub time": 1}  # now obeyed


def test_the_top_bar_shows_the_hubs_time_once_heard_and_the_nodes_before(
    tmp_path: Path, hub_key: Ed25519PrivateKey
) -> None:
    service = service_ahead(tmp_path, hub_key)
    assert service.shown_time() == T0 + HOURS_AHEAD
    hear(service, online=True, time=T0)
    assert T0 <= service.shown_time() < T0 + 60  # the hub's time, moved on by a moment


def test_events_made_before_the_clock_stepped_back_are_still_resent(
    tmp_path: Path, hub_key: Ed25519PrivateKey
) -> None:
    """A panic pressed while the clock ran three hours ahead, then NTP set it right: by
    the new clock it was made "in the future", and it must not wait three hours."""
    config = node_config(tmp_path, hub_key)
    store = DeviceStore(tmp_path / "device.db")
    sent: list[DeviceChannel] = []
    now = [T0 + HOURS_AHEAD]
    announcer = Announcer(
        config,
        Topics(config.site),
        store,
        send=lambda channel, payload, retain: sent.append(channel),
        wall_clock=lambda: now[0],
        hub_epoch=lambda: 1,
        faults=dict,
    )
    store.add_event(event(device_id=config.device_id, created_at=now[0]))
    announcer.resend_outbox(older_than_s=5.0)
    assert sent == []  # just made: not yet due
    now[0] = T0  # the clock stepped back three hours
    announcer.resend_outbox(older_than_s=5.0)
    assert sent == [DeviceChannel.EVENT]
    store.close()
