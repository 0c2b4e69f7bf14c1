"""Booting the emulated Pi under a real systemd (``systemd-nspawn --boot``) and reaching in.

The container shares the host's network (no ``--private-network``), so the node reaches
the broker on 127.0.0.1 as a Pi reaches its hub. ``--register=no --keep-unit`` because the
host's PID 1 is not systemd. Every boot runs on an overlay of the cached root whose upper
directory persists between boots of one Pi (the card, the installed node, its outbox);
each Pi of the test has its own.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
from collections.abc import Callable
from pathlib import Path

from tests.pi.rootfs import PiTestError


async def wait_until(check: Callable[[], object], within_s: float, what: str) -> object:
    """Re-check ``check`` every half second until it is truthy; fail after ``within_s``."""
    deadline = asyncio.get_running_loop().time() + within_s
    while True:
        value = check()
        if value:
            return value
        if asyncio.get_running_loop().time() > deadline:
            raise PiTestError(f"timed out after {within_s:.0f} s waiting for {what}")
        await asyncio.sleep(0.5)


PATH = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
"""Commands run inside get a clean environment, not the test's (its venv, its PATH)."""


class Pi:
    """One boot of the emulated Pi; ``log`` collects the console; ``binds`` are extra
    ``systemd-nspawn`` options (``--bind-ro=HOST:INSIDE``)."""

    def __init__(self, root: Path, upper: Path, log: Path, binds: tuple[str, ...] = ()) -> None:
        self.root, self.upper, self.log, self.binds = root, upper, log, binds
        self.process: asyncio.subprocess.Process | None = None

    async def boot(self, *kernel_arguments: str) -> None:
        command = [
            "systemd-nspawn", "--quiet", f"--directory={self.root}",
            f"--overlay={self.root}:{self.upper}:/", "--register=no", "--keep-unit",
            *self.binds, "--boot", "--", *kernel_arguments,
        ]  # fmt: skip
        with self.log.open("ab") as out:
            self.process = await asyncio.create_subprocess_exec(
                *command, stdin=asyncio.subprocess.DEVNULL, stdout=out, stderr=out
            )

    async def exited(self, within_s: float) -> int:
        assert self.process is not None
        try:
            async with asyncio.timeout(within_s):
                return await self.process.wait()
        except TimeoutError:
            raise PiTestError(f"the container did not stop within {within_s:.0f} s") from None

    def leader(self) -> int | None:
        """The container's PID 1 (systemd), as the host sees it."""
        if self.process is None:
            return None
        children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        with contextlib.suppress(OSError):
            pids = children.read_text().split()
            return int(pids[0]) if pids else None
        return None

    def inside(self) -> int | None:
        """The leader once the container's systemd runs in the container's root (its
        private socket is there): before that, nsenter could land on the host's root."""
        leader = self.leader()
        if leader is None:
            return None
        with contextlib.suppress(OSError):
            root, host = os.stat(f"/proc/{leader}/root/"), os.stat("/")
            if (root.st_dev, root.st_ino) != (host.st_dev, host.st_ino) and Path(
                f"/proc/{leader}/root/run/systemd/private"
            ).exists():
                return leader
        return None

    async def run(self, *command: str, within_s: float = 60) -> str:
        """A command inside the running container (its namespaces); its stdout."""
        leader = self.inside()
        if leader is None:
            raise PiTestError("the container is not running (or its systemd not yet)")
        process = await asyncio.create_subprocess_exec(
            "nsenter", f"--target={leader}", "--all", "env", "-i", PATH, "LANG=C.UTF-8",
            "HOME=/root", *command,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        try:
            async with asyncio.timeout(within_s):
                out, err = await process.communicate()
        except TimeoutError:
            process.kill()
            raise PiTestError(f"{' '.join(command)} took more than {within_s} s") from None
        if process.returncode != 0:
            raise PiTestError(
                f"{' '.join(command)}: exit {process.returncode}:\n"
                f"{out.decode(errors='replace')[-3000:]}{err.decode(errors='replace')[-3000:]}"
            )
        return out.decode()

    async def started(self, within_s: float) -> None:
        """Wait for the container's systemd to finish booting (running or degraded)."""
        await wait_until(self.inside, within_s, "the container's systemd to start")
        state = await self.run(
            "sh", "-c", "systemctl is-system-running --wait || true", within_s=within_s
        )
        if state.strip() not in ("running", "degraded"):
            raise PiTestError(f"the container's systemd is {state.strip()!r} after booting")

    async def unit(self, *properties: str, name: str = "roomcast-device.service") -> dict[str, str]:
        """``systemctl show`` of a unit inside the container (the node's, by default)."""
        args = [f"--property={p}" for p in properties]
        text = await self.run("systemctl", "show", name, *args)
        return dict(line.split("=", 1) for line in text.splitlines() if "=" in line)

    async def kill(self) -> None:
        """Kill the whole container at once (its PID 1 with SIGKILL): a power cut."""
        leader = self.leader()
        if leader is not None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(leader, signal.SIGKILL)
        if self.process is not None:
            await self.exited(60)
