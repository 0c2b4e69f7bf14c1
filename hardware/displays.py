"""OLED displays through luma, implementing :class:`hardware.interfaces.Display`.

:func:`open_display` picks the luma device that ``hardware.display`` names, on the bus
it names, and wraps it in :class:`LumaDisplay`. Devices are built with ``persist=True``:
luma's exit hook would otherwise blank the screen whenever the service restarts, and a
classroom in a Lockdown must keep seeing its directive. luma modules are imported only
for the panel in use, so a node with an SPI panel needs no emulator and vice versa.
"""

from __future__ import annotations

import importlib
import logging
import os
import threading
from typing import TYPE_CHECKING, Any

from luma.core.error import DeviceNotFoundError, DevicePermissionError
from luma.core.error import Error as LumaError
from PIL import Image

from hardware.config import DisplayConfig, I2cBus, SpiBus
from hardware.errors import FrameMismatch, PartUnavailable

log = logging.getLogger(__name__)

PART = "display"


class LumaDisplay:
    """A luma device behind our :class:`~hardware.interfaces.Display` protocol.

    Args:
        device: Any luma device (``ssd1306``, ``dummy``, ``capture``...).
        mode: PIL mode of the frames we accept; only "L" may differ from the device's
            own mode, for greyscale panels that luma drives from "RGB" frames.
        where: Bus and address, for error messages.
        fix: What a person should check when the panel stops answering.
    """

    def __init__(
        self,
        device: Any,
        *,
        mode: str | None = None,
        where: str = "",
        fix: str = "Check the display's wiring and power",
    ) -> None:
        frame_mode = mode or device.mode
        if frame_mode != device.mode and (frame_mode, device.mode) != ("L", "RGB"):
            raise ValueError(f"cannot take {frame_mode} frames for a {device.mode} device")
        device.persist = True
        self._device = device
        self._mode: str = frame_mode
        self._where = where
        self._fix = fix
        self._lock = threading.Lock()  # one bus transaction at a time
        self._asleep = False

    @property
    def size(self) -> tuple[int, int]:
        """Width and height of the frames to render, rotation included."""
        width, height = self._device.size
        return (int(width), int(height))

    @property
    def mode(self) -> str:
        """PIL mode of the frames to render: "1", "L" or "RGB"."""
        return self._mode

    @property
    def device(self) -> Any:
        """The luma device underneath (a ``dummy``'s ``.image`` is the last frame)."""
        return self._device

    def show(self, frame: Image.Image) -> None:
        """Send ``frame`` to the panel. Blocking (an I2C/SPI write): call it off the loop.

        Raises:
            FrameMismatch: the frame's size or mode is not the display's; nothing is
                converted, so what is shown is exactly what was rendered.
            PartUnavailable: the panel stopped answering.
        """
        if frame.size != self.size or frame.mode != self._mode:
            raise FrameMismatch(
                f"{PART} takes {self._mode} frames of {self.size}, got "
                f"{frame.mode} {frame.size}: render at the display's size "
                "and mode"
            )
        # Greyscale panels: luma wants RGB; L->RGB is lossless (r = g = b = grey).
        image = frame if frame.mode == self._device.mode else frame.convert(self._device.mode)
        with self._lock:
            self._call(self._device.display, image)

    def set_brightness(self, level: float) -> None:
        """0.0 switches the panel off, up to 1.0 full contrast (luma ``contrast()``).

        Contrast 0 still glows on most controllers, so "off" is the panel's sleep mode.
        """
        level = min(1.0, max(0.0, level))
        with self._lock:
            if level == 0.0:
                self._call(self._device.hide)
                self._asleep = True
                return
            if self._asleep:
                self._call(self._device.show)
                self._asleep = False
            self._call(self._device.contrast, max(1, round(level * 255)))

    def close(self) -> None:
        """Release the bus; the panel keeps its last frame (``persist``)."""
        with self._lock:
            try:
                self._device.cleanup()
            except Exception:
                log.warning("display cleanup failed", exc_info=True)

    def _call(self, method: Any, *args: Any) -> None:
        try:
            method(*args)
        except (OSError, LumaError) as error:
            raise PartUnavailable(PART, self._where, str(error), self._fix) from error


