"""How a running demo is found by the other commands (`roomcast issue / press / status`)."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

HANDLE = "demo.json"
"""Written while the demo runs: how `roomcast issue / press / status` find it."""


class ClientError(RuntimeError):
    """The hub could not be reached, or refused the request; the message says why."""


class DemoError(RuntimeError):
    """The demo could not start, or is not running; the message says what to do."""


def default_state_dir() -> Path:
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "roomcast" / "demo"


@dataclass(frozen=True)
class DemoHandle:
    """What a running demo tells the other commands about itself."""

    hub_url: str
    token_file: Path
    control_socket: Path
    screens: Path
    pid: int

    @classmethod
    def read(cls, state_dir: Path) -> DemoHandle:
        path = state_dir / HANDLE
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise DemoError(
                f"no demo is running (no {path}); start one with `roomcast demo`, "
                "or pass --hub URL --token-file FILE for a real hub"
            ) from None
        return cls(
            hub_url=data["hub_url"],
            token_file=Path(data["token_file"]),
            control_socket=Path(data["control_socket"]),
            screens=Path(data["screens"]),
            pid=int(data["pid"]),
        )

    def write(self, state_dir: Path) -> None:
        data = {k: str(v) if isinstance(v, Path) else v for k, v in self.__dict__.items()}
        (state_dir / HANDLE).write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
