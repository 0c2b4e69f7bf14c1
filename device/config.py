"""The device's configuration file (JSON, from its provisioning bundle)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

from hardware.config import BUTTON_KINDS
from protocol.languages import SiteWording
from protocol.messages import EventKind
from protocol.signing import HubPublicKey, NotAPublicKey, NotEd25519, PublicKey
from transport.endpoint import BrokerEndpoint
from transport.settings import ConfigError, Settings
from transport.wording_file import wording_setting

FIRMWARE = "roomcast-0.1.0"

CANCEL_WINDOW_S = (5.0, 600.0)
"""Allowed range of ``cancel_window_s``: long enough to reach the cancel button and hold
it, short enough that a cancel cannot withdraw an alert the responders are acting on."""

BUTTON_EVENTS: Mapping[str, EventKind] = MappingProxyType(
    {kind: EventKind(kind.replace("-", "_")) for kind in BUTTON_KINDS}
)
"""The event each button kind of the config raises, mapped once: a press only looks it up.
Built at import, so a button kind the protocol has no event for stops the node at once."""

__all__ = ["BUTTON_EVENTS", "FIRMWARE", "ConfigError", "DeviceConfig", "load_device_config"]


@dataclass(frozen=True, kw_only=True)
class DeviceConfig:
    site: str
    device_id: str
    room: str
    building: str
    room_name: str
    broker: BrokerEndpoint
    hub_public_key: PublicKey
    state_dir: Path
    cancel_window_s: float = 60.0
    """How long after a panic press the cancel button can still withdraw it."""
    hardware: Mapping[str, Any] = field(default_factory=dict)
    panic_chirp: bool = False
    """Beep to confirm a panic press (never during a Lockdown). Off by default: Alyssa's
    Law asks for a silent alarm, and an intruder in the room must not hear the press."""
    simulated: bool = False
    """``"hardware": {"simulated": true}``: no real parts (the demo, tests). Such a node
    says SIMULATED on every frame of its screen (see ``ScreenView.simulated``) and in its
    status, so it never passes for a classroom."""
    wording: SiteWording = field(default_factory=SiteWording)
    """The site's display languages and their words (``wording`` in the bundle)."""

    @property
    def room_label(self) -> str:
        """What the screen's top bar names the room by."""
        return self.room_name or self.room

    @property
    def firmware(self) -> str:
        """What the node's status reports as its firmware (the hub shows it per device)."""
        return f"{FIRMWARE} SIMULATED" if self.simulated else FIRMWARE


def load_device_config(path: Path, *, state_dir: Path | None = None) -> DeviceConfig:
    """Read and validate a device config file; relative paths are relative to its folder."""
    settings = Settings.load(path, missing_hint="install the device bundle first")
    hardware, simulated = _hardware(settings)
    return DeviceConfig(
        site=settings.level("site", "site"),
        device_id=settings.level("device_id", "device"),
        room=settings.level("room", "room"),
        building=settings.level("building", "building"),
        room_name=settings.get("room_name", str, ""),
        broker=settings.broker(),
        hub_public_key=_public_key(settings, "hub_public_key"),
        state_dir=state_dir or settings.state_dir(),
        cancel_window_s=_cancel_window(settings),
        hardware=hardware,
        panic_chirp=settings.get("panic_chirp", bool, False),
        simulated=simulated,
        wording=wording_setting(settings),
    )


def _hardware(settings: Settings) -> tuple[dict[str, Any], bool]:
    """The hardware section and whether the node is explicitly simulated."""
    section = dict(settings.get("hardware", dict, {}))
    simulated = section.pop("simulated", False)
    if not isinstance(simulated, bool):
        raise settings.fail("hardware", "simulated must be true or false")
    if simulated and section:
        raise settings.fail(
            "hardware",
            f"a simulated node has no parts, but {', '.join(sorted(section))} are given; "
            "remove them or remove simulated",
        )
    return section, simulated


def _cancel_window(settings: Settings, key: str = "cancel_window_s") -> float:
    window = settings.get(key, float, 60.0)
    low, high = CANCEL_WINDOW_S
    if not low <= window <= high:
        raise settings.fail(
            key,
            f"{window:g} s is outside {low:g}..{high:g} s; a false alarm must stay "
            "cancellable long enough to reach the cancel button, and no longer",
        )
    return window


def _public_key(settings: Settings, key: str) -> HubPublicKey:
    """The hub's key from the bundle's PEM file, read without ``cryptography`` (see
    :mod:`protocol.signing`: the node verifies with PyNaCl)."""
    path = settings.existing_file(key)
    try:
        return HubPublicKey.from_pem(path.read_bytes())
    except NotAPublicKey:
        raise settings.fail(key, f"{path} is not a PEM public key") from None
    except NotEd25519:
        raise settings.fail(
            key, f"{path} is not an Ed25519 key (the hub signs with Ed25519)"
        ) from None
