"""The console's live stream (``GET /api/stream``, server-sent events), read in a thread.

Every update is kept with the harness's wall-clock time of arrival: the panic latency is
that time minus the event's ``created_at`` (the device's clock, the same machine).
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from types import TracebackType
from typing import Any

import httpx

from hub.bus import Change

Update = dict[str, Any]
Arrival = tuple[float, Update]


class Stream:
    """``with Stream(url, token) as stream:`` a connected SSE reader; updates pile up."""

    def __init__(self, hub_url: str, token: str) -> None:
        self._url = hub_url.rstrip("/") + "/api/stream"
        self._headers = {"Authorization": f"Bearer {token}"}
        self._arrivals: list[Arrival] = []
        self._changed = threading.Condition()
        self._connected = threading.Event()
        self._closing = False
        self._client = httpx.Client(timeout=httpx.Timeout(10.0, read=None))
        self._thread = threading.Thread(target=self._read, name="sse", daemon=True)
        self.error: str | None = None

    def __enter__(self) -> Stream:
        self._thread.start()
        if not self._connected.wait(10):
            raise RuntimeError(f"the hub's live stream did not open: {self.error}")
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._closing = True
        self._client.close()
        self._thread.join(timeout=2)

    def _read(self) -> None:
        try:
            with self._client.stream("GET", self._url, headers=self._headers) as response:
                response.raise_for_status()
                for line in response.iter_lines():
                    if line.startswith(":"):
                        self._connected.set()
                    elif line.startswith("data: "):
                        self._add(time.time(), json.loads(line[6:]))
        except (httpx.HTTPError, RuntimeError, ValueError) as error:
            if not self._closing:
                self.error = f"{error.__class__.__name__}: {error}"
        finally:
            with self._changed:
                self._changed.notify_all()

    def _add(self, at: float, update: Update) -> None:
        with self._changed:
            self._arrivals.append((at, update))
            self._changed.notify_all()

    def mark(self) -> int:
        """A position: :meth:`since` returns what arrived after it."""
        with self._changed:
            return len(self._arrivals)

    def since(self, mark: int) -> list[Arrival]:
        with self._changed:
            return self._arrivals[mark:]

    def wait(self, mark: int, *, quiet_s: float) -> list[Arrival]:
        """What arrived after ``mark``, waiting up to ``quiet_s`` for anything at all."""
        with self._changed:
            self._changed.wait_for(lambda: len(self._arrivals) > mark, timeout=quiet_s)
            return self._arrivals[mark:]

    def wait_until(
        self, mark: int, done: Callable[[list[Arrival]], bool], *, within_s: float
    ) -> list[Arrival]:
        """Until ``done(arrivals after mark)`` holds or ``within_s`` passes; the arrivals."""
        deadline = time.monotonic() + within_s
        with self._changed:
            while not done(self._arrivals[mark:]):
                left = deadline - time.monotonic()
                if left <= 0 or self.error is not None:
                    break
                self._changed.wait(timeout=min(left, 0.5))
            return self._arrivals[mark:]


def is_ack(update: Update, seq: int, device_id: str | None = None) -> bool:
    return (
        update.get("kind") == Change.ACK
        and update.get("seq") == seq
        and (device_id is None or update.get("device_id") == device_id)
    )
