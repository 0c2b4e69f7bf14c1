"""Child processes the harness owns, and what /proc says about them.

Every child is started in its own session (so a Ctrl-C in the terminal reaches only the
harness, which then stops the children in order) and with a parent-death signal (so a
harness killed with -9 still takes its children with it). :class:`Children` stops them
all, SIGTERM first and SIGKILL after a bound, on every way out of its ``with`` block.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import FrameType, TracebackType
from typing import IO

from roomcast.children import dies_with_us

_CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


class BenchError(RuntimeError):
    """Something the harness needs did not happen in time; the message says where to look."""


@dataclass
class Child:
    name: str
    process: subprocess.Popen[bytes]
    log: Path

    @property
    def pid(self) -> int:
        return self.process.pid

    def check(self) -> None:
        """Raise if the child has exited: a dead hub or simulator makes every number wrong."""
        code = self.process.poll()
        if code is not None:
            tail = self.log.read_text(errors="replace")[-1500:] if self.log.exists() else ""
            raise BenchError(f"{self.name} exited with {code}; see {self.log}:\n{tail}")


class Children:
    """``with Children(log_dir) as children:`` every process started here is stopped on exit."""

    def __init__(self, log_dir: Path) -> None:
        self.log_dir = log_dir
        self._children: list[Child] = []

    def spawn(
        self,
        name: str,
        args: list[str],
        *,
        stdout: int | IO[bytes] | None = None,
        stdin: int | None = subprocess.DEVNULL,
        cwd: Path | None = None,
        env: Mapping[str, str] | None = None,
    ) -> Child:
        """Start ``python args...`` (our own interpreter); stderr always goes to the log.

        ``env``: variables set on top of the harness's own environment.
        """
        self.log_dir.mkdir(parents=True, exist_ok=True)
        log_path = self.log_dir / f"{name}.log"
        with log_path.open("ab") as log:
            process = subprocess.Popen(  # our own interpreter and modules
                [sys.executable, *args],
                stdout=log if stdout is None else stdout,
                stderr=log,
                stdin=stdin,
                cwd=cwd,
                env=None if env is None else os.environ | dict(env),
                start_new_session=True,
                preexec_fn=dies_with_us(),
            )
        child = Child(name, process, log_path)
        self._children.append(child)
        return child

    def stop(self, child: Child, *, within_s: float = 10.0) -> None:
        if child.process.poll() is None:
            child.process.send_signal(signal.SIGTERM)
            try:
                child.process.wait(timeout=within_s)
            except subprocess.TimeoutExpired:
                child.process.kill()
                child.process.wait(timeout=5)
        if child.process.stdout is not None:
            child.process.stdout.close()
        if child.process.stdin is not None:
            child.process.stdin.close()
        if child in self._children:
            self._children.remove(child)

    def stop_all(self) -> None:
        """Newest first (simulators before the hub), all signalled before any is waited."""
        for child in reversed(self._children):
            if child.process.poll() is None:
                child.process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + 10
        for child in list(self._children):
            try:
                child.process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                child.process.kill()
                child.process.wait(timeout=5)
            self.stop(child)

    def check(self) -> None:
        for child in self._children:
            child.check()

    def __enter__(self) -> Children:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop_all()


def raise_on_sigterm() -> None:
    """SIGTERM (and SIGINT) become KeyboardInterrupt, so every ``finally`` runs."""

    def interrupt(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, interrupt)
    signal.signal(signal.SIGINT, interrupt)


@dataclass(frozen=True)
class Usage:
    """One sample of a process: CPU seconds so far and resident memory now / at peak."""

    at: float
    cpu_s: float
    rss_mb: float
    hwm_mb: float


def sample(pid: int) -> Usage:
    """utime + stime (all threads) from /proc/<pid>/stat; VmRSS and VmHWM from status."""
    proc = Path("/proc") / str(pid)
    stat = (proc / "stat").read_text()
    fields = stat[stat.rindex(")") + 2 :].split()
    cpu = (int(fields[11]) + int(fields[12])) / _CLOCK_TICKS
    status = dict(
        line.split(":", 1) for line in (proc / "status").read_text().splitlines() if ":" in line
    )
    rss = int(status.get("VmRSS", "0 kB").split()[0]) / 1024
    hwm = int(status.get("VmHWM", "0 kB").split()[0]) / 1024
    return Usage(at=time.monotonic(), cpu_s=cpu, rss_mb=rss, hwm_mb=hwm)


def cpu_percent(before: Usage, after: Usage) -> float:
    """Percent of one core between two samples of the same process."""
    wall = after.at - before.at
    return 100.0 * (after.cpu_s - before.cpu_s) / wall if wall > 0 else 0.0


def pss_mb(pid: int) -> float | None:
    """Proportional set size (shared pages split among their users), if the kernel says."""
    try:
        text = (Path("/proc") / str(pid) / "smaps_rollup").read_text()
    except OSError:
        return None
    for line in text.splitlines():
        if line.startswith("Pss:"):
            return int(line.split()[1]) / 1024
    return None
