"""The classroom service driving its parts: relays and signs follow the directive, the
LED and buzzer confirm presses (never during a Lockdown), faults reach the status.

No broker here: the node's broker is a closed port and :class:`Feed` hands it signed
directives and receipts as the MQTT session would. So the link is down throughout, and
a sign's text says ``LINK LOST``. What crosses a real broker is in
``test_node_on_broker.py``.
"""

from __future__ import annotations

import asyncio
import threading
import time
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from PIL import Image

from device.build import DisplayChoice, MissingDisplay, build_hardware
from device.config import DeviceConfig
from device.cues import ACCEPTED, DELIVERED
from device.faults import FaultRelay
from device.screen import ScreenView, render_pages
from device.service import TICK_SECONDS, DeviceService
from device.view import indicator
from hardware.errors import PartUnavailable
from hardware.serial_frames import relay_state_frames
from hardware.simulated import (
    PngDisplay,
    SimulatedIndicator,
    SimulatedInputs,
    SimulatedOutputs,
    SimulatedSounder,
)
from protocol.messages import EventKind
from protocol.srp import Action, Vocabulary
from tests.device.helpers import Feed, node_config, running, until
from tests.serial_fakes import PtyDevice
from transport.systemd import Notifier

LOST = "LINK LOST: "
"""What a sign's text starts with while the hub cannot be heard (always, here)."""

pytestmark = pytest.mark.filterwarnings(
    "ignore:Image.Image.getdata is deprecated:DeprecationWarning:luma"
)


class Room:
    """A service with every part faked, and the fakes to look at."""

    def __init__(self, config: DeviceConfig, key: Ed25519PrivateKey, **parts: object) -> None:
        self.display = PngDisplay(config.state_dir / "screen.png", size=(128, 64))
        self.indicator = SimulatedIndicator()
        self.sounder = SimulatedSounder()
        self.outputs = SimulatedOutputs()
        chosen: dict[str, object] = {
            "display": self.display,
            "inputs": SimulatedInputs(),
            "indicator": self.indicator,
            "sounder": self.sounder,
            "outputs": self.outputs,
        }
        chosen.update(parts)
        self.service = DeviceService(config, **chosen)  # type: ignore[arg-type]
        self.feed = Feed(self.service, key)


@pytest.fixture
def room(tmp_path: Path, hub_key: Ed25519PrivateKey) -> Room:
    return Room(node_config(tmp_path, hub_key), hub_key)


def still_room(tmp_path: Path, hub_key: Ed25519PrivateKey) -> Room:
    """A room whose clock stands still, for tests that prove nothing is redrawn: a new
    minute in the top bar is a change the room should see."""
    started = time.time()
    return Room(node_config(tmp_path, hub_key), hub_key, wall_clock=lambda: started)


# -- outputs follow the directive --------------------------------------------------------


async def test_outputs_follow_every_directive_change(room: Room) -> None:
    async with running(room.service):
        room.feed.directive(Action.LOCKDOWN)
        room.feed.directive(Action.EVACUATE, drill=True, location="Football field")
        room.feed.directive(Action.ALL_CLEAR)
    assert room.outputs.applied == [
        ("lockdown", False, LOST + "LOCKDOWN - Locks, lights, out of sight."),
        ("evacuate", True, LOST + "EVACUATE - To: Football field"),
        ("all_clear", False, LOST + "ALL CLEAR - Resume normal activity."),
    ]


async def test_nothing_is_sent_to_outputs_before_the_first_directive(room: Room) -> None:
    async with running(room.service):
        await until(lambda: room.display.frames_shown > 0, what="the standby screen")
    assert room.outputs.applied == []


async def test_a_restarted_node_puts_its_outputs_back_to_the_last_directive(
    tmp_path: Path, hub_key: Ed25519PrivateKey
) -> None:
    first = Room(node_config(tmp_path, hub_key), hub_key)
    async with running(first.service):
        first.feed.directive(Action.LOCKDOWN)
    again = Room(node_config(tmp_path, hub_key), hub_key)
    async with running(again.service):
        await until(lambda: again.outputs.applied != [], what="the restored directive")
    assert again.outputs.current == (
        "lockdown",
        False,
        LOST + "LOCKDOWN - Locks, lights, out of sight.",
    )


