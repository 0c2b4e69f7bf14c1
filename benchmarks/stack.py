"""The Roomcast side of one run: the hub, the simulator processes and one real device.

Each is a child process started exactly as an operator would start it (``roomcast hub``,
``roomcast simulate``, ``roomcast device``), against a broker from the site's generated
TLS configuration.
"""

from __future__ import annotations

import json
import shlex
import socket
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmarks.procs import BenchError, Child, Children
from provisioning.install import InstalledDevice
from provisioning.throwaway import ThrowawaySite
from roomcast.client import ClientError, HubClient, login

DEVICE_UNIT = Path(__file__).resolve().parents[1] / "systemd" / "roomcast-device.service"


def unit_environment(unit: Path) -> dict[str, str]:
    """The variables a systemd unit's ``Environment=`` lines set.

    The real device is started with them, so it runs as the shipped unit runs it (its
    malloc settings change the memory measured): never tuned for the benchmark alone.
    """
    found: dict[str, str] = {}
    for line in unit.read_text(encoding="utf-8").splitlines():
        if line.startswith("Environment="):
            for assignment in shlex.split(line.removeprefix("Environment=")):
                name, _, value = assignment.partition("=")
                found[name] = value
    return found


@dataclass(frozen=True)
class SimulatorProcess:
    child: Child
    socket: Path
    rooms: tuple[str, ...]


def ask(path: Path, request: dict[str, Any], *, within_s: float = 10.0) -> dict[str, Any]:
    """One request on a simulator's control socket (the protocol of ``roomcast.control``).

    Read here without a line limit: the status of hundreds of rooms is longer than the
    64 KiB that ``roomcast.control.call`` accepts.
    """
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
        conn.settimeout(within_s)
        conn.connect(str(path))
        conn.sendall(json.dumps(request).encode() + b"\n")
        with conn.makefile("rb") as reader:
            line = reader.readline()
    reply: dict[str, Any] = json.loads(line) if line else {"ok": False, "error": "no reply"}
    if not reply.get("ok"):
        raise BenchError(f"the simulator at {path} refused {request}: {reply.get('error')}")
    return reply


def split(count: int, parts: int) -> list[int]:
    """``count`` as ``parts`` near-equal, non-empty shares (fewer parts if count is small)."""
    parts = max(1, min(parts, count))
    base, extra = divmod(count, parts)
    return [base + (1 if i < extra else 0) for i in range(parts)]


class Stack:
    def __init__(
        self, children: Children, site: ThrowawaySite, state_dir: Path, screens: Path
    ) -> None:
        """``screens``: where the simulated displays write their PNG frames."""
        self.children, self.site, self.state_dir = children, site, state_dir
        self.screens = screens
        port = json.loads(site.hub.config.read_text())["http"]["port"]
        self.hub_url = f"http://127.0.0.1:{port}"
        self.hub: Child | None = None
        self.client = HubClient(self.hub_url, "")
        self._code_step: int | None = None
        """The 30 s step of the last second-factor code used to log in."""
        self.simulators: list[SimulatorProcess] = []
        self.device: Child | None = None

    # -- the hub -----------------------------------------------------------------------

    def start_hub(self, *, within_s: float = 30.0) -> None:
        self.hub = self.children.spawn(
            "hub", ["-m", "roomcast", "hub", "--config", str(self.site.hub.config)]
        )
        probe = HubClient(self.hub_url, "", timeout_s=1.0)
        deadline = time.monotonic() + within_s
        while time.monotonic() < deadline:
            self.hub.check()
            try:
                if probe.get("/api/health").get("broker_connected"):
                    self.client = HubClient(self.hub_url, self._login(), timeout_s=60.0)
                    return
            except ClientError:
                pass
            time.sleep(0.1)
        raise BenchError(f"the hub did not connect in {within_s} s; see {self.hub.log}")

    def _login(self) -> str:
        """Log in once, with a second-factor code the hub has not seen: it accepts each code
        once, and retrying a used one would soon lock code logins (a hub restarted for the
        hand-off phase within the same 30 s as the first login needs the next code)."""
        now = time.time()
        at = now + 30 if int(now // 30) == self._code_step else now
        self._code_step = int(at // 30)
        site = self.site
        return login(self.hub_url, site.admin_user, site.admin_password, site.admin_code(at))

    @property
    def token(self) -> str:
        return self.client.token

    # -- the simulated classrooms ----------------------------------------------------------

    def start_simulators(self, devices: list[InstalledDevice], processes: int) -> None:
        start = 0
        for index, count in enumerate(split(len(devices), processes)):
            share = devices[start : start + count]
            start += count
            socket = self.state_dir / f"sim-{index}.sock"
            args = ["-m", "roomcast", "simulate", "--screens", str(self.screens)]
            args += ["--control", str(socket), *(str(d.config) for d in share)]
            child = self.children.spawn(f"simulate-{index}", args)
            self.simulators.append(SimulatorProcess(child, socket, tuple(d.room for d in share)))

    def wait_connected(self, expected: int, *, within_s: float) -> float:
        """Until every simulated room is connected and online at the hub; seconds taken."""
        started = time.monotonic()
        deadline = started + within_s
        connected = online = 0
        while time.monotonic() < deadline:
            self.children.check()
            connected = sum(self._sim_connected(sim) for sim in self.simulators)
            if connected == expected:
                online = self.rooms_online()
                if online >= expected:
                    return time.monotonic() - started
            time.sleep(0.5)
        raise BenchError(
            f"{connected}/{expected} rooms connected and {online} online at the hub after "
            f"{within_s} s; see the logs in {self.children.log_dir}"
        )

    def _sim_connected(self, sim: SimulatorProcess) -> int:
        try:
            return int(ask(sim.socket, {"cmd": "status"})["connected"])
        except (BenchError, OSError):
            return 0

    def rooms_online(self) -> int:
        rooms: list[dict[str, Any]] = self.client.get("/api/status")["rooms"]
        return sum(1 for room in rooms if room["online"])

    def press(self, room: str) -> str:
        """A panic activation in a simulated room; the event id the device gave it."""
        for sim in self.simulators:
            if room in sim.rooms:
                return str(ask(sim.socket, {"cmd": "press", "room": room})["event_id"])
        raise BenchError(f"room {room} is not simulated here")

    @property
    def simulated_rooms(self) -> list[str]:
        return [room for sim in self.simulators for room in sim.rooms]

    # -- one real device service -----------------------------------------------------------

    def start_device(self, device: InstalledDevice) -> Path:
        """``roomcast device --config ...`` as its own process, in the environment of the
        shipped systemd unit; the PNG its frames go to."""
        screen = self.screens / "device-screen.png"
        args = ["-m", "roomcast", "device", "--config", str(device.config)]
        self.device = self.children.spawn(
            "device", [*args, "--screen", str(screen)], env=unit_environment(DEVICE_UNIT)
        )
        return screen

    def pids(self) -> dict[str, int]:
        found = {sim.child.name: sim.child.pid for sim in self.simulators}
        if self.hub is not None:
            found["hub"] = self.hub.pid
        if self.device is not None:
            found["device"] = self.device.pid
        return found
