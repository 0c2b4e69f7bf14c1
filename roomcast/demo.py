"""`roomcast demo`: a broker, the hub and N simulated classrooms on one machine.

Everything lives in one state directory (default ``~/.local/state/roomcast/demo``): the
broker's config and data, the throw-away site, the hub's store, every room's screen PNG
and the logs; with ``--relay``, also what the hand-off receivers got (``relay/``, see
:mod:`roomcast.demo_relay`). The hub and the simulator run as child processes, exactly as they would
under systemd; Ctrl-C stops all of them, the broker last.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import IO, Any

from protocol.factors import otpauth_uri
from provisioning.throwaway import ThrowawaySite, create_throwaway_site
from roomcast import control
from roomcast.broker import MosquittoProcess, free_port
from roomcast.client import ClientError, HubClient, login, write_secret
from roomcast.demo_relay import DemoReceivers
from roomcast.handle import HANDLE, DemoError, DemoHandle
from roomcast.scenario import run_scenario

MARKER = ".roomcast-demo"
ADMIN_TOTP = "admin-totp"
"""The demo admin's TOTP secret (0600), read by `roomcast code`."""


def prepare_state_dir(state_dir: Path) -> None:
    """Start from a clean directory, but only ever delete one this command made."""
    if state_dir.exists():
        handle = state_dir / HANDLE
        if handle.exists():
            pid = DemoHandle.read(state_dir).pid
            if _alive(pid):
                raise DemoError(f"a demo is already running (pid {pid}) in {state_dir}")
        if any(state_dir.iterdir()) and not (state_dir / MARKER).exists():
            raise DemoError(f"{state_dir} is not empty and was not made by roomcast demo")
        shutil.rmtree(state_dir)
    state_dir.mkdir(parents=True, mode=0o700)
    (state_dir / MARKER).write_text("made by roomcast demo; safe to delete\n")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class Demo:
    """The running parts of one demo; ``stop()`` is safe to call at any point."""

    def __init__(
        self,
        state_dir: Path,
        rooms: int,
        *,
        out: IO[str],
        relay: bool = False,
        wording: Path | None = None,
    ) -> None:
        self.state_dir, self.rooms, self.out, self.relay = state_dir, rooms, out, relay
        self.wording = wording
        self.receivers: DemoReceivers | None = None
        self.broker: MosquittoProcess | None = None
        self.site: ThrowawaySite | None = None
        self.children: list[subprocess.Popen[bytes]] = []
        self.handle: DemoHandle | None = None

    def start(self) -> DemoHandle:
        prepare_state_dir(self.state_dir)
        # The same provisioning steps a school runs: a site CA, TLS for every connection,
        # an ACL per device, a generated admin password. Only the addresses are loopback.
        self.site = create_throwaway_site(
            self.state_dir / "site",
            rooms=self.rooms,
            broker_port=free_port(),
            http_port=free_port(),
            wording=self.wording,
        )
        self.broker = MosquittoProcess(self.site.broker, self.site.layout.broker.dir)
        self.broker.start()
        hub_config = json.loads(self.site.hub.config.read_text())
        hub_url = f"http://127.0.0.1:{hub_config['http']['port']}"
        if self.relay:
            self.receivers = DemoReceivers(self.state_dir / "relay")
            self.receivers.start()
            self.receivers.write_relay_toml(self.site.hub.dir / "relay.toml", console_url=hub_url)
        screens = self.state_dir / "screens"
        control_socket = self.state_dir / "control.sock"
        self._spawn("hub", ["hub", "--config", str(self.site.hub.config)])
        device_configs = [str(device.config) for device in self.site.devices]
        self._spawn(
            "simulate",
            [
                "simulate",
                "--screens",
                str(screens),
                "--control",
                str(control_socket),
                *device_configs,
            ],
        )
        self.handle = DemoHandle(
            hub_url=hub_url,
            token_file=self.state_dir / "cli-token",
            control_socket=control_socket,
            screens=screens,
            pid=os.getpid(),
        )
        self._wait_ready(self.handle)
        self.handle.write(self.state_dir)
        return self.handle

    def _spawn(self, name: str, args: list[str]) -> None:
        log = (self.state_dir / f"{name}.log").open("ab")
        self.children.append(
            subprocess.Popen(  # noqa: S603 - our own interpreter and module
                [sys.executable, "-m", "roomcast", *args],
                stdout=log,
                stderr=log,
                stdin=subprocess.DEVNULL,
                start_new_session=True,  # Ctrl-C reaches us; we stop them in order
            )
        )
        log.close()

    def _wait_ready(self, handle: DemoHandle, *, timeout: float = 60.0) -> None:
        """Until the hub answers, the CLI has a session, and every room is connected."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self._check_children()
            try:
                health = HubClient(handle.hub_url, "", timeout_s=1).get("/api/health")
                status = control.call_sync(handle.control_socket, {"cmd": "status"})
                if health.get("broker_connected") and status["connected"] == status["total"]:
                    self._log_in(handle)
                    return
            except (ClientError, OSError, RuntimeError):
                pass
            time.sleep(0.1)
        raise DemoError(
            f"the demo did not come up in {timeout} s; see the logs in {self.state_dir}"
        )

    def _log_in(self, handle: DemoHandle) -> None:
        """Log the command line in as the site's admin (whose password init generated)."""
        assert self.site is not None
        site = self.site
        token = login(handle.hub_url, site.admin_user, site.admin_password, site.admin_code())
        write_secret(handle.token_file, token)
        # For `roomcast code`: a person logging in to the demo's console needs a code too.
        write_secret(self.state_dir / ADMIN_TOTP, site.admin_totp_secret)

    def _check_children(self) -> None:
        for child in self.children:
            if child.poll() is not None:
                name = child.args[3] if isinstance(child.args, list) else "child"
                raise DemoError(
                    f"{name} exited with {child.returncode}; see {self.state_dir / f'{name}.log'}"
                )

    def wait(self) -> None:
        """Until Ctrl-C / SIGTERM, or until a child dies (then say which)."""
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, interrupted)
        try:
            while True:
                self._check_children()
                time.sleep(0.5)
        except KeyboardInterrupt:
            self.out.write("\nstopping the demo ...\n")

    def stop(self) -> None:
        for child in reversed(self.children):
            if child.poll() is None:
                child.send_signal(signal.SIGTERM)
        for child in self.children:
            try:
                child.wait(timeout=10)
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()
        if self.broker is not None:
            self.broker.stop()
        if self.receivers is not None:
            self.receivers.close()
        (self.state_dir / HANDLE).unlink(missing_ok=True)
        (self.state_dir / "control.sock").unlink(missing_ok=True)