async def test_all_clear_switches_the_strobe_off_on_a_real_relay_board(
    tmp_path: Path, hub_key: Ed25519PrivateKey
) -> None:
    board = PtyDevice(tmp_path / "usb-relay")
    raw = {
        "relay": {
            "port": str(board.path),
            "channels": 2,
            "frame_gap_s": 0,
            "actions": {"lockdown": [1, 2], "evacuate": [1]},
        }
    }
    parts = build_hardware(raw, choice=DisplayChoice(png=tmp_path / "screen.png"))
    room = Room(node_config(tmp_path, hub_key), hub_key, outputs=parts.outputs)
    try:
        async with running(room.service):
            room.feed.directive(Action.LOCKDOWN)
            assert board.read(8) == b"".join(relay_state_frames(2, {1, 2}))
            room.feed.directive(Action.ALL_CLEAR)
            assert board.read(8) == b"".join(relay_state_frames(2, set()))
    finally:
        parts.close()
        board.close()


# -- confirmation: LED and buzzer ------------------------------------------------------------


async def test_a_press_is_confirmed_on_the_led_then_delivered_distinctly(room: Room) -> None:
    async with running(room.service):
        event = room.service.activate(EventKind.STAFF_ASSIST)
        assert event is not None
        assert (room.indicator.colour, room.indicator.pattern) == (
            ACCEPTED.colour,
            ACCEPTED.pattern,
        )
        room.feed.receipt(event.event_id)
        assert (room.indicator.colour, room.indicator.pattern) == (
            DELIVERED.colour,
            DELIVERED.pattern,
        )
        assert room.service.pending_events() == []
    assert room.sounder.chirps == [ACCEPTED.chirps, DELIVERED.chirps]


async def test_no_confirmation_at_all_during_a_lockdown_drill_or_real(room: Room) -> None:
    """A blink then steady green after a press would tell the hall the room is occupied:
    in a Lockdown the LED keeps its resting state and the buzzer stays silent, while the
    events still go out (and are receipted) as always."""
    async with running(room.service):
        for drill in (False, True):
            room.feed.directive(Action.LOCKDOWN, drill=drill)
            for kind in (
                EventKind.STAFF_ASSIST,
                EventKind.ALL_ACCOUNTED,
                EventKind.PANIC,
                EventKind.CANCEL,
            ):
                event = room.service.activate(kind)
                assert event is not None
                room.feed.receipt(event.event_id)
        assert room.service.pending_events() == []
    assert room.sounder.chirps == []
    confirmations = {(f.colour, f.pattern) for f in (ACCEPTED, DELIVERED)}
    assert confirmations.isdisjoint(room.indicator.history)


async def test_a_lockdown_ends_a_confirmation_at_once(room: Room) -> None:
    """A press just before the Lockdown must not keep blinking into it."""
    async with running(room.service):
        await until(lambda: room.display.frames_shown > 0, what="the standby screen")
        assert room.service.activate(EventKind.STAFF_ASSIST) is not None
        assert (room.indicator.colour, room.indicator.pattern) == (ACCEPTED.colour, "blink")
        lockdown = room.feed.directive(Action.LOCKDOWN)
        # At once: not at the next screen tick, nor when the 10 s confirmation runs out.
        resting = indicator(lockdown, room.service.link_view().state, Vocabulary())
        assert (room.indicator.colour, room.indicator.pattern) == resting
        await asyncio.sleep(TICK_SECONDS * 1.5)  # the screen loop keeps it there
        assert (room.indicator.colour, room.indicator.pattern) == resting


async def test_a_panic_press_is_silent_unless_the_site_allows_a_chirp(
    tmp_path: Path, hub_key: Ed25519PrivateKey
) -> None:
    silent = Room(node_config(tmp_path / "a", hub_key), hub_key)
    chirping = Room(node_config(tmp_path / "b", hub_key, panic_chirp=True), hub_key)
    for room in (silent, chirping):
        async with running(room.service):
            room.feed.directive(Action.HOLD)
            assert room.service.activate(EventKind.PANIC) is not None
    assert silent.sounder.chirps == []
    assert chirping.sounder.chirps == [ACCEPTED.chirps]


