"""One TOML table and where it sits in its file, so every error names the file and the key.

relay.toml's reader (:mod:`hub.relay.config`) takes each value through here: a missing
key, a wrong type or a number out of range becomes a ConfigError a person can act on.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, TypeVar

from transport.settings import ConfigError

T = TypeVar("T")


class Table:
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

    def table(self, key: str) -> Table:
        return Table(self.get(key, dict), self.source, f"{self.prefix}{key}.")

    def file(self, key: str) -> Path:
        path = self.source.parent / self.get(key, str)
        if not path.is_file():
            raise self.fail(key, f"{path} does not exist; fix the path (relative to the file)")
        return path
