"""The simulator's display: each frame lands, whole, in the room's PNG file."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image, ImageChops, ImageDraw

from hardware.simulated import PngDisplay


def frame(text: str) -> Image.Image:
    image = Image.new("1", (128, 64))
    ImageDraw.Draw(image).text((4, 20), text, fill=255)
    return image


def same(a: Image.Image, b: Image.Image) -> bool:
    return ImageChops.difference(a.convert("L"), b.convert("L")).getbbox() is None


def test_each_room_gets_its_own_file_of_the_frame_it_was_given(tmp_path: Path) -> None:
    rooms = [PngDisplay(tmp_path / f"{room}.png", size=(128, 64)) for room in ("101", "102")]
    for display in rooms:  # the second draw of the same frame comes from the cache
        display.show(frame("LOCKDOWN"))
    rooms[1].show(frame("ALL CLEAR"))
    with Image.open(tmp_path / "101.png") as first, Image.open(tmp_path / "102.png") as second:
        assert same(first, frame("LOCKDOWN"))
        assert same(second, frame("ALL CLEAR"))
    assert [display.frames_shown for display in rooms] == [1, 2]
    assert not list(tmp_path.glob("*.tmp"))


@pytest.mark.parametrize("mode", ["1", "L", "RGB", "RGBA"])
@pytest.mark.parametrize("size", [(128, 64), (256, 128), (13, 7)])
def test_the_png_file_holds_exactly_the_frame(
    tmp_path: Path, mode: str, size: tuple[int, int]
) -> None:
    """Every pixel survives, in the frame's own mode, whatever the row padding (13 px)."""
    image = Image.effect_noise(size, 80).convert(mode)
    ImageDraw.Draw(image).text((1, 1), "LOCKDOWN", fill="white")
    display = PngDisplay(tmp_path / "room.png", size=size, mode=mode)
    display.show(image)
    with Image.open(tmp_path / "room.png") as written:
        written.load()
        assert written.mode == mode and written.size == size
        assert written.tobytes() == image.tobytes()
