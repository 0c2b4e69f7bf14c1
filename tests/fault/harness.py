"""A whole school in processes, for fault tests and the chaos run.

Mosquitto (persistent, TLS, ACL), the hub as a ``roomcast hub`` process, and the rooms as
``roomcast simulate`` processes whose broker links go through proxies the test owns. Every
wait is bounded; every process is stopped (or killed) on the way out.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
import urllib.parse
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from provisioning.throwaway import ThrowawaySite, create_throwaway_site
from roomcast import control
from roomcast.broker import MosquittoProcess, free_port
from roomcast.client import ClientError, HubClient, login

KEEPALIVE_S = 2
"""Short, so that the broker notices a dead device link (and fires its will) in 3 s."""


def wait_until(predicate: Callable[[], bool], *, within_s: float, what: str) -> float:
    """Poll across process boundaries (no shared event to wait on); seconds it took."""
    start = time.monotonic()
    while not predicate():
        if time.monotonic() - start > within_s:
            raise AssertionError(f"timed out after {within_s} s waiting for {what}")
        time.sleep(0.05)
    return time.monotonic() - start


class Rooms:
    """One ``roomcast simulate`` process: some rooms, one control socket, one proxy port."""

    def __init__(self, school: School, name: str, configs: list[Path]) -> None:
        self.school, self.name, self.configs = school, name, configs
        self.socket = school.root / f"{name}.sock"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        log = (self.school.root / f"{self.name}.log").open("ab")
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "roomcast",
                "simulate",
                "--screens",
                str(self.school.root / "screens"),
                "--control",
                str(self.socket),
                *map(str, self.configs),
            ],
            stdout=log,
            stderr=log,
            stdin=subprocess.DEVNULL,
        )
        log.close()
        wait_until(self._listening, within_s=20, what=f"{self.name} to start")

    def _listening(self) -> bool:
        try:
            self.status()
        except (control.ControlError, OSError):
            return False
        return True

    def status(self) -> dict[str, Any]:
        return control.call_sync(self.socket, {"cmd": "status"}, within_s=5)

    def press(self, room: str) -> str:
        return str(control.call_sync(self.socket, {"cmd": "press", "room": room})["event_id"])

    def kill(self) -> None:
        """kill -9: the rooms get no chance to flush or say goodbye."""
        if self.process is not None:
            self.process.kill()
            self.process.wait()
            self.process = None

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None


class School:
    def __init__(self, root: Path, *, rooms: int, heartbeat_s: float = 1.0) -> None:
        self.root = root
        self.site: ThrowawaySite = create_throwaway_site(
            root / "site",
            rooms=rooms,
            broker_port=free_port(),
            heartbeat_s=heartbeat_s,
            http_port=free_port(),
        )
        self.broker = MosquittoProcess(self.site.broker, self.site.layout.broker.dir)
        hub_config = json.loads(self.site.hub.config.read_text())
        self.hub_url = f"http://127.0.0.1:{hub_config['http']['port']}"
        self.hub: subprocess.Popen[bytes] | None = None
        self._client: HubClient | None = None

    @property
    def room_ids(self) -> list[str]:
        return sorted(device.room for device in self.site.devices)

    def route_rooms(self, rooms: list[str], proxy_port: int) -> list[Path]:
        """Point these rooms' devices at a proxy; returns their config files."""
        configs = []
        for device in self.site.devices:
            if device.room in rooms:
                config = json.loads(device.config.read_text())
                config["broker"] |= {"port": proxy_port, "keepalive_s": KEEPALIVE_S}
                device.config.write_text(json.dumps(config))
                configs.append(device.config)
        return configs

    def start_hub(self) -> None:
        log = (self.root / "hub.log").open("ab")
        self.hub = subprocess.Popen(
            [sys.executable, "-m", "roomcast", "hub", "--config", str(self.site.hub.config)],
            stdout=log,
            stderr=log,
            stdin=subprocess.DEVNULL,
        )
        log.close()
        wait_until(self._hub_ready, within_s=20, what="the hub")

    def _hub_ready(self) -> bool:
        try:
            return bool(httpx.get(f"{self.hub_url}/api/health", timeout=1).json()["ok"])
        except (httpx.HTTPError, ValueError):
            return False

    def kill_hub(self) -> None:
        if self.hub is not None:
            self.hub.kill()
            self.hub.wait()
            self.hub = None

    def stop_hub(self) -> None:
        if self.hub is not None and self.hub.poll() is None:
            self.hub.send_signal(signal.SIGTERM)
            self.hub.wait(timeout=15)
        self.hub = None

    @property
    def api(self) -> HubClient:
        if self._client is None:
            site = self.site
            token = login(self.hub_url, site.admin_user, site.admin_password, site.admin_code())
            self._client = HubClient(self.hub_url, token)
        return self._client

    def api_or_none(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        """An API call that returns None while the hub is down (during a fault)."""
        try:
            return self.api.post(path, body) if method == "POST" else self.api.get(path)
        except ClientError:
            return None

    def panic_event_ids(self) -> list[str]:
        """Every panic on the hub's record: all pages of /api/alerts, not the newest one
        (a long chaos run presses far more than one page holds). Empty while the hub is
        down."""
        found: list[str] = []
        path = "/api/alerts?limit=500"
        while True:
            page = self.api_or_none("GET", path)
            if page is None:
                return []
            found += [alert["event_id"] for alert in page["alerts"]]
            if page["next"] is None:
                return found
            path = f"/api/alerts?limit=500&before={urllib.parse.quote(page['next'])}"

    def rejected(self) -> dict[str, int]:
        status = self.api_or_none("GET", "/api/status") or {}
        return dict(status.get("rejected", {}))

    def converged(self, rooms: list[Rooms], seq: int) -> bool:
        """Every display shows ``seq`` and the hub has every room's ack of it."""
        shown = all(
            r["acked_seq"] == seq for group in rooms for r in group.status()["rooms"].values()
        )
        report = self.api_or_none("GET", f"/api/directives/{seq}")
        return shown and report is not None and report["acked"] == report["total"]

    def stop_all(self, rooms: list[Rooms]) -> None:
        for group in rooms:
            group.stop()
        self.stop_hub()
        self.broker.stop()
