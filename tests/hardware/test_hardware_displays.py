"""Displays through luma: its dummy device, its real drivers over a fake I2C bus, emulator.

The fake bus sits where smbus2 would, under luma's own ``i2c`` transport, so luma's real
error handling (EREMOTEIO -> DeviceNotFoundError) runs exactly as on a Pi.
"""

from __future__ import annotations

import errno
import sys
from pathlib import Path

import pytest
from luma.core.interface.serial import i2c
from luma.oled.device import ssd1306, ssd1322
from PIL import Image, ImageChops, ImageDraw

from hardware.config import DisplayConfig, I2cBus, SpiBus
from hardware.displays import LumaDisplay, open_display
from hardware.errors import FrameMismatch, PartUnavailable

# luma.oled 3.16's drivers still call Image.getdata(), which Pillow 13 deprecates (removal
# in Pillow 14). That is luma's warning, not ours; ours still fail the run.
pytestmark = pytest.mark.filterwarnings(
    "ignore:Image.Image.getdata is deprecated:DeprecationWarning:luma"
)

SETCONTRAST, DISPLAYOFF, DISPLAYON = 0x81, 0xAE, 0xAF
COMMAND, DATA = 0x00, 0x40


class FakeSMBus:
    """Records I2C block writes like smbus2 would send them; can be "unplugged"."""

    def __init__(self) -> None:
        self.writes: list[tuple[int, int, list[int]]] = []
        self.unplugged = False

    def write_i2c_block_data(self, address: int, register: int, data: list[int]) -> None:
        if self.unplugged:
            raise OSError(errno.EREMOTEIO, "Remote I/O error")
        self.writes.append((address, register, list(data)))

    def commands(self) -> list[list[int]]:
        return [data for _, register, data in self.writes if register == COMMAND]

    def close(self) -> None:
        """smbus2's close: nothing to release here."""


