"""``--profile DIR``: py-spy flame graphs of the hub, the simulators and the device during
the fan-out, the phase the time-to-last-room comes from.

py-spy samples a running process from outside (no change to what is measured beyond a
few per cent of a core); each process gets one SVG, ``n<N>-<process>.svg``.
"""

from __future__ import annotations

import contextlib
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path

from benchmarks.procs import BenchError

RATE_HZ = 250


def py_spy() -> str:
    """The py-spy next to this interpreter (the dev extra installs it), else on PATH."""
    beside = Path(sys.executable).with_name("py-spy")
    found = str(beside) if beside.exists() else shutil.which("py-spy")
    if found is None:
        raise BenchError("--profile needs py-spy: pip install -e '.[dev]' (or pip install py-spy)")
    return found


@contextlib.contextmanager
def profiled(pids: Mapping[str, int], out: Path | None, prefix: str) -> Iterator[None]:
    """Record every process in ``pids`` while the body runs; nothing when ``out`` is None."""
    if out is None:
        yield
        return
    out.mkdir(parents=True, exist_ok=True)
    spy = py_spy()
    with contextlib.ExitStack() as logs:
        recorders = [
            subprocess.Popen(  # a fixed tool and our own children's pids
                [
                    *(spy, "record", "--pid", str(pid), "--rate", str(RATE_HZ), "--nonblocking"),
                    *("--format", "flamegraph", "--output", str(out / f"{prefix}-{name}.svg")),
                ],
                stdout=subprocess.DEVNULL,
                stderr=logs.enter_context((out / f"{prefix}-{name}.py-spy.log").open("wb")),
            )
            for name, pid in pids.items()
        ]
        try:
            yield
        finally:
            for recorder in recorders:  # on SIGINT py-spy writes the graph, then exits
                recorder.send_signal(signal.SIGINT)
            for recorder in recorders:
                try:
                    recorder.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    recorder.kill()
                    recorder.wait(timeout=5)
    for log in out.glob(f"{prefix}-*.py-spy.log"):  # kept only when py-spy had a say
        if not log.stat().st_size:
            log.unlink()
