"""``roomcast device selftest`` on mock pins, luma's dummy display and pseudo-terminals,
with a technician (a thread) pressing each button when asked."""

from __future__ import annotations

import argparse
import io
import json
import re
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from gpiozero.pins.mock import MockFactory

from device.cli import add_parsers
from device.selftest import PartResult, SelftestOptions, run_selftest
from hardware.config_parse import parse_hardware_config
from hardware.serial_frames import relay_state_frames
from hardware.serial_link import RetryPolicy
from protocol.languages import parse_wording
from tests.serial_fakes import PtyDevice

pytestmark = pytest.mark.filterwarnings(
    "ignore:Image.Image.getdata is deprecated:DeprecationWarning:luma"
)

FAST = RetryPolicy(first_s=0.01, max_s=0.1, probe_s=0.02)
GPIO = {
    "pin_factory": "mock",
    "buttons": [
        {"pin": 17, "kind": "panic", "pattern": {"hold_s": 0.5}},
        {"pin": 27, "kind": "cancel", "pattern": {"presses": 2, "window_s": 1.0}},
    ],
    "indicator": {"type": "rgb", "red": 5, "green": 6, "blue": 13},
    "buzzer": {"pin": 12},
    "display": {"type": "dummy", "width": 128, "height": 32},
}


class Technician(threading.Thread):
    """Waits for each prompt in the selftest's output, then does what it asks."""

    def __init__(self, out: io.StringIO, pins: MockFactory) -> None:
        super().__init__(name="technician", daemon=True)
        self._out, self._pins = out, pins

    def run(self) -> None:
        self._wait_for("panic button on GPIO17")
        self._press(17, 0.7)
        self._wait_for("cancel button on GPIO27")
        self._press(27, 0.08)
        time.sleep(0.08)
        self._press(27, 0.08)

    def _wait_for(self, prompt: str) -> None:
        deadline = time.monotonic() + 20
        while prompt not in self._out.getvalue() and time.monotonic() < deadline:
            time.sleep(0.01)

    def _press(self, pin: int, seconds: float) -> None:
        self._pins.pin(pin).drive_low()
        time.sleep(seconds)
        self._pins.pin(pin).drive_high()


def selftest(raw: dict[str, Any], pins: MockFactory | None, **options: Any) -> list[PartResult]:
    chosen: dict[str, Any] = {"out": io.StringIO(), "pace_s": 0.02, "retry": FAST}
    chosen.update(options)
    return run_selftest(parse_hardware_config(raw), SelftestOptions(**chosen), pin_factory=pins)


def test_every_part_passes_when_a_technician_presses_each_button(
    pins: MockFactory, make_pty: Callable[[str], PtyDevice]
) -> None:
    relay, sign = make_pty("usb-relay"), make_pty("usb-sign")
    raw = GPIO | {
        "relay": {"port": str(relay.path), "channels": 2, "frame_gap_s": 0, "actions": {}},
        "signs": [{"port": str(sign.path)}],
    }
    raw["relay"]["actions"] = {"lockdown": [1, 2]}
    out = io.StringIO()
    technician = Technician(out, pins)
    technician.start()
    results = selftest(raw, pins, out=out, input_wait_s=10.0, room="Science Lab")
    technician.join(timeout=5)
    assert [(r.part, r.passed) for r in results] == [
        ("display", True),
        ("indicator", True),
        ("buzzer", True),
        ("button:gpio17", True),
        ("button:gpio27", True),
        (f"relay:{relay.path}", True),
        (f"sign:{sign.path}", True),
    ], out.getvalue()
    pulses = [relay_state_frames(2, on) for on in ({1}, {2}, set())]
    assert relay.read(24) == b"".join(b"".join(frames) for frames in pulses)
    assert b"ROOMCAST TEST Science Lab" in sign.read_until(b"Science Lab")
    lines = out.getvalue().splitlines()
    assert sum(line.startswith("PASS  ") for line in lines) == 7