def open_display(config: DisplayConfig) -> LumaDisplay:
    """The display described by ``hardware.display``, ready for frames.

    Raises:
        PartUnavailable: the panel, its bus or a library it needs cannot be reached; the
            message names the bus, the address or pins, and what to check.
    """
    if config.type == "dummy":
        dummy = importlib.import_module("luma.core.device").dummy
        return LumaDisplay(
            dummy(
                width=config.width,
                height=config.height,
                rotate=config.rotate,
                mode=_luma_mode(config.mode),
            ),
            mode=config.mode,
            where="dummy",
        )
    if config.type == "emulator":
        return _open_emulator(config)
    where = _where(config.bus)
    try:
        transport = _transport(config.bus)
        driver = getattr(importlib.import_module("luma.oled.device"), config.type)
        extra = {"mode": "RGB"} if config.mode == "L" else {}
        device = driver(
            transport, width=config.width, height=config.height, rotate=config.rotate, **extra
        )
    except (ImportError, OSError, LumaError) as error:
        raise PartUnavailable(
            PART, where, f"{config.type}: {error}", _fix(config.bus, error)
        ) from error
    return LumaDisplay(device, mode=config.mode, where=where, fix=_fix(config.bus))


def _luma_mode(mode: str) -> str:
    return "RGB" if mode == "L" else mode


def _transport(bus: I2cBus | SpiBus | None) -> Any:
    serial = importlib.import_module("luma.core.interface.serial")
    if isinstance(bus, I2cBus):
        return serial.i2c(port=bus.port, address=bus.address)
    if isinstance(bus, SpiBus):
        return serial.spi(
            port=bus.port,
            device=bus.device,
            gpio_DC=bus.gpio_dc,
            gpio_RST=bus.gpio_rst,
            bus_speed_hz=bus.bus_speed_hz,
        )
    raise ValueError("a panel needs an I2C or SPI bus")


def _where(bus: I2cBus | SpiBus | None) -> str:
    if isinstance(bus, I2cBus):
        return f"I2C bus {bus.port} address {bus.address:#04x}"
    if isinstance(bus, SpiBus):
        return f"SPI {bus.port}.{bus.device}, DC=GPIO{bus.gpio_dc}, RST=GPIO{bus.gpio_rst}"
    return "no bus"


def _fix(bus: I2cBus | SpiBus | None, error: Exception | None = None) -> str:
    """What to do about ``error`` (None: the panel stopped answering after it worked)."""
    if isinstance(error, DevicePermissionError):
        group = "i2c" if isinstance(bus, I2cBus) else "spi and gpio"
        return f"Add the service user to the {group} group(s) and restart the service"
    if isinstance(bus, I2cBus):
        if isinstance(error, DeviceNotFoundError) and "address" not in str(error):
            return (
                f"I2C bus {bus.port} is not enabled: run raspi-config nonint do_i2c 0 "
                "(or set dtparam=i2c_arm=on in config.txt) and reboot"
            )
        return (
            f"Nothing answered at {bus.address:#04x}: check wiring (SDA=GPIO2/pin 3, "
            f"SCL=GPIO3/pin 5, VCC=3V3, GND); run i2cdetect -y {bus.port} and set "
            "hardware.display.i2c.address to the address it shows"
        )
    return (
        "Check wiring (MOSI=GPIO10, SCLK=GPIO11, CE0=GPIO8, DC and RST as in "
        "hardware.display.spi); enable SPI (raspi-config nonint do_spi 0); install "
        "the SPI extras into the service's venv: /opt/roomcast/venv/bin/pip install "
        "'roomcast[spi]' (spidev is built from source: apt-get install gcc python3-dev "
        "first; RPi.GPIO comes as rpi-lgpio, which works on a Pi 5)"
    )


def _open_emulator(config: DisplayConfig) -> LumaDisplay:
    """luma.emulator's ``capture`` device: each frame becomes a PNG in a directory.

    Not ``gifanim``: it calls ``sys.exit`` when it reaches ``max_frames``. ``capture``
    needs pygame only to write PNGs, never a window, hence the dummy video driver.
    """
    os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
    os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")
    directory = config.directory
    assert directory is not None  # the parser requires it for an emulator
    try:
        capture = importlib.import_module("luma.emulator.device").capture
        directory.mkdir(parents=True, exist_ok=True)
    except (ImportError, OSError, RuntimeError) as error:
        raise PartUnavailable(
            PART,
            f"emulator in {directory}",
            str(error),
            "pip install luma.emulator pygame, and make sure "
            "hardware.display.directory is writable",
        ) from error
    name = "frame-{0:06}.png" if config.keep_frames else "frame.png"
    device = capture(
        width=config.width,
        height=config.height,
        rotate=config.rotate,
        mode=_luma_mode(config.mode),
        transform="none",
        scale=1,
        file_template=str(directory / name),
    )
    return LumaDisplay(device, mode=config.mode, where=f"emulator in {directory}")


if TYPE_CHECKING:  # mypy proves the drivers fit the protocols the service types against
    from hardware.interfaces import Display

    def _fits(display: LumaDisplay) -> Display:
        return display
