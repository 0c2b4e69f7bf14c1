"""Relay and Alpha sign framing, checked byte by byte."""

from __future__ import annotations

import pytest

from hardware.serial_frames import (
    alpha_safe_text,
    alpha_text_packet,
    relay_frame,
    relay_state_frames,
)


@pytest.mark.parametrize(
    ("channel", "on", "expected"),
    [
        (1, True, "a0 01 01 a2"),
        (1, False, "a0 01 00 a1"),
        (2, True, "a0 02 01 a3"),
        (4, False, "a0 04 00 a4"),
        (8, True, "a0 08 01 a9"),
        (0x5F, True, "a0 5f 01 00"),  # the checksum wraps to one byte
    ],
)
def test_relay_frames_match_the_lcus_protocol(channel: int, on: bool, expected: str) -> None:
    assert relay_frame(channel, on) == bytes.fromhex(expected)


@pytest.mark.parametrize("channel", [0, -1, 0x60])
def test_relay_channels_are_one_based_and_fit_a_byte(channel: int) -> None:
    with pytest.raises(ValueError, match="channel"):
        relay_frame(channel, True)


def test_the_whole_board_state_is_sent_every_time() -> None:
    frames = relay_state_frames(4, {2, 4})
    assert frames == [
        bytes.fromhex(h) for h in ("a0 01 00 a1", "a0 02 01 a3", "a0 03 00 a3", "a0 04 01 a5")
    ]


def test_all_clear_switches_every_channel_off() -> None:
    assert relay_state_frames(2, ()) == [bytes.fromhex("a0 01 00 a1"), bytes.fromhex("a0 02 00 a2")]


def test_an_alpha_text_packet_byte_by_byte() -> None:
    packet = alpha_text_packet("LOCKDOWN")
    assert packet == (
        b"\x00\x00\x00\x00\x00"  # sync NULs
        b"\x01"  # SOH
        b"Z"  # type code: all signs
        b"00"  # address: broadcast
        b"\x02"  # STX
        b"A"  # command: write TEXT file
        b"A"  # file label
        b"\x1b0b"  # ESC, position fill, mode hold
        b"LOCKDOWN"
        b"\x04"
    )  # EOT


def test_alpha_packet_options_land_in_their_fields() -> None:
    packet = alpha_text_packet(
        "Evacuate! To the flag pole.",
        address="1F",
        file_label="B",
        position="top",
        mode="rotate",
        colour="green",
    )
    assert packet == (
        b"\x00" * 5 + b'\x01Z1F\x02AB\x1b"a\x1c2' + b"Evacuate! To the flag pole.\x04"
    )


def test_an_empty_text_blanks_the_sign() -> None:
    assert alpha_text_packet("").endswith(b"\x1b0b\x04")


@pytest.mark.parametrize("text", ["end\x04early", "tab\there", "caf\u00e9"])
def test_text_that_would_break_the_packet_is_refused(text: str) -> None:
    with pytest.raises(ValueError, match="printable ASCII"):
        alpha_text_packet(text)


@pytest.mark.parametrize(
    ("field", "value"),
    [("address", "0"), ("address", "G0"), ("file_label", "AB"), ("file_label", "\x04")],
)
def test_header_fields_are_checked(field: str, value: str) -> None:
    with pytest.raises(ValueError, match=field.replace("_", " ")):
        alpha_text_packet("x", **{field: value})


def test_safe_text_is_one_line_of_printable_ascii() -> None:
    text = "Shelter for tornado \u2014 \u201cgo to\u201d the\nshelter\tarea\x04 \u00e0 la caf\u00e9"
    assert alpha_safe_text(text, 200) == 'Shelter for tornado - "go to" the shelter area a la cafe'


def test_safe_text_is_cut_to_the_sign_length() -> None:
    assert alpha_safe_text("Locks, lights, out of sight.", 12) == "Locks, light"
