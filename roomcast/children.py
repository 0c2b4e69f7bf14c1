"""Child processes that die with the process that started them.

The demo and the benchmarks start brokers, NATS nodes, hubs and simulators. Each stops
them in order on Ctrl-C or at the end, but a harness killed outright (``kill -9``, a test's
timeout) runs no cleanup: the children would live on and hold their ports. Linux's parent
death signal ends them instead. ``preexec_fn`` is safe here: the harness starts children
from one thread.
"""

from __future__ import annotations

import ctypes
import functools
import os
import signal
from collections.abc import Callable

_PR_SET_PDEATHSIG = 1
_prctl = ctypes.CDLL(None, use_errno=True).prctl  # resolved here: the child only calls it


def _die_with_parent(parent: int) -> None:
    """In the child, before exec: SIGTERM when the starting thread goes away."""
    _prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
    if os.getppid() != parent:  # the parent died before the line above
        os._exit(1)


def dies_with_us() -> Callable[[], None]:
    """A ``preexec_fn`` for ``subprocess.Popen``: the child gets SIGTERM when we die."""
    return functools.partial(_die_with_parent, os.getpid())
