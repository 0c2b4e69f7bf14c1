"""The hub's configuration file (JSON), written by ``roomcast provision init`` or the demo."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import load_pem_private_key

from hub.auth import validate_users_file
from hub.district_config import DistrictSettings, load_district
from hub.proxies import TrustedProxies
from hub.relay.config import RELAY_FILE, RelayConfig, load_relay_config
from hub.weather.config import WeatherConfig, load_weather_config
from protocol.accounts import Role
from protocol.factors import required_roles
from protocol.inventory import Inventory, InventoryError
from protocol.languages import SiteWording
from transport.endpoint import BrokerEndpoint
from transport.settings import ConfigError, Settings
from transport.wording_file import WORDING_FILE, load_wording_file

__all__ = ["ConfigError", "HubConfig", "load_hub_config"]

T = TypeVar("T")


@dataclass(frozen=True, kw_only=True)
class HubConfig:
    site: str
    broker: BrokerEndpoint
    signing_key: Ed25519PrivateKey
    inventory: Inventory
    inventory_file: Path
    """Re-read when it changes: devices provisioned (or revoked) later need no restart."""
    state_dir: Path
    wording: SiteWording = field(default_factory=SiteWording)
    """The site's languages and words, from ``wording.toml`` beside the config (the same
    file every device bundle carries); none: English only. The console, the API and the
    relay word directives in its first language."""
    http_host: str = "127.0.0.1"
    http_port: int = 8080
    heartbeat_s: float = 5.0
    users_file: Path
    """Console users and their scrypt hashes (``roomcast provision user``)."""
    trusted_proxies: TrustedProxies = field(default_factory=TrustedProxies)
    """Reverse proxies whose ``X-Forwarded-For`` is believed (hub.proxies); none by default."""
    totp_required_for: frozenset[Role] = frozenset({Role.ADMIN})
    """Roles that must log in with a second factor (hub.second_factor); admin always."""
    control_lapse_s: float = 45.0
    teacher_cancel_window_s: float = 60.0
    """How long after a press on the teacher's page it can still be cancelled (5-600 s)."""
    teacher_hold_s: float = 3.0
    """How long the page's panic button must be held (1-10 s), as deliberate as a button's."""
    """Console control lapses when its holder has had no live stream this long (a closed
    browser must not keep control through an emergency); see :mod:`hub.console_control`."""
    relay: RelayConfig | None = None
    """Hand-offs beyond the building, from ``relay.toml`` beside the config; None: no relay."""
    weather: WeatherConfig | None = None
    """The weather feed to poll, from relay.toml's ``[weather]``; None: no weather banners."""
    quarantine_command: tuple[str, ...] = ()
    """Run after each change of the cut-off list (hub.quarantine) where the hub may reload
    the broker itself; empty on a hub host, where a systemd path unit does it as root."""

    district: DistrictSettings | None = None
    """The school's district (hub.district_config); None: a school on its own."""

    @property
    def database(self) -> Path:
        return self.state_dir / "hub.db"


def load_hub_config(path: Path) -> HubConfig:
    settings = Settings.load(path, missing_hint="create a site with `roomcast provision init`")
    site = settings.level("site", "site")
    inventory = _inventory(settings)
    if inventory.site != site:
        raise settings.fail("inventory", f"is for site {inventory.site!r}, not {site!r}")
    heartbeat = settings.get("heartbeat_s", float, 5.0)
    if not 0.5 <= heartbeat <= 60:
        raise settings.fail("heartbeat_s", "must be between 0.5 and 60 seconds")
    lapse = settings.get("console.control_lapse_s", float, 45.0)
    if not 1 <= lapse <= 3600:
        raise settings.fail("console.control_lapse_s", "must be between 1 and 3600 seconds")
    return HubConfig(
        site=site,
        broker=settings.broker(),
        signing_key=_signing_key(settings, "signing_key"),
        inventory=inventory,
        inventory_file=settings.existing_file("inventory"),
        state_dir=settings.state_dir(),
        wording=_wording(path.parent / WORDING_FILE),
        http_host=settings.get("http.host", str, "127.0.0.1"),
        http_port=settings.get("http.port", int, 8080),
        heartbeat_s=heartbeat,
        users_file=_users_file(settings),
        trusted_proxies=_checked(settings, "trusted_proxies", TrustedProxies.parse, []),
        totp_required_for=_checked(settings, "totp_required_for", required_roles, ["admin"]),
        control_lapse_s=lapse,
        teacher_cancel_window_s=_ranged(settings, "teacher.cancel_window_s", 60.0, (5, 600)),
        teacher_hold_s=_ranged(settings, "teacher.hold_s", 3.0, (1, 10)),
        relay=load_relay_config(path.parent / RELAY_FILE),
        weather=load_weather_config(path.parent / RELAY_FILE),
        quarantine_command=_command(settings, "quarantine.command"),
        district=load_district(settings),
    )


def _ranged(settings: Settings, key: str, default: float, bounds: tuple[float, float]) -> float:
    value = settings.get(key, float, default)
    if not bounds[0] <= value <= bounds[1]:
        raise settings.fail(key, f"{value:g} s is outside {bounds[0]:g}..{bounds[1]:g} s")
    return value


def _command(settings: Settings, key: str) -> tuple[str, ...]:
    words: list[Any] = settings.get(key, list, [])
    if not all(isinstance(word, str) and word for word in words):
        raise settings.fail(key, "must be a list of words (a program and its arguments)")
    return tuple(words)


def _checked(settings: Settings, key: str, parse: Callable[[Any], T], default: Any) -> T:
    """``parse`` the value at ``key``; its ValueError becomes a ConfigError naming the key."""
    try:
        return parse(settings.data.get(key, default))
    except ValueError as error:
        raise settings.fail(key, str(error)) from None


def _inventory(settings: Settings) -> Inventory:
    path = settings.existing_file("inventory")
    try:
        return Inventory.from_dict(json.loads(path.read_text(encoding="utf-8")))
    except (json.JSONDecodeError, InventoryError) as error:
        raise settings.fail("inventory", f"{path}: {error}") from None


def _signing_key(settings: Settings, key: str) -> Ed25519PrivateKey:
    path = settings.existing_file(key)
    try:
        loaded = load_pem_private_key(path.read_bytes(), password=None)
    except (ValueError, TypeError):
        raise settings.fail(key, f"{path} is not an unencrypted PEM private key") from None
    if not isinstance(loaded, Ed25519PrivateKey):
        raise settings.fail(key, f"{path} is not an Ed25519 key")
    return loaded


def reload_inventory(path: Path, site: str) -> Inventory:
    """The inventory file again; ConfigError if it is now broken (the caller keeps the old)."""
    try:
        inventory = Inventory.from_dict(json.loads(path.read_text(encoding="utf-8")))
    except (OSError, json.JSONDecodeError, InventoryError) as error:
        raise ConfigError(f"{path}: {error}") from None
    if inventory.site != site:
        raise ConfigError(f"{path}: is for site {inventory.site!r}, not {site!r}")
    return inventory


def _users_file(settings: Settings) -> Path:
    """The console users, checked now: a damaged file stops the hub with its key named."""
    path = settings.existing_file("users")
    validate_users_file(path)
    return path


def _wording(path: Path) -> SiteWording:
    """The site's ``wording.toml`` beside the config; English only without one."""
    return load_wording_file(path) if path.is_file() else SiteWording()