def test_display_shows_a_test_pattern_and_every_screen(pins: MockFactory) -> None:
    (result,) = selftest({"display": GPIO["display"]}, None)
    assert result.passed
    assert "test pattern and" in result.detail and "screen pages" in result.detail


def test_the_display_shows_every_screen_in_every_language_of_the_site(pins: MockFactory) -> None:
    (english,) = selftest({"display": GPIO["display"]}, None)
    bilingual = parse_wording({"languages": ["en", "es"]}, "wording.toml")
    (both,) = selftest({"display": GPIO["display"]}, None, wording=bilingual)
    assert both.passed
    count = re.compile(r"test pattern and (\d+) screen pages")
    shown = [int(m.group(1)) for r in (english, both) if (m := count.search(r.detail))]
    assert len(shown) == 2 and shown[1] > shown[0]


def test_without_waiting_the_buttons_only_claim_their_pins(pins: MockFactory) -> None:
    results = selftest(GPIO, pins, input_wait_s=0)
    buttons = [r for r in results if r.part.startswith("button:")]
    assert [r.passed for r in buttons] == [True, True]
    assert all("press not tested" in r.detail for r in buttons)


def test_a_button_nobody_presses_fails(pins: MockFactory) -> None:
    raw = {"pin_factory": "mock", "buttons": [{"pin": 27, "kind": "staff-assist"}]}
    (result,) = selftest(raw, pins, input_wait_s=0.2)
    assert not result.passed
    assert "no press" in result.detail


def test_a_missing_relay_and_sign_fail_with_what_to_check(tmp_path: Path) -> None:
    raw = {
        "relay": {"port": str(tmp_path / "gone-relay"), "actions": {"lockdown": [1]}},
        "signs": [{"port": str(tmp_path / "gone-sign")}],
    }
    results = selftest(raw, None)
    assert [r.passed for r in results] == [False, False]
    assert all("check the USB cable" in r.detail for r in results)


# -- through the command line ----------------------------------------------------------------


def command(*argv: str) -> int:
    parser = argparse.ArgumentParser(prog="roomcast")
    add_parsers(parser.add_subparsers(required=True))
    args = parser.parse_args(argv)
    result: int = args.run(args)
    return result


def write_config(tmp_path: Path, hardware: dict[str, Any] | None) -> Path:
    path = tmp_path / "device.json"
    body: dict[str, Any] = {"room": "101", "room_name": "Science Lab"}
    if hardware is not None:
        body["hardware"] = hardware
    path.write_text(json.dumps(body), encoding="utf-8")
    return path


def test_selftest_command_passes_with_mock_parts(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = write_config(tmp_path, GPIO)
    code = command(
        "device", "selftest", "--config", str(config), "--input-wait", "0", "--pace", "0.01"
    )
    out = capsys.readouterr().out
    assert code == 0, out
    assert "5 of 5 parts passed; all passed" in out


def test_selftest_command_exits_1_when_a_part_fails(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = write_config(tmp_path, {"signs": [{"port": str(tmp_path / "unplugged")}]})
    code = command("device", "selftest", "--config", str(config), "--pace", "0.01")
    out = capsys.readouterr().out
    assert code == 1
    assert f"FAIL  sign:{tmp_path / 'unplugged'}" in out
    assert "FAILED: sign:" in out


@pytest.mark.parametrize(
    ("hardware", "message"),
    [
        ({"buttons": [{"pin": 17, "kind": "panik"}]}, "hardware.buttons[0].kind"),
        (None, "no hardware section"),
    ],
)
def test_selftest_command_refuses_a_wrong_config_with_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], hardware: Any, message: str
) -> None:
    config = write_config(tmp_path, hardware)
    assert command("device", "selftest", "--config", str(config)) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"roomcast: {config}: ")
    assert message in err
    assert "Traceback" not in err
