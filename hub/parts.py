"""What the hub's web side is given: the parts its routes use, and nothing of the service.

The composition root (:class:`hub.service.HubService`) fills this in; the web app
(:func:`hub.app.create_app`) takes it. Nothing here knows HTTP, so the engine's side never
imports the web's.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from hub.bus import Bus
from hub.config import HubConfig
from hub.engine import Engine
from hub.quarantine import DeviceAlarm
from hub.relay.views import HandOffs
from hub.store import HubStore
from hub.weather.poller import WeatherPoller
from protocol.messages import Command, CommandKind


class SendCommand(Protocol):
    def __call__(self, device_id: str, kind: CommandKind, *, user: str) -> Command:
        """Sign and send one command to one device, recorded with who sent it."""
        ...


@dataclass(frozen=True, kw_only=True)
class HubParts:
    config: HubConfig
    store: HubStore
    bus: Bus
    engine: Engine
    connected: Callable[[], bool]
    """Whether the hub has its broker link now (a directive issued without it waits)."""
    published: Callable[[int], bool]
    """Whether directive ``seq`` was handed to a connected client when it was published."""
    floods: Callable[[], Sequence[DeviceAlarm]]
    """The devices over their message budget, and those cut off at the broker, now
    (hub.guard, hub.quarantine)."""
    send_command: SendCommand
    handoffs: HandOffs | None = None
    """The relay's deliveries and destinations (None: no relay.toml, no relay)."""
    weather: WeatherPoller | None = None
    """The weather feed's alerts in force and its health (None: no [weather] table)."""
