"""A classroom node: the service wired to every part its config's hardware section built."""

from __future__ import annotations

from device.build import NodeHardware
from device.config import DeviceConfig
from device.service import DeviceService
from transport.systemd import Notifier


def node_service(
    config: DeviceConfig, parts: NodeHardware, *, notifier: Notifier | None = None
) -> DeviceService:
    """The service on ``parts``, each in its place; the caller still closes ``parts``."""
    return DeviceService(
        config,
        display=parts.display,
        inputs=parts.inputs,
        indicator=parts.indicator,
        sounder=parts.buzzer,
        outputs=parts.outputs,
        faults=parts.faults,
        notifier=notifier,
    )
