"""Reading a service's JSON settings with errors that name the file and the key.

Both services' config files go through this, so a technician gets the same kind of
message from either: ``/etc/roomcast/device.json: broker.port: must be int, not str``.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, TypeVar

from protocol.topics import InvalidName, check_level
from transport.endpoint import BrokerEndpoint, TlsFiles

T = TypeVar("T")
_MISSING: Any = object()


class ConfigError(Exception):
    """A configuration problem, with the file and key it is about."""


class Settings:
    """A parsed JSON object plus where it came from (relative paths are relative to it)."""

    def __init__(self, data: Any, source: Path) -> None:
        if not isinstance(data, dict):
            raise ConfigError(f"{source}: the top level must be a JSON object")
        self.data: dict[str, Any] = data
        self.source = source

    @classmethod
    def parse(cls, text: str, source: Path) -> Settings:
        try:
            return cls(json.loads(text), source)
        except json.JSONDecodeError as error:
            raise ConfigError(
                f"{source}: line {error.lineno} column {error.colno}: not valid JSON ({error.msg})"
            ) from None

    @classmethod
    def load(cls, source: Path, *, missing_hint: str) -> Settings:
        try:
            return cls.parse(source.read_text(encoding="utf-8"), source)
        except FileNotFoundError:
            raise ConfigError(f"{source}: no such file; {missing_hint}") from None
        except (OSError, UnicodeDecodeError) as error:
            raise ConfigError(f"{source}: cannot read it ({error})") from None

    def fail(self, key: str, problem: str) -> ConfigError:
        return ConfigError(f"{self.source}: {key}: {problem}")

    def get(self, key: str, kind: type[T], default: T = _MISSING) -> T:
        node: Any = self.data
        for part in key.split("."):
            if not isinstance(node, dict) or part not in node:
                if default is not _MISSING:
                    return default
                raise self.fail(key, "missing; see docs/operations.md for the config keys")
            node = node[part]
        if kind is float and isinstance(node, int) and not isinstance(node, bool):
            node = float(node)
        if not isinstance(node, kind) or (kind is int and isinstance(node, bool)):
            raise self.fail(key, f"must be {kind.__name__}, not {type(node).__name__}")
        return node

    def level(self, key: str, kind: str) -> str:
        try:
            return check_level(kind, self.get(key, str))
        except InvalidName as error:
            raise self.fail(key, str(error)) from None

    def path(self, key: str, default: str | None = None) -> Path:
        value = self.get(key, str) if default is None else self.get(key, str, default)
        return self.source.parent / value

    def state_dir(self, key: str = "state_dir") -> Path:
        """Where a service keeps its database: the config's value, else systemd's
        ``$STATE_DIRECTORY`` (set by ``StateDirectory=``), else ``state`` beside the config."""
        if key not in self.data and os.environ.get("STATE_DIRECTORY"):
            return Path(os.environ["STATE_DIRECTORY"].split(":")[0])
        return self.path(key, "state")

    def existing_file(self, key: str) -> Path:
        path = self.path(key)
        if not path.is_file():
            raise self.fail(key, f"{path} does not exist; reinstall the bundle or fix the path")
        return path

    def broker(self, key: str = "broker") -> BrokerEndpoint:
        tls = None
        if self.get(f"{key}.tls", dict, None) is not None:
            tls = TlsFiles(
                ca=self.existing_file(f"{key}.tls.ca"),
                cert=self.existing_file(f"{key}.tls.cert"),
                key=self.existing_file(f"{key}.tls.key"),
            )
        try:
            return BrokerEndpoint(
                host=self.get(f"{key}.host", str),
                port=self.get(f"{key}.port", int),
                tls=tls,
                keepalive_s=self.get(f"{key}.keepalive_s", int, 15),
            )
        except ValueError as error:
            raise self.fail(key, str(error)) from None
