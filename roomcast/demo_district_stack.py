"""A whole district running on one machine: the NATS cluster, each school's Mosquitto
(bridged to it over TLS), hub and simulated rooms, and the district service.

Built by provisioning.throwaway_district; shared by ``roomcast demo --schools`` and the
benchmark's district series. Every part is a process started as an operator would start
it (``nats-server -c``, ``mosquitto -c``, ``roomcast hub``, ``roomcast simulate``,
``roomcast district serve``); ``stop()`` ends them all, the school brokers and the NATS
nodes last, and is safe to call at any point.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyotp

from provisioning.throwaway_district import ThrowawayDistrict, ThrowawaySchool
from roomcast import control
from roomcast.broker import MosquittoProcess
from roomcast.children import dies_with_us
from roomcast.client import ClientError, HubClient, login, write_secret
from roomcast.handle import DemoError, DemoHandle

RESUBSCRIBE_TRIES = 3
BRIDGE_BATCH = 5
"""School brokers started at once; then until their bridges are up (start())."""
ADMIN_TOTP = "admin-totp"
"""Each school's admin TOTP secret in its handle directory, read by `roomcast code`."""


def find_nats_server() -> str:
    found = shutil.which("nats-server") or shutil.which("nats-server", path="/usr/sbin")
    if found is None:
        raise DemoError("nats-server is missing: apt-get install -y nats-server")
    return found


@dataclass
class SchoolRun:
    """One running school: where its console is and how the other commands reach it."""

    school: ThrowawaySchool
    handle_dir: Path
    """``roomcast status|issue|press|code --state-dir <this>`` act on this school."""
    hub_url: str
    control_socket: Path
    screens: Path
    client: HubClient | None = None

    @property
    def name(self) -> str:
        return self.school.name

    @property
    def hub(self) -> HubClient:
        assert self.client is not None, "the school's hub is not logged in to yet"
        return self.client


