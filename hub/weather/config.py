"""``[weather]`` in relay.toml: which feed to poll, for which codes, proposing what.

It is read apart from the relay's destinations (a school may want weather banners before
it has any hand-off), but from the same file and with the same rules: every error names
the file, the key and the fix, and the hub refuses to start on a wrong table rather than
silently never showing a Tornado Warning.
"""

from __future__ import annotations

import enum
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from hub.relay.config import is_loopback
from hub.relay.toml_table import Table
from transport.settings import ConfigError

_UGC = re.compile(r"^[A-Z]{2}[ZC]\d{3}$")
_SAME = re.compile(r"^\d{6}$")
_ACTIONS = ("hold", "secure", "shelter")
"""What a weather banner may propose. Lockdown and Evacuate answer a person on site, never
a feed: a forged or mistaken feed entry must not be one click from a Lockdown."""


class FeedFormat(enum.Enum):
    NWS_JSON = "nws-json"
    """api.weather.gov /alerts/active: GeoJSON features whose properties carry the alert."""
    CAP_ATOM = "cap-atom"
    """An Atom feed of entries with cap: elements, or with whole CAP 1.2 alerts inside."""


@dataclass(frozen=True, kw_only=True)
class Proposal:
    """The directive a banner proposes for one event: the office still confirms it."""

    action: str
    hazard: str = ""
    strategy: str = ""


DEFAULT_STRATEGY = "Go to the shelter area"
DEFAULT_EVENTS: dict[str, Proposal] = {
    "Tornado Warning": Proposal(action="shelter", hazard="tornado", strategy=DEFAULT_STRATEGY),
    # Shelter, not Hold: NWS says to move to an interior room on the lowest floor away from
    # windows, which is a safety strategy, and Hold has none to state.
    "Severe Thunderstorm Warning": Proposal(
        action="shelter", hazard="severe thunderstorm", strategy="Move away from windows"
    ),
    "Shelter In Place Warning": Proposal(
        action="shelter", hazard="shelter in place", strategy="Seal the room"
    ),
    "Hazardous Materials Warning": Proposal(
        action="shelter", hazard="hazmat", strategy="Seal the room"
    ),
    "Civil Danger Warning": Proposal(action="secure"),
}


@dataclass(frozen=True, kw_only=True)
class WeatherConfig:
    source: Path
    url: str
    format: FeedFormat
    zones: frozenset[str]
    """UGC codes (TXZ192 zones, TXC453 counties) and SAME codes (048453) of the school."""
    events: dict[str, Proposal]
    poll_s: float = 60.0
    timeout_s: float = 10.0
    max_bytes: int = 2_000_000
    """A feed is untrusted input: a body larger than this is refused, never parsed."""
    stale_s: float = 0.0
    """No good poll for this long: the office sees the source as stale (default 3 polls)."""

    @property
    def stale_after_s(self) -> float:
        return self.stale_s or 3 * self.poll_s


def load_weather_config(path: Path) -> WeatherConfig | None:
    """``[weather]`` of relay.toml, or None when there is no file or no such table."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as error:
        raise ConfigError(f"{path}: cannot read it ({error})") from None
    if "weather" not in data:
        return None
    top = Table(data, path)
    table = top.table("weather")
    return WeatherConfig(
        source=path,
        url=_url(table),
        format=_format(table),
        zones=_zones(table, data),
        events=_events(table),
        poll_s=table.number("poll_s", 60.0, 15, 3600),
        timeout_s=table.number("timeout_s", 10.0, 1, 60),
        max_bytes=int(table.number("max_bytes", 2_000_000, 10_000, 20_000_000)),
        stale_s=table.number("stale_s", 0.0, 0, 86_400),
    )


def _url(table: Table) -> str:
    url = table.get("url", str)
    parts = urlsplit(url)
    if parts.scheme == "https" and parts.hostname:
        return url
    if parts.scheme == "http" and parts.hostname and is_loopback(parts.hostname):
        return url  # the tests' feed server: nothing leaves the machine
    raise table.fail(
        "url",
        "must be an https:// URL, e.g. https://api.weather.gov/alerts/active?zone=TXZ192 "
        "(http:// only for 127.0.0.1 and localhost: a forged feed would put a banner up)",
    )


def _format(table: Table) -> FeedFormat:
    value = table.get("format", str, FeedFormat.NWS_JSON.value)
    try:
        return FeedFormat(value)
    except ValueError:
        raise table.fail("format", 'must be "nws-json" or "cap-atom"') from None


def _zones(table: Table, data: dict[str, Any]) -> frozenset[str]:
    """``zones`` of [weather], else the UGC and SAME codes of [site.geocode]."""
    if "zones" in table.data:
        codes, key = table.get("zones", list), "zones"
    else:
        geocode = data.get("site", {}).get("geocode", {})
        geocode = geocode if isinstance(geocode, dict) else {}
        codes = [c for k in ("UGC", "SAME") for c in _listed(geocode.get(k, []))]
        key = "zones"
    if not codes:
        raise table.fail(
            key,
            'give the school\'s codes, e.g. zones = ["TXZ192", "TXC453", "048453"]'
            " (or UGC and SAME in [site.geocode])",
        )
    for code in codes:
        if not isinstance(code, str) or not (_UGC.match(code) or _SAME.match(code)):
            raise table.fail(
                key, f"{code!r} is neither a UGC code (TXZ192, TXC453) nor SAME (048453)"
            )
    return frozenset(codes)


def _listed(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _events(table: Table) -> dict[str, Proposal]:
    """The default table, with [weather.events."<event>"] entries replacing or adding."""
    strategy = table.get("tornado_strategy", str, DEFAULT_STRATEGY)
    events = dict(DEFAULT_EVENTS)
    events["Tornado Warning"] = Proposal(action="shelter", hazard="tornado", strategy=strategy)
    if "events" not in table.data:
        return events
    given = table.table("events")
    for event in given.data:
        entry = given.table(event)
        action = entry.get("action", str).lower()
        if action not in _ACTIONS:
            raise entry.fail("action", 'must be "hold", "secure" or "shelter"')
        hazard, text = entry.get("hazard", str, ""), entry.get("strategy", str, "")
        if action == "shelter" and not (hazard and text):
            raise entry.fail("hazard", "Shelter states the hazard and the strategy: give both")
        events[event] = Proposal(action=action, hazard=hazard, strategy=text)
    return events
