"""Status LED (RGB or single colour) and buzzer on gpiozero pins.

The LED shows the directive colour and link health at a glance from across a room:
steady = normal, blink = drill, pulse = link trouble. gpiozero runs blinking on its own
background thread, so :meth:`show` returns at once; repeating the same request keeps
the running rhythm instead of restarting it, since the service re-applies its state
often.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

from gpiozero import LED, PWMLED, RGBLED, Buzzer, TonalBuzzer
from gpiozero.exc import GPIOZeroError
from gpiozero.tones import Tone

from hardware.config import BuzzerConfig, IndicatorConfig, LedIndicatorConfig
from hardware.errors import PartUnavailable
from hardware.interfaces import RGB

PATTERNS = ("steady", "blink", "pulse", "off")
BLINK_S = 0.5
"""On and off time of a drill blink: slow enough to read as deliberate."""
PULSE_S = 1.0
"""Fade-in and fade-out time of the link-trouble pulse."""
HEARTBEAT_ON_S, HEARTBEAT_OFF_S = 0.1, 1.9
"""How a plain LED without PWM tells "pulse" apart from "blink": a short flash."""

_FIX = "Check hardware.{section} pins (BCM numbers) and that no other program holds them"


def _checked(colour: RGB, pattern: str) -> RGB:
    if pattern not in PATTERNS:
        raise ValueError(f"pattern must be one of {PATTERNS}, got {pattern!r}")
    if len(colour) != 3:
        raise ValueError(f"colour must be (r, g, b), got {colour!r}")
    r, g, b = (min(1.0, max(0.0, float(c))) for c in colour)
    return (r, g, b)


class RgbIndicator:
    """An RGB LED; without PWM each channel is simply on (> 0.5) or off."""

    def __init__(self, led: Any, *, pwm: bool) -> None:
        self._led = led
        self._pwm = pwm
        self._lock = threading.Lock()
        self._showing: tuple[RGB, str] | None = None

    def show(self, colour: RGB, pattern: str) -> None:
        """Show ``colour`` with ``pattern`` (one of :data:`PATTERNS`)."""
        colour = _checked(colour, pattern)
        if not self._pwm:
            colour = (float(round(colour[0])), float(round(colour[1])), float(round(colour[2])))
        with self._lock:
            if self._showing == (colour, pattern):
                return
            self._showing = (colour, pattern)
            if pattern == "off" or colour == (0, 0, 0):
                self._led.off()
            elif pattern == "steady":
                self._led.color = colour
            elif pattern == "blink":
                self._led.blink(on_time=BLINK_S, off_time=BLINK_S, on_color=colour)
            elif self._pwm:
                self._led.pulse(fade_in_time=PULSE_S, fade_out_time=PULSE_S, on_color=colour)
            else:
                self._led.blink(on_time=HEARTBEAT_ON_S, off_time=HEARTBEAT_OFF_S, on_color=colour)

    @property
    def value(self) -> RGB:
        """What the LED shows right now (changes over time while blinking)."""
        r, g, b = self._led.value
        return (float(r), float(g), float(b))

    def close(self) -> None:
        """Switch off and release the pins."""
        with self._lock:
            self._led.close()


class SingleLedIndicator:
    """A one-colour LED: any colour lights it, black or "off" darkens it."""

    def __init__(self, led: Any, *, pwm: bool) -> None:
        self._led = led
        self._pwm = pwm
        self._lock = threading.Lock()
        self._showing: tuple[bool, str] | None = None

    def show(self, colour: RGB, pattern: str) -> None:
        """Light (or blink, or pulse) the LED unless ``colour`` is black."""
        lit = max(_checked(colour, pattern)) > 0 and pattern != "off"
        with self._lock:
            if self._showing == (lit, pattern):
                return
            self._showing = (lit, pattern)
            if not lit:
                self._led.off()
            elif pattern == "steady":
                self._led.on()
            elif pattern == "blink":
                self._led.blink(on_time=BLINK_S, off_time=BLINK_S)
            elif self._pwm:
                self._led.pulse(fade_in_time=PULSE_S, fade_out_time=PULSE_S)
            else:
                self._led.blink(on_time=HEARTBEAT_ON_S, off_time=HEARTBEAT_OFF_S)

    @property
    def value(self) -> float:
        """Brightness right now, 0.0..1.0."""
        return float(self._led.value)

    def close(self) -> None:
        """Switch off and release the pin."""
        with self._lock:
            self._led.close()


def open_indicator(
    config: IndicatorConfig, *, pin_factory: Any
) -> RgbIndicator | SingleLedIndicator:
    """The status LED described by ``hardware.indicator``.

    Raises:
        PartUnavailable: a pin cannot be claimed.
    """
    try:
        if isinstance(config, LedIndicatorConfig):
            led_class = PWMLED if config.pwm else LED
            return SingleLedIndicator(
                led_class(config.pin, active_high=config.active_high, pin_factory=pin_factory),
                pwm=config.pwm,
            )
        rgb = RGBLED(
            config.red,
            config.green,
            config.blue,
            active_high=config.active_high,
            pwm=config.pwm,
            pin_factory=pin_factory,
        )
        return RgbIndicator(rgb, pwm=config.pwm)
    except (GPIOZeroError, OSError, ValueError) as error:
        where = (
            f"GPIO{config.pin}"
            if isinstance(config, LedIndicatorConfig)
            else f"GPIO{config.red}/{config.green}/{config.blue}"
        )
        raise PartUnavailable(
            "indicator", where, str(error), _FIX.format(section="indicator")
        ) from error


class GpioBuzzer:
    """A buzzer for short, quiet confirmation chirps.

    Never used for a panic press or during a Lockdown: those are silent by law and by
    SRP. Whether to chirp is the service's decision; this class only knows how.
    """

    def __init__(self, config: BuzzerConfig, *, pin_factory: Any) -> None:
        self._config = config
        self._stop = threading.Event()
        self._chirper: threading.Thread | None = None
        try:
            if config.tone_hz is None:
                self._device: Any = Buzzer(
                    config.pin, active_high=config.active_high, pin_factory=pin_factory
                )
            else:
                self._device = TonalBuzzer(
                    config.pin, mid_tone=Tone(frequency=config.tone_hz), pin_factory=pin_factory
                )
        except (GPIOZeroError, OSError, ValueError) as error:
            raise PartUnavailable(
                "buzzer", f"GPIO{config.pin}", str(error), _FIX.format(section="buzzer")
            ) from error

    @property
    def sounding(self) -> bool:
        """Whether the buzzer is making a sound right now."""
        if isinstance(self._device, TonalBuzzer):
            return self._device.value is not None
        return bool(self._device.is_active)

    def chirp(self, count: int = 1) -> None:
        """Sound ``count`` short beeps in the background; returns at once.

        A chirp asked for while one is sounding is dropped: chirps confirm, they do not
        queue up into a long noise.
        """
        on_s = self._config.chirp_s
        if isinstance(self._device, Buzzer):
            self._device.beep(on_time=on_s, off_time=on_s, n=count, background=True)
            return
        if self._chirper is not None and self._chirper.is_alive():
            return
        self._chirper = threading.Thread(
            target=self._tones, args=(count, on_s), daemon=True, name="roomcast-chirp"
        )
        self._chirper.start()

    def _tones(self, count: int, on_s: float) -> None:
        for _ in range(count):
            self._device.play(self._device.mid_tone)
            if self._stop.wait(on_s):
                break
            self._device.stop()
            if self._stop.wait(on_s):
                break
        self._device.stop()

    def close(self) -> None:
        """Silence and release the pin."""
        self._stop.set()
        if self._chirper is not None:
            self._chirper.join(timeout=5.0)
        self._device.close()


if TYPE_CHECKING:  # mypy proves the drivers fit the protocols the service types against
    from hardware.interfaces import Indicator, Sounder

    def _fits(
        led: RgbIndicator | SingleLedIndicator, buzzer: GpioBuzzer
    ) -> tuple[Indicator, Sounder]:
        return led, buzzer