class RunningDistrict:
    """``start()`` then ``stop()``."""

    def __init__(self, built: ThrowawayDistrict, state_dir: Path, *, service_port: int) -> None:
        self.built, self.state_dir, self.service_port = built, state_dir, service_port
        self.logs = state_dir / "logs"
        self.nodes: dict[str, subprocess.Popen[bytes]] = {}
        self.brokers: list[MosquittoProcess] = []
        self.children: dict[str, subprocess.Popen[bytes]] = {}
        self._log_read: dict[str, int] = {}
        self._service: HubClient | None = None
        self.resubscribed = 0
        """Bridges restarted because their request subscription failed (above)."""
        self.schools = [
            SchoolRun(
                school=s,
                handle_dir=state_dir / s.name,
                hub_url=f"http://127.0.0.1:{s.hub_port}",
                control_socket=state_dir / s.name / "control.sock",
                screens=state_dir / s.name / "screens",
            )
            for s in built.schools
        ]

    @property
    def service_url(self) -> str:
        return f"http://127.0.0.1:{self.service_port}"

    def service(self) -> HubClient:
        """The district service's API as its admin (logged in once it answers)."""
        if self._service is None:
            built = self.built
            code = pyotp.TOTP(built.admin_totp_secret).now()
            token = login(self.service_url, built.admin_user, built.admin_password, code)
            self._service = HubClient(self.service_url, token, timeout_s=5)
        return self._service

    @property
    def total_rooms(self) -> int:
        return sum(len(s.school.site.devices) for s in self.schools)

    # -- starting ----------------------------------------------------------------------

    def start(self, *, within_s: float | None = None) -> None:
        """Nodes first (a node reads the schools' authorization at start), the district
        service, each school's broker a few at a time (below), then the hubs and rooms;
        until all is ready."""
        self.logs.mkdir(parents=True, exist_ok=True)
        bound = within_s or 60.0 + self.total_rooms * 0.1
        for node in self.built.nodes:
            self.start_node(node.name)
        district_dir = str(self.built.layout.root)
        serve = ["district", "serve", "--district-dir", district_dir]
        self._spawn("district", [*serve, "--http-port", str(self.service_port)])
        deadline = time.monotonic() + bound
        for first in range(0, len(self.schools), BRIDGE_BATCH):
            batch = self.schools[first : first + BRIDGE_BATCH]
            for run in batch:
                run.handle_dir.mkdir(mode=0o700, exist_ok=True)
                broker = MosquittoProcess(run.school.broker, run.school.site.layout.broker.dir)
                broker.start()
                self.brokers.append(broker)
            self._wait_bridges_up({run.name for run in batch}, deadline)
        for run in self.schools:
            self._spawn(f"hub-{run.name}", ["hub", "--config", str(run.school.site.hub.config)])
        self._spawn_simulators()
        self.wait_ready(within_s=bound)

    def _wait_bridges_up(self, names: set[str], deadline: float) -> None:
        """Until the district sees each of these bridges' "1". A node handles a
        connection's packets in order, so the bridge's subscription to its requests was
        made (or failed) by then: a few bridges at a time keep the nodes from timing out
        creating the JetStream consumers behind them (pitfall in docs/district.md)."""
        waiting = set(names)
        while waiting and time.monotonic() < deadline:
            self.check()
            with contextlib.suppress(ClientError):
                for school in self.service().get("/api/schools")["schools"]:
                    if school["bridge"] == "up":
                        waiting.discard(school["site"])
            time.sleep(0.2)
        if waiting:
            raise DemoError(f"the bridges of {sorted(waiting)} did not come up; see {self.logs}")

    def start_node(self, name: str) -> None:
        files = self.built.layout.node(name)
        with (self.logs / f"nats-{name}.log").open("ab") as log:
            self.nodes[name] = subprocess.Popen(  # noqa: S603 - Debian's nats-server
                [find_nats_server(), "-c", str(files.conf)],
                stdout=log,
                stderr=log,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
                preexec_fn=dies_with_us(),  # a harness killed outright leaves no node
            )
        port = next(n.mqtt_port for n in self.built.nodes if n.name == name)
        deadline = time.monotonic() + 30.0
        while time.monotonic() < deadline:
            if self.nodes[name].poll() is not None:
                raise DemoError(f"NATS node {name} exited; see {self.logs}/nats-{name}.log")
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.5):
                return
            time.sleep(0.05)
        raise DemoError(f"NATS node {name} did not listen in 30 s; see {self.logs}")

    def kill_node(self, name: str) -> None:
        """kill -9: the node gets no chance to hand anything over."""
        process = self.nodes.pop(name)
        process.kill()
        process.wait()

    def _spawn_simulators(self) -> None:
        """One simulator per school: ``roomcast simulate`` knows a room by its number, and
        every school has a room 101."""
        for run in self.schools:
            args = ["simulate", "--screens", str(run.screens)]
            args += ["--control", str(run.control_socket)]
            args += [str(d.config) for d in run.school.site.devices]
            self._spawn(f"simulate-{run.name}", args)

    def _spawn(self, name: str, args: list[str]) -> None:
        with (self.logs / f"{name}.log").open("ab") as log:
            self.children[name] = subprocess.Popen(  # noqa: S603 - our own interpreter
                [sys.executable, "-m", "roomcast", *args],
                stdout=log,
                stderr=log,
                stdin=subprocess.DEVNULL,
                start_new_session=True,  # Ctrl-C reaches us; we stop them in order
                preexec_fn=dies_with_us(),  # ... and a harness killed outright, the kernel
            )

    def check(self) -> None:
        """Raise naming the part that died: a dead hub or node makes every result wrong."""
        for name, child in [
            *self.children.items(),
            *(("nats-" + n, p) for n, p in self.nodes.items()),
        ]:
            if child.poll() is not None:
                raise DemoError(
                    f"{name} exited with {child.returncode}; see {self.logs / f'{name}.log'}"
                )

    # -- waiting until it is all there -------------------------------------------------

    def wait_ready(self, *, within_s: float) -> None:
        deadline = time.monotonic() + within_s
        for run in self.schools:
            self._wait_school(run, deadline)
        self.wait_bridged(deadline)
        for _ in range(RESUBSCRIBE_TRIES):
            failed = self.unsubscribed_bridges()
            if not failed:
                return
            for run in failed:
                self.restart_broker(run)
            # Their own bound: the first wait may have used most of the overall one.
            self.wait_bridged(time.monotonic() + 60.0, only={run.name for run in failed})
        if failed := self.unsubscribed_bridges():
            names = sorted(run.name for run in failed)
            raise DemoError(f"the bridges of {names} could not subscribe to their requests")

    def unsubscribed_bridges(self) -> list[SchoolRun]:
        """Schools whose bridge is up but whose request subscription NATS failed to make.

        Under load (30 bridges connecting to a cluster still settling) a node can time out
        creating the JetStream consumer behind a bridge's QoS 1 subscription: the SUBACK
        fails, Mosquitto keeps the link up without it, says "1" and sends its summaries,
        and the school never hears a district request. Only the node's log says so."""
        failed = []
        for name in list(self.nodes):
            log = self.logs / f"nats-{name}.log"
            start = self._log_read.get(name, 0)
            with log.open("rb") as reader:
                reader.seek(start)
                text = reader.read().decode(errors="replace")
                self._log_read[name] = reader.tell()
            for run in self.schools:
                bridge = f'"roomcast-bridge-{run.name}" - Unable to add JetStream consumer'
                if bridge in text and run not in failed:
                    failed.append(run)
        self.resubscribed += len(failed)
        return failed

    def restart_broker(self, run: SchoolRun) -> None:
        """The school's Mosquitto, stopped and started: its bridge connects and subscribes
        again (its persistent session on the district side keeps what was queued)."""
        index = self.schools.index(run)
        self.brokers[index].stop()
        self.brokers[index].start()

    def _wait_school(self, run: SchoolRun, deadline: float) -> None:
        """Until the hub is on its broker and sees every room online; then log in."""
        probe = HubClient(run.hub_url, "", timeout_s=2)
        total = len(run.school.site.devices)
        while time.monotonic() < deadline:
            self.check()
            try:
                if probe.get("/api/health").get("broker_connected"):
                    run.client = run.client or HubClient(
                        run.hub_url, self._login(run), timeout_s=30
                    )
                    rooms = run.hub.get("/api/status")["rooms"]
                    if sum(1 for r in rooms if r["online"]) >= total:
                        return
            except ClientError:
                pass
            time.sleep(0.2)
        raise DemoError(f"{run.name}'s hub did not see its {total} rooms online; see {self.logs}")

    def _login(self, run: SchoolRun) -> str:
        site = run.school.site
        token = login(run.hub_url, site.admin_user, site.admin_password, site.admin_code())
        write_secret(run.handle_dir / "cli-token", token)
        write_secret(run.handle_dir / ADMIN_TOTP, site.admin_totp_secret)
        DemoHandle(
            hub_url=run.hub_url,
            token_file=run.handle_dir / "cli-token",
            control_socket=run.control_socket,
            screens=run.screens,
            pid=os.getpid(),
        ).write(run.handle_dir)
        return token

    def wait_bridged(self, deadline: float, *, only: set[str] | None = None) -> None:
        """Until the district service sees every school's bridge up and a summary that came
        after it: a request sent before a bridge has subscribed is dropped
        (docs/district.md, pitfalls), and a summary across it proves it subscribed."""
        seen_up: dict[str, int] = {}
        waiting = only or {run.name for run in self.schools}
        while waiting and time.monotonic() < deadline:
            self.check()
            with contextlib.suppress(ClientError):
                for school in self.service().get("/api/schools")["schools"]:
                    site, summary = school["site"], school["summary"]
                    seq = -1 if summary is None else int(summary["seq"])
                    if school["bridge"] != "up" or not school["reachable"]:
                        seen_up.pop(site, None)
                    elif site not in seen_up:
                        seen_up[site] = seq
                    elif seq > seen_up[site]:
                        waiting.discard(site)
            time.sleep(0.2)
        if waiting:
            raise DemoError(
                f"the district did not see {sorted(waiting)} bridged in time; see {self.logs}"
            )

    def schools_view(self) -> list[dict[str, Any]]:
        view: list[dict[str, Any]] = HubClient(self.service_url, "").get("/api/schools")["schools"]
        return view

    def simulator_status(self, run: SchoolRun) -> dict[str, Any]:
        return control.call_sync(run.control_socket, {"cmd": "status"})

    # -- stopping ----------------------------------------------------------------------

    def stop(self) -> None:
        for child in reversed(self.children.values()):
            if child.poll() is None:
                child.send_signal(signal.SIGTERM)
        for child in self.children.values():
            _reap(child)
        self.children.clear()
        for broker in self.brokers:
            broker.stop()
        self.brokers.clear()
        for node in self.nodes.values():
            if node.poll() is None:
                node.terminate()
        for node in self.nodes.values():
            _reap(node)
        self.nodes.clear()
        for run in self.schools:
            for leftover in ("demo.json", "control.sock"):
                (run.handle_dir / leftover).unlink(missing_ok=True)


def _reap(process: subprocess.Popen[bytes]) -> None:
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
