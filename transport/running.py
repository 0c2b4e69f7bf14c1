"""Running a service until SIGINT or SIGTERM, then shutting it down cleanly.

The hub and the classroom node both run this way; it lives here, below both, so that the
node's command needs nothing from the ``roomcast`` command package.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Coroutine
from typing import Any


def configure_logging(verbose: bool = False) -> None:
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    logging.getLogger("httpx").setLevel(logging.WARNING)


RECANCEL_S = 3.0
"""How long a stopping service may take before every task it runs is cancelled again."""

log = logging.getLogger(__name__)


def run_until_signalled(main: Coroutine[Any, Any, None], *, recancel_s: float = RECANCEL_S) -> int:
    """Run ``main``; SIGINT/SIGTERM cancel it so its ``finally`` blocks flush and close.

    On Python 3.11 ``asyncio.wait_for`` loses a cancellation that arrives as the awaited
    future completes, and aiomqtt awaits every connect, publish and subscribe through it:
    a SIGTERM at such a moment left a hub running with its event loop idle (seen under
    load, about one stop in five). So a service still running ``recancel_s`` after the
    signal has every task cancelled again, until it stops.
    """

    async def runner() -> None:
        task = asyncio.ensure_future(main)
        signalled = asyncio.Event()

        def stop() -> None:
            signalled.set()
            task.cancel()

        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop)
        waiter = asyncio.ensure_future(signalled.wait())
        await asyncio.wait({task, waiter}, return_when=asyncio.FIRST_COMPLETED)
        waiter.cancel()
        while not task.done():
            await asyncio.wait({task}, timeout=recancel_s)
            if not task.done():
                log.warning(
                    "still running %.0f s after the stop signal: cancelling again", recancel_s
                )
                for other in asyncio.all_tasks():
                    if other is not asyncio.current_task():
                        other.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    asyncio.run(runner())
    return 0
