"""``roomcast device selftest``: try every configured part once, in front of a technician.

Lights each LED colour, shows a test pattern and every directive screen, beeps, waits
for each button to be pressed (or, with ``--input-wait 0``, only checks that its pin can
be claimed), pulses each relay channel one at a time and sends a test page to each
sign. One PASS/FAIL line per part; the run passes only if every configured part did.

Run it with the classroom service stopped: the service holds the same pins and ports.
The relay pulses switch the strobes and sounders wired to them, which is the point.
"""

from __future__ import annotations

import queue
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import Any, TextIO

from PIL import Image, ImageDraw

from device.catalogue import views
from device.screen import render_pages
from hardware.buttons import GpioInputs
from hardware.config import ButtonBinding, DisplayConfig, HardwareConfig, RelayConfig, SignConfig
from hardware.displays import open_display
from hardware.errors import HardwareError
from hardware.leds import GpioBuzzer, open_indicator
from hardware.patterns import HoldPattern
from hardware.pins import make_pin_factory
from hardware.serial_link import RetryPolicy
from hardware.serial_outputs import AlphaSign, RelayBoard
from protocol.languages import SiteWording

COLOURS = (("red", (1.0, 0.0, 0.0)), ("green", (0.0, 1.0, 0.0)), ("blue", (0.0, 0.0, 1.0)))
LINK_WAIT_S = 3.0
"""How long a relay or sign may take to open its port and take the first write."""
MIN_PULSE_S = 0.1
"""A relay takes ~10 ms to switch and the link coalesces states sent faster than it
writes them: a shorter pulse might never reach the board."""


@dataclass(frozen=True)
class PartResult:
    """One line of the report."""

    part: str
    passed: bool
    detail: str

    def line(self) -> str:
        return f"{'PASS' if self.passed else 'FAIL'}  {self.part:<28} {self.detail}"


@dataclass(frozen=True)
class SelftestOptions:
    """Pacing and the people-facing parts of a run."""

    out: TextIO
    room: str = "selftest"
    input_wait_s: float = 10.0
    """Per button; 0 skips the presses (non-interactive: only the pins are claimed)."""
    pace_s: float = 0.5
    """How long each LED colour and relay pulse lasts; each screen shows for half."""
    retry: RetryPolicy | None = None
    wording: SiteWording = field(default_factory=SiteWording)
    """The site's languages (the config's ``wording``): every screen is shown in all."""


def run_selftest(
    config: HardwareConfig, options: SelftestOptions, *, pin_factory: Any = None
) -> list[PartResult]:
    """Test every part ``config`` names; print and return one result per part."""
    results: list[PartResult] = []

    def report(result: PartResult) -> None:
        results.append(result)
        print(result.line(), file=options.out, flush=True)

    if config.display is not None:
        report(_display(config.display, options))
    pins, owned = _pins(config, pin_factory, report)
    try:
        for result in _gpio_parts(config, pins, options):
            report(result)
    finally:
        if owned:
            pins.close()
    if config.relay is not None:
        report(_relay(config.relay, options))
    for sign in config.signs:
        report(_sign(sign, options))
    return results


def _pins(
    config: HardwareConfig, given: Any, report: Callable[[PartResult], None]
) -> tuple[Any, bool]:
    """(pin factory or None, whether we opened it and must close it)."""
    if given is not None or not (config.buttons or config.indicator or config.buzzer):
        return given, False
    try:
        return make_pin_factory(config.pin_factory), True
    except HardwareError as error:
        report(PartResult("gpio", False, str(error)))
        return None, False


def _gpio_parts(
    config: HardwareConfig, pins: Any, options: SelftestOptions
) -> Iterator[PartResult]:
    parts = [b.part for b in config.buttons]
    parts += ["indicator"] if config.indicator else []
    parts += ["buzzer"] if config.buzzer else []
    if pins is None:
        yield from (PartResult(part, False, "not tested: no GPIO") for part in parts)
        return
    if config.indicator is not None:
        yield _indicator(config, pins, options)
    if config.buzzer is not None:
        yield _buzzer(config, pins)
    if config.buttons:
        yield from _buttons(config.buttons, pins, options)


def _display(panel: DisplayConfig, options: SelftestOptions) -> PartResult:
    shown = 0
    try:
        display = open_display(panel)
        try:
            display.show(test_pattern(display.size, display.mode))
            time.sleep(options.pace_s * 2)
            wording = options.wording
            for _, _, view in views(wording.first, wording.languages[1:]):
                for page in render_pages(view, display.size, display.mode):
                    display.show(page)
                    shown += 1
                    time.sleep(options.pace_s / 2)
            display.show(test_pattern(display.size, display.mode))
        finally:
            display.close()
    except HardwareError as error:
        return PartResult("display", False, f"after {shown} frames: {error}")
    size = f"{panel.size[0]}x{panel.size[1]}"
    return PartResult(
        "display", True, f"{panel.type} {size}: test pattern and {shown} screen pages"
    )