async def test_staff_reports_never_change_the_lockdown_screen(
    tmp_path: Path, hub_key: Ed25519PrivateKey
) -> None:
    room = still_room(tmp_path, hub_key)
    async with running(room.service):
        room.feed.directive(Action.LOCKDOWN)
        await until(lambda: room.service.shown_seq == 1, what="the Lockdown screen")
        before = room.display.last_frame
        drawn = room.display.frames_shown
        for kind in (EventKind.STAFF_ASSIST, EventKind.ALL_ACCOUNTED, EventKind.PANIC):
            event = room.service.activate(kind)
            assert event is not None
            room.feed.receipt(event.event_id)
        # Proving that nothing is drawn needs a bounded wait: a full screen tick and more.
        await asyncio.sleep(TICK_SECONDS * 1.5)
    assert room.display.frames_shown == drawn
    assert before is not None and room.display.last_frame is not None
    assert before.tobytes() == room.display.last_frame.tobytes()


# -- faults ----------------------------------------------------------------------------------


async def test_a_display_that_failed_to_open_is_in_the_status_and_sent_as_a_fault(
    tmp_path: Path, hub_key: Ed25519PrivateKey
) -> None:
    raw = {"display": {"type": "ssd1306", "i2c": {"port": 9}}}
    parts = build_hardware(raw)
    missing = parts.display
    assert isinstance(missing, MissingDisplay)
    room = Room(node_config(tmp_path, hub_key), hub_key, display=missing, faults=parts.faults)
    async with running(room.service):
        await until(lambda: "display" in room.service.faults, what="the display fault")
        room.feed.directive(Action.LOCKDOWN)
        await until(lambda: len(missing.frames) >= 2, what="a Lockdown frame")
        panic = room.service.activate(EventKind.PANIC)  # the panic button still works
        pending = room.service.pending_events()
        assert room.service.shown_seq == 0  # nothing claims the Lockdown was seen
    faults = [e for e in pending if e.kind is EventKind.FAULT]
    assert [f.detail.split(":")[0] for f in faults if f.detail] == ["display"]  # once
    assert panic is not None and panic in pending
    parts.close()


async def test_a_missing_serial_port_is_in_the_status(
    tmp_path: Path, hub_key: Ed25519PrivateKey
) -> None:
    port = tmp_path / "usb-sign-unplugged"
    parts = build_hardware(
        {"signs": [{"port": str(port)}]}, choice=DisplayChoice(png=tmp_path / "s.png")
    )
    room = Room(node_config(tmp_path, hub_key), hub_key, outputs=parts.outputs, faults=parts.faults)
    try:
        async with running(room.service):
            room.feed.directive(Action.HOLD)
            await until(lambda: f"sign:{port}" in room.service.faults, what="the sign fault")
    finally:
        parts.close()


class FlakyDisplay(PngDisplay):
    """A panel that stops answering for a while, and records which thread wrote to it."""

    def __init__(self, path: Path) -> None:
        super().__init__(path, size=(128, 64))
        self.failing = True
        self.threads: set[str] = set()

    def show(self, frame: Image.Image) -> None:
        self.threads.add(threading.current_thread().name)
        if self.failing:
            raise PartUnavailable("display", "I2C bus 1 address 0x3c", "Remote I/O error", "fix")
        super().show(frame)


async def test_a_display_fault_is_reported_once_then_clears_and_frames_are_off_the_loop(
    tmp_path: Path, hub_key: Ed25519PrivateKey
) -> None:
    display = FlakyDisplay(tmp_path / "screen.png")
    room = Room(node_config(tmp_path, hub_key), hub_key, display=display)
    async with running(room.service):
        room.feed.directive(Action.SECURE)
        await until(lambda: "display" in room.service.faults, what="the display fault")
        await until(lambda: len(display.threads) > 0 and display.frames_shown == 0)
        display.failing = False
        await until(lambda: room.service.shown_seq == 1, what="the frame, once it works")
        faults = [e for e in room.service.pending_events() if e.kind is EventKind.FAULT]
    assert "display" not in room.service.faults
    assert len(faults) == 1
    assert display.threads == {"panel_0"}  # the panel's own thread, never the loop's


class SlowDisplay(PngDisplay):
    """A panel whose frame write takes a while (an 800x480 frame over SPI)."""

    def __init__(self, path: Path) -> None:
        super().__init__(path, size=(128, 64))
        self.writing = threading.Event()
        self.written: list[bool] = []

    def show(self, frame: Image.Image) -> None:
        self.writing.set()
        time.sleep(0.3)
        super().show(frame)
        self.written.append(True)