def frame(mode: str, size: tuple[int, int]) -> Image.Image:
    image = Image.new(mode, size)
    draw = ImageDraw.Draw(image)
    draw.rectangle((4, 4, size[0] // 2, size[1] // 2), fill=255 if mode != "RGB" else "red")
    draw.text((size[0] // 2 + 2, 2), "HOLD", fill=128 if mode == "L" else "white")
    return image


def same(a: Image.Image, b: Image.Image) -> bool:
    return (
        a.size == b.size
        and ImageChops.difference(a.convert("RGB"), b.convert("RGB")).getbbox() is None
    )


def dummy(mode: str = "1", width: int = 128, height: int = 64, rotate: int = 0) -> LumaDisplay:
    return open_display(
        DisplayConfig(type="dummy", width=width, height=height, mode=mode, rotate=rotate)
    )


@pytest.mark.parametrize(
    ("mode", "size"), [("1", (128, 64)), ("1", (128, 32)), ("L", (256, 64)), ("RGB", (96, 64))]
)
def test_the_frame_shown_is_the_frame_given(mode: str, size: tuple[int, int]) -> None:
    display = dummy(mode, *size)
    given = frame(mode, size)
    display.show(given)
    assert display.size == size and display.mode == mode
    assert same(display.device.image, given)


def test_greyscale_frames_keep_their_grey_levels() -> None:
    display = dummy("L", 256, 64)
    given = frame("L", (256, 64))
    display.show(given)
    assert display.device.image.convert("L").tobytes() == given.tobytes()


def test_rotation_swaps_the_frame_size() -> None:
    display = dummy("1", 128, 64, rotate=1)
    assert display.size == (64, 128)
    display.show(frame("1", (64, 128)))
    assert display.device.image.size == (128, 64)  # luma rotates it back for the panel


@pytest.mark.parametrize(("mode", "size"), [("1", (128, 32)), ("L", (128, 64)), ("RGB", (128, 64))])
def test_a_frame_of_the_wrong_size_or_mode_is_refused(mode: str, size: tuple[int, int]) -> None:
    display = dummy("1", 128, 64)
    with pytest.raises(FrameMismatch, match=r"takes 1 frames of \(128, 64\)"):
        display.show(Image.new(mode, size))
    assert display.device.image is None  # nothing converted, nothing shown


def test_brightness_maps_to_contrast_and_zero_sleeps_the_panel() -> None:
    bus = FakeSMBus()
    display = LumaDisplay(ssd1306(i2c(bus=bus, address=0x3C)))
    bus.writes.clear()
    display.set_brightness(0.5)
    display.set_brightness(0.0)
    display.set_brightness(1.0)
    display.set_brightness(0.001)
    assert bus.commands() == [
        [SETCONTRAST, 128],
        [DISPLAYOFF],
        [DISPLAYON],
        [SETCONTRAST, 255],
        [SETCONTRAST, 1],
    ]


def test_frames_reach_the_panel_over_i2c() -> None:
    bus = FakeSMBus()
    display = LumaDisplay(ssd1306(i2c(bus=bus, address=0x3C), width=128, height=32))
    bus.writes.clear()
    display.show(frame("1", (128, 32)))
    sent = [byte for _, register, data in bus.writes if register == DATA for byte in data]
    assert len(sent) == 128 * 32 // 8 and any(sent)


def test_a_greyscale_panel_takes_l_frames() -> None:
    bus = FakeSMBus()
    display = LumaDisplay(ssd1322(i2c(bus=bus, address=0x3C)), mode="L")
    bus.writes.clear()
    display.show(frame("L", (256, 64)))
    assert display.mode == "L" and any(data for _, reg, data in bus.writes if reg == DATA)


def test_an_unplugged_panel_names_its_address_and_what_to_run() -> None:
    bus = FakeSMBus()
    display = LumaDisplay(
        ssd1306(i2c(bus=bus, address=0x3D)),
        where="I2C bus 1 address 0x3d",
        fix="run i2cdetect -y 1",
    )
    bus.unplugged = True
    with pytest.raises(PartUnavailable, match="0x3D") as caught:
        display.show(frame("1", (128, 64)))
    assert caught.value.part == "display" and "i2cdetect -y 1" in str(caught.value)


def test_close_keeps_the_last_frame_on_the_panel() -> None:
    bus = FakeSMBus()
    device = ssd1306(i2c(bus=bus, address=0x3C))
    display = LumaDisplay(device)
    display.show(frame("1", (128, 64)))
    bus.writes.clear()
    display.close()
    assert device.persist is True
    assert bus.writes == []  # no DISPLAYOFF, no blank frame


def test_a_missing_i2c_bus_says_how_to_enable_it() -> None:
    config = DisplayConfig(
        type="ssd1306", width=128, height=64, mode="1", bus=I2cBus(port=97, address=0x3C)
    )
    with pytest.raises(PartUnavailable, match="/dev/i2c-97") as caught:
        open_display(config)
    assert "I2C bus 97 address 0x3c" in str(caught.value)
    assert "raspi-config nonint do_i2c 0" in str(caught.value)


def test_a_spi_panel_without_its_libraries_says_what_to_install(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "RPi", None)
    monkeypatch.setitem(sys.modules, "RPi.GPIO", None)
    monkeypatch.setitem(sys.modules, "spidev", None)
    config = DisplayConfig(
        type="ssd1322", width=256, height=64, mode="L", bus=SpiBus(gpio_dc=24, gpio_rst=25)
    )
    with pytest.raises(PartUnavailable, match="DC=GPIO24, RST=GPIO25") as caught:
        open_display(config)
    assert "pip install 'roomcast[spi]'" in str(caught.value)
    assert "gcc python3-dev" in str(caught.value)


def test_the_emulator_writes_each_frame_as_a_png(tmp_path: Path) -> None:
    config = DisplayConfig(
        type="emulator", width=128, height=64, mode="1", directory=tmp_path / "frames"
    )
    display = open_display(config)
    given = frame("1", (128, 64))
    display.show(given)
    written = tmp_path / "frames" / "frame.png"
    with Image.open(written) as png:
        assert same(png, given)
    display.show(Image.new("1", (128, 64)))
    assert sorted(p.name for p in written.parent.iterdir()) == ["frame.png"]


def test_the_emulator_can_keep_every_frame(tmp_path: Path) -> None:
    config = DisplayConfig(
        type="emulator", width=256, height=64, mode="L", directory=tmp_path, keep_frames=True
    )
    display = open_display(config)
    for _ in range(3):
        display.show(frame("L", (256, 64)))
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "frame-000001.png",
        "frame-000002.png",
        "frame-000003.png",
    ]


def test_a_missing_emulator_says_what_to_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "luma.emulator.device", None)
    config = DisplayConfig(type="emulator", width=128, height=64, mode="1", directory=tmp_path)
    with pytest.raises(PartUnavailable, match=r"pip install luma\.emulator"):
        open_display(config)