def interrupted(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def describe(handle: DemoHandle, demo: Demo) -> str:
    broker, site = demo.broker, demo.site
    assert broker is not None and site is not None
    lines = [
        f"Roomcast demo: {demo.rooms} simulated classrooms, all links TLS with per-device "
        "certificates",
        f"  broker      mqtts://127.0.0.1:{broker.port}  (site files in {site.layout.root})",
        f"  console     {handle.hub_url}  (user {site.admin_user}, password "
        f"{site.admin_password}: generated for this demo)",
        "  code        the console then asks for the admin's second-factor code: run "
        "`roomcast code`,",
        f"              or add {otpauth_uri(site.admin_totp_secret, site.admin_user, site.site)}",
        "              to an authenticator app",
        f"  screens     {handle.screens}/<room>.png  (e.g. {handle.screens / '101.png'})",
        f"  logs        {demo.state_dir}/hub.log, simulate.log, site/broker/mosquitto.log",
        "",
        *_handoff_lines(demo),
        "From another terminal (the command line is already logged in as the admin):",
        "  roomcast issue lockdown --drill      roomcast press 101",
        "  roomcast release --room 101          roomcast issue all-clear",
        "  roomcast status                      roomcast relay test"
        if demo.receivers
        else "  roomcast status",
        "",
        "Ctrl-C stops everything.",
    ]
    return "\n".join(lines) + "\n"


def _handoff_lines(demo: Demo) -> list[str]:
    if demo.receivers is None:
        return []
    assert demo.site is not None
    relay_toml = demo.site.hub.dir / "relay.toml"
    return [
        f"Hand-offs beyond the building ({relay_toml}), received on this machine:",
        *demo.receivers.describe(),
        "",
    ]


def run_demo(
    state_dir: Path,
    rooms: int,
    scenario: str | None,
    as_json: bool,
    out: IO[str],
    *,
    relay: bool = False,
    wording: Path | None = None,
) -> int:
    demo = Demo(state_dir, rooms, out=out, relay=relay, wording=wording)
    try:
        handle = demo.start()
        if scenario is None:
            out.write(describe(handle, demo))
            out.flush()
            demo.wait()
            return 0
        result: dict[str, Any] = run_scenario(scenario, handle, demo.receivers)
        out.write(json.dumps(result, indent=None if as_json else 2) + "\n")
        return 0 if result["ok"] else 1
    finally:
        demo.stop()
