"""Hardware profiles: what a room's node is built from, named once per site.

A profile is one JSON file, ``<site>/profiles/<name>.json``, holding the ``hardware``
section of a node's config (``docs/hardware.md``). The rooms CSV's ``hardware`` column
names a profile per room; every bundle carries its room's section, and rotation re-issues
it from the profile, so a node is never installed (or re-keyed) without knowing its parts.

Profiles are checked with the node's own parser (``hardware.config_parse``: a pure
function, no GPIO or display library) when they are loaded, so a typo is refused on the
IT laptop with the file and key, not discovered in a classroom whose button does nothing.

``simulated`` is built in and has no file: a node with that profile draws to a PNG, has
no buttons, and says SIMULATED on its screen and to the hub. The demo uses it; a school
should never need it.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from hardware.config_parse import parse_hardware_config
from protocol.topics import InvalidName, check_level
from provisioning.errors import ProfileError
from provisioning.fsutil import make_private_dir, write_json

PROFILES_DIR = "profiles"
SIMULATED = "simulated"
SIMULATED_SECTION: Mapping[str, Any] = {"simulated": True}
"""The ``hardware`` section of a simulated node: ``device.config`` reads it."""

_BUTTONS = [
    {"pin": 17, "kind": "panic"},
    {"pin": 27, "kind": "cancel"},
    {"pin": 22, "kind": "staff-assist"},
    {"pin": 23, "kind": "all-accounted"},
]
EXAMPLES: Mapping[str, Mapping[str, Any]] = {
    "oled-4button": {
        "pin_factory": "lgpio",
        "buttons": _BUTTONS,
        "indicator": {"type": "rgb", "red": 5, "green": 6, "blue": 13},
        "buzzer": {"pin": 12},
        "display": {
            "type": "ssd1306",
            "width": 128,
            "height": 64,
            "i2c": {"port": 1, "address": "0x3C"},
        },
    },
    "sign-and-strobe": {
        "pin_factory": "lgpio",
        "buttons": _BUTTONS[:2],
        "indicator": {"type": "rgb", "red": 5, "green": 6, "blue": 13},
        "relay": {
            "port": "/dev/serial/by-id/usb-1a86_USB_Serial-if00-port0",
            "channels": 2,
            "actions": {"lockdown": [1, 2], "evacuate": [1], "shelter": [1]},
            "drill_actions": {"lockdown": [1]},
        },
        "signs": [{"port": "/dev/serial/by-id/usb-FTDI_FT232R_USB_UART-if00-port0"}],
    },
}
"""Written by ``init`` as a starting point; edit them to the school's wiring."""


def profiles_dir(site_root: Path) -> Path:
    return site_root / PROFILES_DIR


def write_examples(site_root: Path) -> None:
    """The example profiles, in a new site (never over a profile IT has edited)."""
    folder = make_private_dir(profiles_dir(site_root))
    for name, section in EXAMPLES.items():
        path = folder / f"{name}.json"
        if not path.exists():
            write_json(path, dict(section))


def load_profiles(site_root: Path) -> dict[str, dict[str, Any]]:
    """Every profile of the site, checked; ``simulated`` included."""
    profiles: dict[str, dict[str, Any]] = {SIMULATED: dict(SIMULATED_SECTION)}
    folder = profiles_dir(site_root)
    for path in sorted(folder.glob("*.json")) if folder.is_dir() else []:
        profiles[_name(path)] = _load(path)
    return profiles


def _name(path: Path) -> str:
    try:
        name = check_level("hardware profile", path.stem)
    except InvalidName as exc:
        raise ProfileError(f"{path}: {exc}; rename the file") from None
    if name == SIMULATED:
        raise ProfileError(f"{path}: '{SIMULATED}' is built in; give the file another name")
    return name


def _load(path: Path) -> dict[str, Any]:
    try:
        section = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise ProfileError(f"{path}: cannot read it ({exc})") from exc
    except ValueError as exc:
        raise ProfileError(f"{path}: not valid JSON ({exc}); fix it") from exc
    if not isinstance(section, dict) or not section:
        raise ProfileError(f"{path}: must be a JSON object holding a hardware section")
    try:
        parse_hardware_config(section)
    except ValueError as exc:  # the parser's HardwareConfigError, naming the key and the fix
        raise ProfileError(f"{path}: {exc}") from None
    return section


def unknown_profile(name: str, known: Mapping[str, object]) -> str:
    """The message for a profile nobody defined, with the nearest name if there is one."""
    close = difflib.get_close_matches(name, list(known), n=1)
    hint = f"did you mean {close[0]!r}? " if close else ""
    return (
        f"hardware profile {name!r} is not defined ({hint}profiles: {', '.join(sorted(known))}); "
        f"fix the name, or add {PROFILES_DIR}/{name}.json to the site"
    )
