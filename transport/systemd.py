"""The systemd notify protocol: READY, WATCHDOG, STATUS and STOPPING.

A few lines over the ``$NOTIFY_SOCKET`` datagram socket, written here rather than taken
from a library: the maintained binding (systemd-python) needs libsystemd headers to build
on every node, and the protocol is one ``sendto`` per message. Outside systemd (no
``$NOTIFY_SOCKET``) every call does nothing.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket

log = logging.getLogger(__name__)


class Notifier:
    def __init__(self, address: str | None = None) -> None:
        self._address = address if address is not None else os.environ.get("NOTIFY_SOCKET", "")
        if self._address.startswith("@"):  # an abstract socket
            self._address = "\0" + self._address[1:]
        watchdog_usec = os.environ.get("WATCHDOG_USEC", "")
        self.watchdog_s = int(watchdog_usec) / 1e6 if watchdog_usec.isdigit() else None

    @property
    def enabled(self) -> bool:
        return bool(self._address)

    def notify(self, *fields: str) -> None:
        if not self._address:
            return
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
                sock.sendto("\n".join(fields).encode(), self._address)
        except OSError as error:  # never let supervision plumbing stop the service
            log.warning("systemd notify failed: %s", error)

    def ready(self, status: str) -> None:
        self.notify("READY=1", f"STATUS={status}")

    def status(self, status: str) -> None:
        self.notify(f"STATUS={status}")

    def stopping(self) -> None:
        self.notify("STOPPING=1", "STATUS=stopping")

    async def keep_watchdog(self) -> None:
        """Pet the watchdog at half its interval for as long as the event loop runs.

        A stuck loop stops petting and systemd restarts the service. A lost broker does
        not stop it: restarting would only blank the screen while the link is down.
        """
        if self.watchdog_s is None:
            return
        while True:
            self.notify("WATCHDOG=1")
            await asyncio.sleep(self.watchdog_s / 2)
