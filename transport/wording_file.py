"""The site's ``wording.toml``: read from disk here, checked by :mod:`protocol.languages`.

Both services take it from their config's ``wording`` key: a path to the file (relative
to the config), or the same table inline (a node's bundle carries it inline in
``device.json``, so the node needs nothing but its signed bundle). No ``wording`` key:
English only, SRP's own words.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

from protocol.languages import SiteWording, WordingError, parse_wording
from transport.settings import ConfigError, Settings

WORDING_FILE = "wording.toml"


def load_wording_file(path: Path) -> SiteWording:
    """The site's wording from ``path``; :class:`ConfigError` naming the file and key."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(
            f"{path}: no such file; write the site's wording there (docs/operations.md)"
        ) from None
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigError(f"{path}: cannot read it ({error})") from None
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{path}: not valid TOML ({error})") from None
    try:
        return parse_wording(data, str(path))
    except WordingError as error:
        raise ConfigError(str(error)) from None


def wording_setting(settings: Settings, key: str = "wording") -> SiteWording:
    """The config's ``wording``: a file name, an inline table, or (absent) English only."""
    value = settings.data.get(key)
    if value is None:
        return SiteWording()
    if isinstance(value, str):
        return load_wording_file(settings.path(key))
    if isinstance(value, dict):
        try:
            return parse_wording(value, f"{settings.source}: {key}")
        except WordingError as error:
            raise ConfigError(str(error)) from None
    raise settings.fail(key, f"must be a file name or a table, not {type(value).__name__}")
