"""Byte-level framing for serial peripherals, as pure functions tests check byte by byte.

Two devices, two protocols:

* LCUS-type USB relay modules (CH340 serial, 9600 baud): one 4-byte frame per channel,
  ``A0 <channel> <state> <checksum>``, channel 1-based, state 1 = on, 0 = off, checksum
  the low byte of the sum of the first three.
* LED message signs speaking the Alpha Sign Communications Protocol (Alpha/Adaptive Micro
  Systems, BetaBrite and kin): a "write TEXT file" packet ``NUL*5 SOH 'Z' "00" STX 'A'
  <label> [ESC <position> <mode>] [colour] <text> EOT``.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Mapping
from types import MappingProxyType

RELAY_START = 0xA0

ALPHA_PREAMBLE = b"\x00" * 5
"""At least five NULs let the sign lock on to the baud rate before the header."""
SOH, STX, EOT, ESC, COLOUR_CODE = b"\x01", b"\x02", b"\x04", b"\x1b", b"\x1c"
ALPHA_ALL_SIGNS = b"Z"
ALPHA_WRITE_TEXT = b"A"

ALPHA_POSITIONS: Mapping[str, str] = MappingProxyType(
    {
        "middle": " ",
        "top": '"',
        "bottom": "&",
        "fill": "0",
        "left": "1",
        "right": "2",
    }
)
ALPHA_MODES: Mapping[str, str] = MappingProxyType(
    {
        "rotate": "a",
        "hold": "b",
        "flash": "c",
        "roll_up": "e",
        "roll_down": "f",
        "roll_left": "g",
        "roll_right": "h",
        "wipe_up": "i",
        "wipe_down": "j",
        "wipe_left": "k",
        "wipe_right": "l",
        "scroll": "m",
        "automode": "o",
        "roll_in": "p",
        "roll_out": "q",
        "wipe_in": "r",
        "wipe_out": "s",
        "compressed_rotate": "t",
    }
)
ALPHA_COLOURS: Mapping[str, str] = MappingProxyType(
    {
        "red": "1",
        "green": "2",
        "amber": "3",
        "dim_red": "4",
        "dim_green": "5",
        "brown": "6",
        "orange": "7",
        "yellow": "8",
        "rainbow_1": "9",
        "rainbow_2": "A",
        "colour_mix": "B",
        "autocolour": "C",
    }
)

_PUNCTUATION = str.maketrans(
    {
        "\u2018": "'",
        "\u2019": "'",
        "\u201c": '"',
        "\u201d": '"',
        "\u2013": "-",
        "\u2014": "-",
        "\u2026": "...",
        "\u00a0": " ",
    }
)


def relay_frame(channel: int, on: bool) -> bytes:
    """The 4-byte LCUS command that switches one relay channel on or off."""
    if not 1 <= channel <= 0xFF - RELAY_START:
        raise ValueError(f"relay channel must be 1..{0xFF - RELAY_START}, got {channel}")
    state = 1 if on else 0
    return bytes((RELAY_START, channel, state, (RELAY_START + channel + state) & 0xFF))


def relay_state_frames(channels: int, on: Iterable[int]) -> list[bytes]:
    """Frames that set every channel of a ``channels``-way board: listed ones on, others off.

    The whole state is always sent, never a difference: after a replug the board has
    forgotten everything, and an All clear must switch off a strobe we never knew was on.
    """
    wanted = set(on)
    return [relay_frame(channel, channel in wanted) for channel in range(1, channels + 1)]


def alpha_safe_text(text: str, max_chars: int) -> str:
    """Reduce free text to what a sign shows: printable ASCII on one line, at most ``max_chars``.

    Control bytes would end or corrupt the packet (an EOT inside the text ends it early),
    and signs show accented letters as garbage, so letters lose their accents, typographic
    quotes and dashes become ASCII, line breaks become spaces and the rest is dropped.
    """
    decomposed = unicodedata.normalize("NFKD", text.translate(_PUNCTUATION))
    kept = []
    for char in decomposed:
        if char.isspace():
            kept.append(" ")
        elif " " <= char <= "~":
            kept.append(char)
    return " ".join("".join(kept).split())[:max_chars]


def alpha_text_packet(
    text: str,
    *,
    address: str = "00",
    file_label: str = "A",
    position: str = "fill",
    mode: str = "hold",
    colour: str | None = None,
) -> bytes:
    """An Alpha "write TEXT file" packet that makes the sign show ``text``.

    Args:
        text: Printable ASCII only (see :func:`alpha_safe_text`); an empty text blanks
            the sign.
        address: Two hex digits; "00" addresses every sign on the line.
        file_label: The TEXT file to write; "A" is the file signs run by default.
        position: A key of :data:`ALPHA_POSITIONS`.
        mode: A key of :data:`ALPHA_MODES`.
        colour: A key of :data:`ALPHA_COLOURS`, or None for the sign's default.

    Raises:
        ValueError: A field would break the packet's framing.
    """
    if any(not " " <= char <= "~" for char in text):
        raise ValueError("sign text must be printable ASCII: pass it through alpha_safe_text")
    if len(address) != 2 or any(c not in "0123456789ABCDEFabcdef" for c in address):
        raise ValueError(f"sign address must be two hex digits, got {address!r}")
    if len(file_label) != 1 or not file_label.isalnum() or not file_label.isascii():
        raise ValueError(f"file label must be one letter or digit, got {file_label!r}")
    fields = ESC + ALPHA_POSITIONS[position].encode() + ALPHA_MODES[mode].encode()
    if colour is not None:
        fields += COLOUR_CODE + ALPHA_COLOURS[colour].encode()
    header = SOH + ALPHA_ALL_SIGNS + address.encode() + STX + ALPHA_WRITE_TEXT
    return ALPHA_PREAMBLE + header + file_label.encode() + fields + text.encode() + EOT
