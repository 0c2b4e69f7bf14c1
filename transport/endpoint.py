"""Where a service finds its broker, and with which TLS material (paths only: no I/O)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True, kw_only=True)
class TlsFiles:
    """A client's TLS identity: the site CA, its own certificate and its private key."""

    ca: Path
    cert: Path
    key: Path


@dataclass(frozen=True, kw_only=True)
class BrokerEndpoint:
    host: str
    port: int
    tls: TlsFiles | None = None
    keepalive_s: int = 15
    """The broker fires the last will after 1.5 x this with no traffic."""

    def __post_init__(self) -> None:
        if not 0 < self.port < 65536:
            raise ValueError(f"broker port {self.port} is not a TCP port (1-65535)")
        if not self.host:
            raise ValueError("broker host is empty")
        if not 1 <= self.keepalive_s <= 300:
            raise ValueError(f"keepalive_s {self.keepalive_s} is outside 1-300 s")

    def describe(self) -> str:
        return f"{'mqtts' if self.tls else 'mqtt'}://{self.host}:{self.port}"
