"""The relay's configuration: ``relay.toml`` beside ``hub.json`` (see docs/integrations.md).

No file means no relay: the hub runs as it always has. A file that is there but wrong stops
the hub at start with the file, the key and the fix named, because a hand-off to dispatch
that silently does not happen is worse than a hub that refuses to start. Secrets are read
here (inline or from a 0600 file) and are never part of a message, a log line or a repr.
"""

from __future__ import annotations

import enum
import ipaddress
import re
import ssl
import stat
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from hub.relay.cap_scope import CapAudience, CapScope
from hub.relay.toml_table import Table as _Table
from transport.settings import ConfigError

RELAY_FILE = "relay.toml"
_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")
_ADDRESS = re.compile(r"^[^@\s<>,]+@[^@\s<>,]+$")
_ADDRESS_KEYS = ("street", "city", "region", "postal_code", "country")
OFFLINE_KIND = "offline_during_lockdown"
"""A room's display went offline while the room was under a Lockdown (hub/relay/offline.py)."""


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
    radius_km: float = 0.5
    """CAP's ``circle``: the school and its grounds around (latitude, longitude)."""
    cap_sender: str = ""
    """CAP's ``sender``: ``roomcast@<console host>`` unless relay.toml says otherwise."""
    geocode: tuple[tuple[str, str], ...] = ()
    """CAP's ``geocode`` pairs from ``[site.geocode]``, e.g. (UGC, TXZ192), (SAME, 048453)."""


@dataclass(frozen=True, kw_only=True)
class DestinationSettings:
    """What every kind of destination has: a name, what it takes, and its pace."""

    name: str
    ca_file: Path | None = None
    drills: bool = False
    """Drill messages go only where this says so: dispatch never hears a drill by default."""
    staff_assist: bool = False
    offline_during_lockdown: bool = False
    """A display going offline in a room under Lockdown is sent only where this says so."""
    timeout_s: float = 5.0
    backoff_initial_s: float = 1.0
    backoff_max_s: float = 60.0

    def takes(self, kind: str, drill: bool) -> bool:
        """Drills only where the destination asked for them; staff-assist likewise."""
        if drill and not self.drills:
            return False
        if kind == OFFLINE_KIND:
            return self.offline_during_lockdown
        return kind != "staff_assist" or self.staff_assist


@dataclass(frozen=True, kw_only=True)
class WebhookDestination(DestinationSettings):
    url: str
    secret: bytes = field(repr=False)


@dataclass(frozen=True, kw_only=True)
class CapDestination(WebhookDestination):
    """A CAP 1.2 endpoint: the webhook's wire (verified HTTPS, back-off), a CAP XML body;
    ``secret`` may be empty (then no signature header: many CAP receivers check none)."""

    audience: CapAudience = field(default_factory=CapAudience)


@dataclass(frozen=True, kw_only=True)
class CapFeed:
    """``[cap_feed]``: the Atom feed of alerts in force, behind HTTP Basic."""

    username: str
    password: str = field(repr=False)
    audience: CapAudience = field(default_factory=CapAudience)


class Security(enum.Enum):
    STARTTLS = "starttls"
    TLS = "tls"
    """Implicit TLS from the first byte (port 465, "SMTPS")."""
    NONE = "none"
    """Plain SMTP: loopback only (the demo's sink, the tests)."""


_SMTP_PORTS = {Security.STARTTLS: 587, Security.TLS: 465, Security.NONE: 25}


@dataclass(frozen=True, kw_only=True)
class EmailDestination(DestinationSettings):
    host: str
    port: int
    security: Security
    sender: str
    """The ``from`` key: the envelope sender and the From header."""
    recipients: tuple[str, ...]
    """The ``to`` key: the SRO, the principal, the district's safety office ..."""
    username: str | None = None
    password: str | None = field(default=None, repr=False)