def test_pattern(size: tuple[int, int], mode: str) -> Image.Image:
    """A frame that shows dead pixels, cut-off edges, a wrong size and the grey levels."""
    width, height = size
    image = Image.new(mode, size)
    draw = ImageDraw.Draw(image)
    white = (255, 255, 255) if mode == "RGB" else 255
    draw.rectangle((0, 0, width - 1, height - 1), outline=white)
    draw.line((0, 0, width - 1, height - 1), fill=white)
    draw.line((0, height - 1, width - 1, 0), fill=white)
    steps = 16 if mode != "1" else 2
    for n in range(steps):
        level = 255 * n // (steps - 1)
        ink = (level, level, level) if mode == "RGB" else level
        left = 2 + n * (width - 4) // steps
        draw.rectangle((left, height - 8, left + (width - 4) // steps - 1, height - 3), fill=ink)
    draw.text((3, 2), f"TEST {width}x{height}", fill=white)
    return image


def _indicator(config: HardwareConfig, pins: Any, options: SelftestOptions) -> PartResult:
    assert config.indicator is not None
    try:
        led = open_indicator(config.indicator, pin_factory=pins)
        try:
            for _, colour in (*COLOURS, ("white", (1.0, 1.0, 1.0))):
                led.show(colour, "steady")
                time.sleep(options.pace_s)
            led.show((1.0, 1.0, 1.0), "blink")
            time.sleep(options.pace_s * 2)
            led.show((0.0, 0.0, 0.0), "off")
        finally:
            led.close()
    except HardwareError as error:
        return PartResult("indicator", False, str(error))
    return PartResult("indicator", True, "lit red, green, blue, white, then blinked")


def _buzzer(config: HardwareConfig, pins: Any) -> PartResult:
    assert config.buzzer is not None
    try:
        buzzer = GpioBuzzer(config.buzzer, pin_factory=pins)
        try:
            buzzer.chirp(2)
            time.sleep(config.buzzer.chirp_s * 5)
        finally:
            buzzer.close()
    except HardwareError as error:
        return PartResult("buzzer", False, str(error))
    return PartResult("buzzer", True, f"two chirps on GPIO{config.buzzer.pin}")


def _gesture(binding: ButtonBinding) -> str:
    pattern = binding.pattern
    if isinstance(pattern, HoldPattern):
        return f"hold it {pattern.hold_s:g} s"
    return f"press it {pattern.presses} times within {pattern.window_s:g} s"


def _buttons(
    bindings: tuple[ButtonBinding, ...], pins: Any, options: SelftestOptions
) -> Iterator[PartResult]:
    heard: queue.Queue[tuple[str, str, str]] = queue.Queue()
    try:
        inputs = GpioInputs(bindings, pin_factory=pins)
    except HardwareError as error:
        yield from (PartResult(b.part, False, str(error)) for b in bindings)
        return
    try:
        inputs.start(
            lambda kind: heard.put(("press", kind, "")),
            lambda part, reason: heard.put(("fault", part, reason)),
        )
        for binding in bindings:
            yield _button(binding, heard, options)
    finally:
        inputs.close()


def _button(
    binding: ButtonBinding, heard: queue.Queue[tuple[str, str, str]], options: SelftestOptions
) -> PartResult:
    name = f"{binding.kind} button on GPIO{binding.pin}"
    if options.input_wait_s <= 0:
        return PartResult(binding.part, True, f"{name}: pin claimed; press not tested")
    print(f"  {name}: {_gesture(binding)} (waiting {options.input_wait_s:g} s)", file=options.out)
    deadline = time.monotonic() + options.input_wait_s
    while (left := deadline - time.monotonic()) > 0:
        try:
            what, subject, reason = heard.get(timeout=left)
        except queue.Empty:
            break
        if what == "fault" and subject == binding.part and reason:
            return PartResult(binding.part, False, reason)
        if what == "press" and subject == binding.kind:
            return PartResult(binding.part, True, f"{name}: pressed")
        print(
            f"  (heard {what} {subject}, waiting for the {binding.kind} button)", file=options.out
        )
    return PartResult(binding.part, False, f"{name}: no press in {options.input_wait_s:g} s")


class _Faults:
    """Collects fault reports from a serial output's worker thread."""

    def __init__(self) -> None:
        self.reasons: list[str] = []

    def __call__(self, part: str, reason: str) -> None:
        if reason:
            self.reasons.append(reason)


def _wait_link(output: RelayBoard | AlphaSign, faults: _Faults) -> str | None:
    """None once the port took a write, else why not."""
    deadline = time.monotonic() + LINK_WAIT_S
    while time.monotonic() < deadline and not faults.reasons:
        if output.connected:
            return None
        time.sleep(0.02)
    return faults.reasons[0] if faults.reasons else "port did not open in time"


def _relay(relay: RelayConfig, options: SelftestOptions) -> PartResult:
    """Each channel on alone for a moment, then every channel off."""
    channels = range(1, relay.channels + 1)
    pulses = MappingProxyType({f"selftest-{n}": frozenset({n}) for n in channels})
    faults = _Faults()
    board = RelayBoard(
        replace(relay, actions=pulses, drill_actions=MappingProxyType({})),
        on_fault=faults,
        retry=options.retry,
    )
    try:
        for channel in channels:
            board.apply(f"selftest-{channel}", False)
            problem = _wait_link(board, faults)
            if problem is not None:
                return PartResult(relay.part, False, problem)
            time.sleep(max(options.pace_s, MIN_PULSE_S))
        board.apply("all_clear", False)
        time.sleep(relay.frame_gap_s * relay.channels + 0.1)
    finally:
        board.close()
    if faults.reasons:
        return PartResult(relay.part, False, faults.reasons[0])
    return PartResult(relay.part, True, f"pulsed channels 1-{relay.channels}, then all off")


def _sign(sign: SignConfig, options: SelftestOptions) -> PartResult:
    faults = _Faults()
    text = f"ROOMCAST TEST {options.room}"
    board = AlphaSign(sign, on_fault=faults, retry=options.retry)
    try:
        board.apply("selftest", False, text)
        problem = _wait_link(board, faults)
        time.sleep(options.pace_s)
    finally:
        board.close()
    if problem is not None:
        return PartResult(sign.part, False, problem)
    return PartResult(sign.part, True, f'sent "{board.text}"')
