"""Run Mosquitto as a child process from a generated config (the demo and the tests).

The broker gets its own free loopback port and its own data directory, and is stopped
with its parent: no orphaned mosquitto after Ctrl-C.
"""

from __future__ import annotations

import contextlib
import shutil
import socket
import subprocess
import time
from pathlib import Path
from types import TracebackType

from provisioning.broker import BrokerConfig

MOSQUITTO_CANDIDATES = ("mosquitto", "/usr/sbin/mosquitto", "/usr/local/sbin/mosquitto")


class BrokerError(RuntimeError):
    """Mosquitto is missing or would not start; the message says what to do."""


def find_mosquitto() -> str:
    for candidate in MOSQUITTO_CANDIDATES:
        found = shutil.which(candidate)
        if found:
            return found
    raise BrokerError(
        "mosquitto is not installed: install the Debian package with "
        "`sudo apt-get install mosquitto` (or run `make demo`, which does it)"
    )


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


PID_FILE = "mosquitto.pid"


class MosquittoProcess:
    """``with MosquittoProcess(config, workdir) as broker:`` a running, listening broker."""

    def __init__(self, config: BrokerConfig, workdir: Path) -> None:
        self.config = config
        self.workdir = workdir
        self.conf_path = workdir / "mosquitto.conf"
        self.log_path = workdir / "mosquitto.log"
        self.pid_path = workdir / PID_FILE
        """Written once it runs: how ``provision revoke`` and the hub's cut-offs
        (``provision quarantine --pid-file``) reach it to reload the ACL."""
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def port(self) -> int:
        return self.config.port

    @property
    def pid(self) -> int:
        if self._process is None:
            raise BrokerError("broker is not running")
        return self._process.pid

    def start(self, *, timeout: float = 10.0) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.config.data_dir.mkdir(parents=True, exist_ok=True)
        self.conf_path.write_text(self.config.render(), encoding="utf-8")
        with self.log_path.open("ab") as log:
            self._process = subprocess.Popen(  # noqa: S603 - our own binary and config
                [find_mosquitto(), "-c", str(self.conf_path)],
                stdout=log,
                stderr=log,
                stdin=subprocess.DEVNULL,
            )
        self.pid_path.write_text(f"{self._process.pid}\n", encoding="ascii")
        self._wait_listening(timeout)

    def _wait_listening(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self._process is not None
            if self._process.poll() is not None:
                raise BrokerError(
                    f"mosquitto exited with {self._process.returncode}; "
                    f"see {self.log_path}:\n{self.log_path.read_text(errors='replace')[-2000:]}"
                )
            with (
                contextlib.suppress(OSError),
                socket.create_connection((self.config.host, self.config.port), timeout=0.2),
            ):
                return
            time.sleep(0.02)
        self.stop()
        raise BrokerError(f"mosquitto did not listen on port {self.config.port} in {timeout} s")

    def kill(self) -> None:
        """kill -9: for fault tests (the broker gets no chance to save anything)."""
        if self._process is not None:
            self._process.kill()
            self._process.wait()
            self._process = None
            self.pid_path.unlink(missing_ok=True)  # never signal a stranger with its pid

    def stop(self) -> None:
        if self._process is None:
            return
        self._process.terminate()
        try:
            self._process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
        self._process = None
        self.pid_path.unlink(missing_ok=True)

    def __enter__(self) -> MosquittoProcess:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()
