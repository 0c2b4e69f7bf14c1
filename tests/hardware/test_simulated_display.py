"""The simulator's display: each frame lands, whole, in the room's PNG file."""

from __future__ import annotations

from pathlib import Path

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
