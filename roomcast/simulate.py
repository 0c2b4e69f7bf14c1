"""N classroom services with simulated hardware in one process (`roomcast simulate`).

Each room runs the real device service; only the hardware is simulated: screens are PNG
files, buttons are pressed through the control socket.
"""

from __future__ import annotations

import asyncio
import logging
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from device.config import BUTTON_EVENTS, load_device_config
from device.service import DeviceService
from hardware.simulated import PngDisplay, SimulatedIndicator, SimulatedInputs
from roomcast import control

log = logging.getLogger(__name__)

SCREEN_SIZE = (256, 128)


@dataclass
class SimulatedRoom:
    service: DeviceService
    display: PngDisplay
    inputs: SimulatedInputs


class Simulator:
    def __init__(self, device_configs: list[Path], screens: Path) -> None:
        self.rooms: dict[str, SimulatedRoom] = {}
        # One pool draws every room's frames (a thread per room would be hundreds).
        self._frames = ThreadPoolExecutor(thread_name_prefix="frames")
        for path in device_configs:
            config = load_device_config(path)
            display = PngDisplay(screens / f"{config.room}.png", size=SCREEN_SIZE)
            inputs = SimulatedInputs()
            service = DeviceService(
                config,
                display=display,
                inputs=inputs,
                indicator=SimulatedIndicator(),
                frame_worker=self._frames,
            )
            self.rooms[config.room] = SimulatedRoom(service, display, inputs)

    async def run(self, control_socket: Path | None = None) -> None:
        server = await control.serve(control_socket, self.handle) if control_socket else None
        try:
            async with asyncio.TaskGroup() as group:
                for room in self.rooms.values():
                    group.create_task(room.service.run())
        finally:
            if server is not None:
                server.close()
            self._frames.shutdown(wait=True, cancel_futures=True)  # frames being drawn finish

    async def handle(self, request: dict[str, Any]) -> dict[str, Any]:
        command = request.get("cmd")
        if command == "press":
            return self._press(str(request["room"]), str(request.get("kind", "panic")))
        if command == "status":
            return {"ok": True, **self.status()}
        return {"ok": False, "error": f"unknown command {command!r}; use press or status"}

    def _press(self, room_id: str, kind: str) -> dict[str, Any]:
        room = self.rooms.get(room_id)
        if room is None:
            known = ", ".join(sorted(self.rooms))
            return {"ok": False, "error": f"unknown room {room_id!r}; rooms here: {known}"}
        if kind not in BUTTON_EVENTS:
            return {"ok": False, "error": f"unknown kind {kind!r}; use {', '.join(BUTTON_EVENTS)}"}
        event = room.service.activate(BUTTON_EVENTS[kind])
        if event is None:
            return {"ok": False, "error": f"{kind} in room {room_id} did nothing (see the log)"}
        return {"ok": True, "event_id": event.event_id, "device_id": event.device_id}

    def status(self) -> dict[str, Any]:
        return {
            "connected": sum(r.service.connected.is_set() for r in self.rooms.values()),
            "total": len(self.rooms),
            "rooms": {
                room_id: {
                    "device_id": r.service.config.device_id,
                    "shown_seq": r.service.shown_seq,
                    "acked_seq": r.service.acked_seq,
                    "screen": str(r.display.path),
                    "pending_events": len(r.service.pending_events()),
                    "link": r.service.link_view().state.value,
                }
                for room_id, r in sorted(self.rooms.items())
            },
        }