async def test_a_service_stopped_during_a_frame_write_returns_after_it(
    tmp_path: Path, hub_key: Ed25519PrivateKey
) -> None:
    # The caller closes the display next: never under a frame still being written.
    display = SlowDisplay(tmp_path / "screen.png")
    room = Room(node_config(tmp_path, hub_key), hub_key, display=display)
    async with running(room.service):
        await until(display.writing.is_set, what="a frame write")
    assert display.written == [True]


async def test_faults_reported_before_the_service_runs_are_not_lost(room: Room) -> None:
    relay = FaultRelay()
    relay("relay:/dev/ttyUSB9", "cannot open /dev/ttyUSB9; check the USB cable; retrying")
    relay("sign:/dev/ttyUSB8", "gone")
    relay("sign:/dev/ttyUSB8", "")  # recovered before anyone listened
    service = DeviceService(
        room.service.config,
        display=room.display,
        inputs=SimulatedInputs(),
        indicator=SimulatedIndicator(),
        faults=relay,
    )
    async with running(service):
        await until(lambda: bool(service.faults), what="the replayed fault")
        assert set(service.faults) == {"relay:/dev/ttyUSB9"}
        relay("relay:/dev/ttyUSB9", "")
        await until(lambda: not service.faults, what="the recovery")


async def test_a_long_multi_line_fault_reason_fits_the_status(room: Room) -> None:
    """Driver messages explain at length; the status message carries 200 characters."""
    reason = "Remote I/O error\n" + "check the wiring; " * 40
    relay = FaultRelay()
    relay("relay:/dev/ttyUSB0", reason)
    service = DeviceService(
        room.service.config,
        display=room.display,
        inputs=SimulatedInputs(),
        indicator=SimulatedIndicator(),
        faults=relay,
    )
    async with running(service):
        await until(lambda: "relay:/dev/ttyUSB0" in service.faults, what="the fault")
        shown = service.faults["relay:/dev/ttyUSB0"]
        (event,) = [e for e in service.pending_events() if e.kind is EventKind.FAULT]
    assert len(shown) <= 200 and "\n" not in shown and shown.endswith("...")
    assert shown.startswith("Remote I/O error check the wiring;")
    assert event.detail is not None and len(event.detail) <= 200


async def test_a_repeated_directive_that_looks_the_same_is_shown_without_a_redraw(
    tmp_path: Path, hub_key: Ed25519PrivateKey
) -> None:
    room = still_room(tmp_path, hub_key)
    async with running(room.service):
        room.feed.directive(Action.HOLD)
        await until(lambda: room.service.shown_seq == 1, what="the first Hold")
        drawn = room.display.frames_shown
        room.feed.directive(Action.HOLD)
        await until(lambda: room.service.shown_seq == 2, what="the second Hold")
    assert room.display.frames_shown == drawn
    assert room.outputs.applied == [
        ("hold", False, LOST + "HOLD - In your room or area. Clear the halls.")
    ]


# -- systemd -------------------------------------------------------------------------------


class RecordingNotifier(Notifier):
    """systemd's side of the notify socket: every message, and how many frames the
    display had drawn when it was sent."""

    def __init__(self, display: PngDisplay | MissingDisplay) -> None:
        super().__init__("")
        self._display = display
        self.sent: list[tuple[tuple[str, ...], int]] = []

    def notify(self, *fields: str) -> None:
        drawn = getattr(self._display, "frames_shown", 0)
        self.sent.append((fields, drawn))

    def fields(self, prefix: str) -> list[str]:
        return [f for message, _ in self.sent for f in message if f.startswith(prefix)]


async def test_ready_once_the_first_frame_is_drawn_though_the_broker_is_down(
    tmp_path: Path, hub_key: Ed25519PrivateKey
) -> None:
    """systemd restarts a node that is not READY by TimeoutStartSec: a broker that is
    down at boot must not cost the room its screen over and over."""
    display = PngDisplay(tmp_path / "screen.png", size=(128, 64))
    systemd = RecordingNotifier(display)
    room = Room(node_config(tmp_path, hub_key), hub_key, display=display, notifier=systemd)
    async with running(room.service):
        await until(lambda: bool(systemd.fields("READY=1")), what="READY")
        assert not room.service.connected.is_set()
    (ready,) = [(message, drawn) for message, drawn in systemd.sent if "READY=1" in message]
    assert ready[1] >= 1  # not before the first frame
    assert any(f.startswith("STATUS=broker: reconnecting to ") for f in ready[0])
    assert systemd.fields("READY=1") == ["READY=1"]  # once