@dataclass(frozen=True, kw_only=True)
class RelayConfig:
    source: Path
    site: SiteDetails
    webhooks: tuple[WebhookDestination, ...]
    emails: tuple[EmailDestination, ...] = ()
    caps: tuple[CapDestination, ...] = ()
    cap_feed: CapFeed | None = None
    poll_s: float = 1.0
    """How often the store is looked at even without a change on the bus (a safety net)."""

    @property
    def destinations(self) -> tuple[DestinationSettings, ...]:
        return (*self.webhooks, *self.emails, *self.caps)


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
    webhooks = tuple(_webhook(table) for table in _tables(top, "webhook"))
    emails = tuple(_email(table) for table in _tables(top, "email"))
    caps = tuple(_cap(table) for table in _tables(top, "cap"))
    if not webhooks and not emails and not caps:
        if "weather" in data and "cap_feed" not in data:
            return None  # weather banners alone (hub.weather), no hand-offs yet
        raise top.fail("webhook", "no destination; add a [[webhook]], [[email]] or [[cap]] table")
    names = [d.name for d in (*webhooks, *emails, *caps)]
    if len(set(names)) != len(names):  # a name is the destination's outbox and cursor
        raise top.fail("name", "two destinations have the same name; names must differ")
    return RelayConfig(
        source=path,
        site=_site(top.table("site")),
        webhooks=webhooks,
        emails=emails,
        caps=caps,
        cap_feed=_cap_feed(top.table("cap_feed")) if "cap_feed" in data else None,
        poll_s=top.number("poll_s", 1.0, 0.05, 60),
    )


def _tables(top: _Table, key: str) -> list[_Table]:
    found = []
    for index, value in enumerate(top.get(key, list, [])):
        if not isinstance(value, dict):
            raise top.fail(f"{key}[{index}]", f"must be a table: write it as [[{key}]]")
        found.append(_Table(value, top.source, f"{key}[{index}]."))
    return found


def _name(table: _Table) -> str:
    name = table.get("name", str)
    if not _NAME.match(name):
        raise table.fail("name", "use lower-case letters, digits, '-' and '_' (e.g. police)")
    return name


def _pace(table: _Table, timeout_s: float) -> dict[str, Any]:
    """The settings every destination shares (DestinationSettings' fields)."""
    initial = table.number("backoff_initial_s", 1.0, 0.01, 3600)
    return {
        "name": _name(table),
        "ca_file": _ca_file(table) if "ca_file" in table.data else None,
        "drills": table.get("drills", bool, False),
        "staff_assist": table.get("staff_assist", bool, False),
        "offline_during_lockdown": table.get("offline_during_lockdown", bool, False),
        "timeout_s": table.number("timeout_s", timeout_s, 0.05, 120),
        "backoff_initial_s": initial,
        "backoff_max_s": table.number("backoff_max_s", max(60.0, initial), initial, 3600),
    }


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
        radius_km=table.number("radius_km", 0.5, 0.01, 100),
        cap_sender=table.get("cap_sender", str, f"roomcast@{urlsplit(console_url).hostname}"),
        geocode=_geocode(table.table("geocode")) if "geocode" in table.data else (),
    )


def _geocode(table: _Table) -> tuple[tuple[str, str], ...]:
    """``name = "code"`` or ``name = ["code", ...]``: each pair one CAP geocode."""
    pairs = [(k, v) for k in table.data for v in _strings(table, k)]
    return tuple(pairs)


def _strings(table: _Table, key: str) -> list[str]:
    value = table.data[key]
    values = value if isinstance(value, list) else [value]
    if not values or not all(isinstance(v, str) and v for v in values):
        raise table.fail(key, 'must be a code or a list of codes, e.g. UGC = ["TXZ192", "TXC453"]')
    return values


def _webhook(table: _Table) -> WebhookDestination:
    url = table.get("url", str)
    _check_url(table, url)
    return WebhookDestination(url=url, secret=_secret(table), **_pace(table, 5.0))


def _cap(table: _Table) -> CapDestination:
    url = table.get("url", str)
    _check_url(table, url)
    given = "secret" in table.data or "secret_file" in table.data
    secret = _secret(table) if given else b""
    return CapDestination(url=url, secret=secret, audience=_audience(table), **_pace(table, 5.0))


