"""Serial devices played by pseudo-terminals: the fake both hardware and device tests use.

pyserial's ``loop://`` has no file descriptor, so asyncio readers cannot use it; a pty can.
"""

from __future__ import annotations

import os
import select
import time
from pathlib import Path


class PtyDevice:
    """A serial device played by a pseudo-terminal behind a stable symlink.

    The symlink stands for ``/dev/serial/by-id/...``: unplugging removes it and closes
    the master (the "device"); replugging makes a new pty and points the link at it,
    as udev does when a USB adapter comes back.
    """

    def __init__(self, link: Path) -> None:
        self.path = link
        self._master = -1
        self._slave = -1
        self.plug()

    def plug(self) -> None:
        self._master, self._slave = os.openpty()  # the slave stays open: the device is "on"
        self.path.unlink(missing_ok=True)
        self.path.symlink_to(os.ttyname(self._slave))

    def unplug(self, *, remove_link: bool = True) -> None:
        if remove_link:
            self.path.unlink(missing_ok=True)
        os.close(self._master)
        os.close(self._slave)
        self._master = self._slave = -1

    def read(self, count: int, timeout: float = 5.0) -> bytes:
        """Exactly ``count`` bytes the driver wrote, or fewer if ``timeout`` ran out."""
        data = b""
        deadline = time.monotonic() + timeout
        while len(data) < count and (left := deadline - time.monotonic()) > 0:
            ready, _, _ = select.select([self._master], [], [], left)
            if ready:
                data += os.read(self._master, count - len(data))
        return data

    def close(self) -> None:
        if self._master >= 0:
            self.unplug()

    def read_until(self, marker: bytes, timeout: float = 5.0) -> bytes:
        """What the driver wrote up to and including ``marker``, or what came in time."""
        data = b""
        deadline = time.monotonic() + timeout
        while marker not in data and (left := deadline - time.monotonic()) > 0:
            ready, _, _ = select.select([self._master], [], [], left)
            if ready:
                data += os.read(self._master, 4096)
        return data