async def test_ready_even_when_the_display_is_a_fault(
    tmp_path: Path, hub_key: Ed25519PrivateKey
) -> None:
    parts = build_hardware({"display": {"type": "ssd1306", "i2c": {"port": 9}}})
    assert isinstance(parts.display, MissingDisplay)
    systemd = RecordingNotifier(parts.display)
    room = Room(
        node_config(tmp_path, hub_key),
        hub_key,
        display=parts.display,
        faults=parts.faults,
        notifier=systemd,
    )
    try:
        async with running(room.service):
            await until(lambda: bool(systemd.fields("READY=1")), what="READY")
            assert "display" in room.service.faults
    finally:
        parts.close()


# -- frames off the loop -------------------------------------------------------------------


async def test_frames_are_rendered_off_the_event_loop(
    room: Room, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A large colour panel takes milliseconds to render (ten times that on a Pi Zero):
    time the loop needs for the panic button's path to the hub."""
    threads: list[str] = []

    def recording(view: ScreenView, size: tuple[int, int], mode: str) -> list[Image.Image]:
        threads.append(threading.current_thread().name)
        return render_pages(view, size, mode)

    monkeypatch.setattr("device.panel.render_pages", recording)
    async with running(room.service):
        room.feed.directive(Action.HOLD)
        await until(lambda: room.service.shown_seq == 1, what="the Hold frame")
    assert threads
    assert threading.main_thread().name not in threads


@pytest.mark.parametrize("simulated", [False, True], ids=["real", "simulated"])
async def test_the_screen_is_told_whether_the_node_is_simulated(
    tmp_path: Path, hub_key: Ed25519PrivateKey, monkeypatch: pytest.MonkeyPatch, simulated: bool
) -> None:
    """From the config to every view drawn, the drill's included, whose banner takes the
    room's place: the screen marks a simulator by this flag, not by the room's name."""
    drawn: list[ScreenView] = []

    def recording(view: ScreenView, size: tuple[int, int], mode: str) -> list[Image.Image]:
        drawn.append(view)
        return render_pages(view, size, mode)

    monkeypatch.setattr("device.panel.render_pages", recording)
    room = Room(node_config(tmp_path, hub_key, simulated=simulated), hub_key)
    async with running(room.service):
        room.feed.directive(Action.LOCKDOWN, drill=True)
        await until(lambda: room.service.shown_seq == 1, what="the drill frame")
    assert any(view.drill for view in drawn)
    assert {view.simulated for view in drawn} == {simulated}
    assert {view.room for view in drawn} == {"Science Lab"}


# -- cancel --------------------------------------------------------------------------------


async def test_a_panic_can_be_cancelled_after_a_restart_inside_the_window(
    tmp_path: Path, hub_key: Ed25519PrivateKey
) -> None:
    """A power cut or crash right after a false alarm must not make it uncancellable."""
    first = Room(node_config(tmp_path, hub_key), hub_key)
    async with running(first.service):
        panic = first.service.activate(EventKind.PANIC)
    assert panic is not None
    again = Room(
        node_config(tmp_path, hub_key),
        hub_key,
        wall_clock=lambda: panic.created_at + 30,  # inside the default 60 s window
    )
    async with running(again.service):
        cancel = again.service.activate(EventKind.CANCEL)
        assert cancel is not None and cancel.cancels == panic.event_id
        assert again.service.activate(EventKind.CANCEL) is None  # nothing left to cancel
    third = Room(node_config(tmp_path, hub_key), hub_key)
    async with running(third.service):
        assert third.service.activate(EventKind.CANCEL) is None  # the cancel was kept too


async def test_after_the_window_a_restarted_node_cannot_cancel(
    tmp_path: Path, hub_key: Ed25519PrivateKey
) -> None:
    first = Room(node_config(tmp_path, hub_key, cancel_window_s=20.0), hub_key)
    async with running(first.service):
        panic = first.service.activate(EventKind.PANIC)
    assert panic is not None
    late = Room(
        node_config(tmp_path, hub_key, cancel_window_s=20.0),
        hub_key,
        wall_clock=lambda: panic.created_at + 21,
    )
    async with running(late.service):
        assert late.service.activate(EventKind.CANCEL) is None  # the alert stands