def _cap_feed(table: _Table) -> CapFeed:
    password = _long_secret(table, "password")
    return CapFeed(
        username=table.get("username", str), password=password, audience=_audience(table)
    )


def _audience(table: _Table) -> CapAudience:
    """CAP's scope: Restricted (default, with ``restriction``) or Private (``addresses``)."""
    value = table.get("scope", str, CapScope.RESTRICTED.value)
    try:
        scope = CapScope(value)
    except ValueError:
        raise table.fail("scope", 'must be "Restricted" or "Private"') from None
    if scope is CapScope.RESTRICTED:
        return CapAudience(restriction=table.get("restriction", str, CapAudience.restriction))
    addresses = tuple(table.get("addresses", list, []))
    if not addresses or not all(isinstance(a, str) and a and " " not in a for a in addresses):
        raise table.fail("addresses", 'Private needs addresses without spaces, e.g. ["dispatch"]')
    return CapAudience(scope=scope, addresses=addresses)


def _email(table: _Table) -> EmailDestination:
    host = table.get("host", str)
    security = _security(table, host)
    port = table.get("port", int, _SMTP_PORTS[security])
    if not 0 < port < 65536:
        raise table.fail("port", "must be between 1 and 65535 (587 STARTTLS, 465 TLS)")
    recipients = tuple(table.get("to", list))
    if not recipients or not all(isinstance(r, str) and _ADDRESS.match(r) for r in recipients):
        raise table.fail("to", 'must be a list of addresses, e.g. ["sro@district.example.org"]')
    sender = table.get("from", str)
    if not _ADDRESS.match(sender):
        raise table.fail("from", "must be one address, e.g. roomcast@school.example.org")
    username = table.get("username", str) if "username" in table.data else None
    password = _password(table)
    if (username is None) != (password is None):
        raise table.fail("username", "give both username and password (or password_file)")
    return EmailDestination(
        host=host,
        port=port,
        security=security,
        sender=sender,
        recipients=recipients,
        username=username,
        password=password,
        **_pace(table, 10.0),
    )


def _security(table: _Table, host: str) -> Security:
    value = table.get("security", str, Security.STARTTLS.value)
    try:
        security = Security(value)
    except ValueError:
        raise table.fail("security", 'must be "starttls", "tls" (port 465) or "none"') from None
    if security is Security.NONE and not is_loopback(host):
        raise table.fail(
            "security",
            f"plain SMTP to {host} would send alerts and the password unencrypted; use "
            'security = "starttls" (or "tls" for port 465); "none" is allowed only for '
            "127.0.0.1 and localhost",
        )
    return security


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


def _private(table: _Table, key: str) -> str:
    """``key`` inline, or the first line of ``<key>_file``, which must be 0600."""
    if key in table.data:
        return table.get(key, str)
    path = table.file(f"{key}_file")
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        raise table.fail(
            f"{key}_file", f"{path} is readable by others ({mode:o}); chmod 600 {path}"
        )
    return path.read_text(encoding="utf-8").strip()


def _password(table: _Table) -> str | None:
    given = ("password" in table.data) + ("password_file" in table.data)
    if given == 2:
        raise table.fail("password", "give one of password or password_file, not both")
    return _private(table, "password") if given else None


def _secret(table: _Table) -> bytes:
    """The HMAC key: ``secret`` inline or ``secret_file`` (0600, its first line)."""
    return _long_secret(table, "secret").encode("utf-8")


def _long_secret(table: _Table, key: str) -> str:
    """Exactly one of ``key`` or ``<key>_file``, at least 16 characters."""
    if (key in table.data) == (f"{key}_file" in table.data):
        raise table.fail(key, f"give exactly one of {key} or {key}_file")
    text = _private(table, key)
    if len(text) < 16:
        raise table.fail(key, "is shorter than 16 characters; use a long random secret")
    return text
