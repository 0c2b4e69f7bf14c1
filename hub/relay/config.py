"""The relay's configuration: ``relay.toml`` beside ``hub.json`` (see docs/integrations.md).

No file means no relay: the hub runs as it always has. A file that is there but wrong stops
the hub at start with the file, the key and the fix named, because a hand-off to dispatch
that silently does not happen is worse than a hub that refuses to start. Secrets are read
here (inline or from a 0600 file) and are never part of a message, a log line or a repr.
"""

from __future__ import annotations

import ipaddress
import re
import ssl
import stat
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit

from transport.settings import ConfigError

RELAY_FILE = "relay.toml"
T = TypeVar("T")
_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")
_ADDRESS_KEYS = ("street", "city", "region", "postal_code", "country")


@dataclass(frozen=True, kw_only=True)
class SiteDetails:
    """What a dispatcher needs to find the school: its name, civic address and coordinates."""

    name: str
    address: dict[str, str]
    """street, city, region (state), postal_code, country (ISO 3166 alpha-2)."""
    latitude: float
    longitude: float
    console_url: str
    """The console as people reach it (the hub binds loopback by default, so it is said here)."""


@dataclass(frozen=True, kw_only=True)
class WebhookDestination:
    name: str
    url: str
    secret: bytes = field(repr=False)
    ca_file: Path | None = None
    drills: bool = False
    """Drill messages go only where this says so: dispatch never hears a drill by default."""
    staff_assist: bool = False
    timeout_s: float = 5.0
    backoff_initial_s: float = 1.0
    backoff_max_s: float = 60.0


@dataclass(frozen=True, kw_only=True)
class RelayConfig:
    source: Path
    site: SiteDetails
    webhooks: tuple[WebhookDestination, ...]
    poll_s: float = 1.0
    """How often the store is looked at even without a change on the bus (a safety net)."""


class _Table:
    """One TOML table and where it sits, so every error names the file and the key."""

    def __init__(self, data: dict[str, Any], source: Path, prefix: str = "") -> None:
        self.data, self.source, self.prefix = data, source, prefix

    def fail(self, key: str, problem: str) -> ConfigError:
        return ConfigError(f"{self.source}: {self.prefix}{key}: {problem}")

    def get(self, key: str, kind: type[T], default: T | None = None) -> T:
        if key not in self.data:
            if default is None:
                raise self.fail(key, "missing; see docs/integrations.md for the relay's keys")
            return default
        value = self.data[key]
        if kind is float and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if not isinstance(value, kind) or (kind is not bool and isinstance(value, bool)):
            raise self.fail(key, f"must be {kind.__name__}, not {type(value).__name__}")
        return value

    def number(self, key: str, default: float | None, low: float, high: float) -> float:
        """A number in [low, high]; ``default`` None makes it required."""
        value = self.get(key, float, default)
        if not low <= value <= high:
            raise self.fail(key, f"must be between {low:g} and {high:g}")
        return value

    def table(self, key: str) -> _Table:
        return _Table(self.get(key, dict), self.source, f"{self.prefix}{key}.")

    def file(self, key: str) -> Path:
        path = self.source.parent / self.get(key, str)
        if not path.is_file():
            raise self.fail(key, f"{path} does not exist; fix the path (relative to the file)")
        return path


def load_relay_config(path: Path) -> RelayConfig | None:
    """The relay's settings, or None when there is no relay file."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigError(f"{path}: cannot read it ({error})") from None
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{path}: not valid TOML ({error})") from None
    top = _Table(data, path)
    hooks = top.get("webhook", list, [])
    if not hooks:
        raise top.fail("webhook", "no destination; add a [[webhook]] table or remove the file")
    webhooks = tuple(
        _webhook(_Table(_as_table(top, hook, i), path, f"webhook[{i}]."))
        for i, hook in enumerate(hooks)
    )
    names = [hook.name for hook in webhooks]
    if len(set(names)) != len(names):
        raise top.fail("webhook", "two destinations have the same name; names must differ")
    return RelayConfig(
        source=path,
        site=_site(top.table("site")),
        webhooks=webhooks,
        poll_s=top.number("poll_s", 1.0, 0.05, 60),
    )


def _as_table(top: _Table, value: Any, index: int) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise top.fail(f"webhook[{index}]", "must be a table: write it as [[webhook]]")
    return value


def _site(table: _Table) -> SiteDetails:
    address = table.table("address")
    console_url = table.get("console_url", str)
    if urlsplit(console_url).scheme not in ("http", "https"):
        raise table.fail("console_url", "must be an http(s) URL, e.g. https://hub.school.org")
    return SiteDetails(
        name=table.get("name", str),
        address={key: address.get(key, str) for key in _ADDRESS_KEYS},
        latitude=table.number("latitude", None, -90, 90),
        longitude=table.number("longitude", None, -180, 180),
        console_url=console_url.rstrip("/"),
    )


def _webhook(table: _Table) -> WebhookDestination:
    name = table.get("name", str)
    if not _NAME.match(name):
        raise table.fail("name", "use lower-case letters, digits, '-' and '_' (e.g. police)")
    url = table.get("url", str)
    _check_url(table, url)
    initial = table.number("backoff_initial_s", 1.0, 0.01, 3600)
    return WebhookDestination(
        name=name,
        url=url,
        secret=_secret(table),
        ca_file=_ca_file(table) if "ca_file" in table.data else None,
        drills=table.get("drills", bool, False),
        staff_assist=table.get("staff_assist", bool, False),
        timeout_s=table.number("timeout_s", 5.0, 0.05, 120),
        backoff_initial_s=initial,
        backoff_max_s=table.number("backoff_max_s", max(60.0, initial), initial, 3600),
    )


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _check_url(table: _Table, url: str) -> None:
    parts = urlsplit(url)
    if parts.scheme == "https" and parts.hostname:
        return
    if parts.scheme == "http" and parts.hostname and is_loopback(parts.hostname):
        return  # tests and the demo: nothing leaves the machine
    if parts.scheme == "http":
        raise table.fail(
            "url",
            f"plain http to {parts.hostname} would send alerts unencrypted and unauthenticated; "
            "use https:// (http:// is allowed only for 127.0.0.1 and localhost)",
        )
    raise table.fail("url", "must be an https:// URL with a host name")


def _ca_file(table: _Table) -> Path:
    """A CA file that TLS can load now, rather than a hub that finds out at the first alert."""
    path = table.file("ca_file")
    try:
        ssl.create_default_context(cafile=str(path))
    except ssl.SSLError as error:
        raise table.fail("ca_file", f"{path} is not a PEM CA certificate ({error})") from None
    return path


def _secret(table: _Table) -> bytes:
    """The HMAC key: ``secret`` inline or ``secret_file`` (0600, its first line)."""
    if ("secret" in table.data) == ("secret_file" in table.data):
        raise table.fail("secret", "give exactly one of secret or secret_file")
    if "secret" in table.data:
        text = table.get("secret", str)
    else:
        path = table.file("secret_file")
        mode = stat.S_IMODE(path.stat().st_mode)
        if mode & 0o077:
            raise table.fail(
                "secret_file", f"{path} is readable by others ({mode:o}); chmod 600 {path}"
            )
        text = path.read_text(encoding="utf-8").strip()
    if len(text) < 16:
        raise table.fail("secret", "is shorter than 16 characters; use a long random secret")
    return text.encode("utf-8")
