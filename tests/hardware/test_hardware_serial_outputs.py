"""Relay boards and signs over pseudo-terminals: exact bytes, unplug, replug, converge.

The driver opens the pty's slave through a symlink (like /dev/serial/by-id/...); the
test reads what it wrote from the master side. Unplugging closes the master and removes
the link; replugging makes a new pty behind the same link, as udev would.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from types import MappingProxyType

import pytest
from hw_helpers import PtyDevice, Recorder

from hardware.config import HardwareConfig, RelayConfig, SignConfig
from hardware.serial_frames import alpha_text_packet, relay_state_frames
from hardware.serial_link import RetryPolicy
from hardware.serial_outputs import AlphaSign, RelayBoard, open_outputs, sign_text

FAST = RetryPolicy(first_s=0.01, max_s=0.1, probe_s=0.02)
OFF_OFF = relay_state_frames(2, ())


def relay_config(port: str, **overrides: object) -> RelayConfig:
    settings: dict[str, object] = {
        "port": port,
        "channels": 2,
        "frame_gap_s": 0.0,
        "actions": MappingProxyType({"lockdown": frozenset({1, 2}), "evacuate": frozenset({1})}),
        "drill_actions": MappingProxyType({"lockdown": frozenset({1})}),
    }
    settings.update(overrides)
    return RelayConfig(**settings)  # type: ignore[arg-type]


@pytest.fixture
def relay(pty_device: PtyDevice, recorder: Recorder) -> Iterator[RelayBoard]:
    board = RelayBoard(relay_config(str(pty_device.path)), on_fault=recorder.fault, retry=FAST)
    yield board
    board.close()


def test_lockdown_switches_on_the_mapped_channels(relay: RelayBoard, pty_device: PtyDevice) -> None:
    relay.apply("lockdown", False, "Locks, lights, out of sight.")
    assert pty_device.read(8) == bytes.fromhex("a0 01 01 a2 a0 02 01 a3")


def test_a_drill_uses_the_drill_map(relay: RelayBoard, pty_device: PtyDevice) -> None:
    relay.apply("lockdown", True, "DRILL")
    assert pty_device.read(8) == bytes.fromhex("a0 01 01 a2 a0 02 00 a2")


def test_a_drill_of_an_unlisted_action_uses_the_live_map(
    relay: RelayBoard, pty_device: PtyDevice
) -> None:
    relay.apply("evacuate", True, "DRILL")
    assert pty_device.read(8) == bytes.fromhex("a0 01 01 a2 a0 02 00 a2")


@pytest.mark.parametrize("action", ["all_clear", "release", "something_new"])
def test_unmapped_actions_switch_everything_off(
    relay: RelayBoard, pty_device: PtyDevice, action: str
) -> None:
    relay.apply("lockdown", False, "")
    assert pty_device.read(8) == b"".join(relay_state_frames(2, {1, 2}))
    relay.apply(action, False, "All clear")
    assert pty_device.read(8) == b"".join(OFF_OFF)


def test_the_state_is_refreshed_without_being_asked(
    pty_device: PtyDevice, recorder: Recorder
) -> None:
    config = relay_config(str(pty_device.path), refresh_s=0.1)
    with RelayBoard(config, on_fault=recorder.fault, retry=FAST) as board:
        board.apply("evacuate", False, "")
        once = b"".join(relay_state_frames(2, {1}))
        assert pty_device.read(24) == once * 3
    assert recorder.events == []


@pytest.mark.parametrize("remove_link", [True, False])
def test_after_a_replug_all_clear_switches_the_strobe_off(
    relay: RelayBoard, pty_device: PtyDevice, recorder: Recorder, remove_link: bool
) -> None:
    relay.apply("lockdown", False, "")
    assert pty_device.read(8) == b"".join(relay_state_frames(2, {1, 2}))
    pty_device.unplug(remove_link=remove_link)
    relay.apply("all_clear", False, "All clear")  # while unplugged
    fault = recorder.wait_for(1)[0]
    assert fault[:2] == ("fault", relay.config.part)
    assert "USB cable" in fault[2] and "retrying" in fault[2]
    pty_device.plug()
    assert pty_device.read(8) == b"".join(OFF_OFF)
    assert recorder.wait_for(2)[1] == ("recovered", relay.config.part, "")
    assert relay.connected


def test_a_port_missing_at_start_is_one_fault_until_it_appears(
    make_pty: Callable[[str], PtyDevice], recorder: Recorder
) -> None:
    device = make_pty("ttyACM-late")
    device.unplug()
    with RelayBoard(relay_config(str(device.path)), on_fault=recorder.fault, retry=FAST) as board:
        board.apply("lockdown", False, "")
        assert "cannot open" in recorder.wait_for(1)[0][2]
        assert not board.connected
        device.plug()
        assert device.read(8) == b"".join(relay_state_frames(2, {1, 2}))
        recorder.wait_for(2)
        assert board.connected
    assert recorder.kinds() == ["fault", "recovered"]  # one fault, however many retries


def test_nothing_is_sent_before_the_first_directive(
    pty_device: PtyDevice, recorder: Recorder
) -> None:
    with RelayBoard(
        relay_config(str(pty_device.path)), on_fault=recorder.fault, retry=FAST
    ) as board:
        assert pty_device.read(1, timeout=0.2) == b""
        board.apply("evacuate", False, "")
        assert pty_device.read(8) == b"".join(relay_state_frames(2, {1}))


def sign_config(port: str) -> SignConfig:
    return SignConfig(port=port, colours=MappingProxyType({"lockdown": "red"}), max_chars=40)


def test_a_sign_shows_the_directive_text(
    make_pty: Callable[[str], PtyDevice], recorder: Recorder
) -> None:
    device = make_pty("ttyUSB-sign")
    with AlphaSign(sign_config(str(device.path)), on_fault=recorder.fault, retry=FAST) as sign:
        sign.apply("lockdown", False, "Locks, lights, out of sight.")
        expected = b"\x00\x00\x00\x00\x00\x01Z00\x02AA\x1b0b\x1c1Locks, lights, out of sight.\x04"
        assert device.read(len(expected)) == expected


def test_a_sign_re_sends_its_text_after_a_replug(
    make_pty: Callable[[str], PtyDevice], recorder: Recorder
) -> None:
    device = make_pty("ttyUSB-sign")
    with AlphaSign(sign_config(str(device.path)), on_fault=recorder.fault, retry=FAST) as sign:
        sign.apply("hold", False, "In your room or area. Clear the halls.")
        first = alpha_text_packet("In your room or area. Clear the halls.")
        assert device.read(len(first)) == first
        device.unplug()
        assert recorder.wait_for(1)[0][0] == "fault"
        device.plug()
        assert device.read(len(first)) == first
        assert recorder.wait_for(2)[1][0] == "recovered"


def test_every_drill_message_says_drill() -> None:
    assert sign_text("Evacuate! To the flag pole.", True, 40) == (
        "DRILL: Evacuate! To the flag pole."
    )
    assert sign_text("DRILL - Evacuate!", True, 40) == "DRILL - Evacuate!"
    assert sign_text("x" * 50 + " DRILL", True, 20) == "DRILL: " + "x" * 13
    assert sign_text("Evacuate!", False, 40) == "Evacuate!"


def test_open_outputs_drives_relay_and_signs_together(
    make_pty: Callable[[str], PtyDevice], recorder: Recorder
) -> None:
    relay_device, sign_device = make_pty("ttyUSB-relay"), make_pty("ttyUSB-sign")
    config = HardwareConfig(
        relay=relay_config(str(relay_device.path)), signs=(sign_config(str(sign_device.path)),)
    )
    with open_outputs(config, on_fault=recorder.fault, retry=FAST) as outputs:
        outputs.apply("evacuate", True, "Evacuate! To the flag pole.")
        assert relay_device.read(8) == b"".join(relay_state_frames(2, {1}))
        packet = alpha_text_packet("DRILL: Evacuate! To the flag pole.")
        assert sign_device.read(len(packet)) == packet
    assert len(outputs.outputs) == 2 and recorder.events == []
