"""A TCP proxy the test owns, between clients and the broker, that can cut or black-hole.

- ``cut()``: close every connection and refuse new ones (a cable pulled).
- ``blackhole()``: keep connections open but drop every byte both ways (a dead Wi-Fi AP):
  neither side notices until its keepalive runs out.
- ``restore()``: pass traffic again (new connections only, after a cut or black hole).
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import threading
from collections.abc import Callable, Coroutine
from typing import Any


class Mode(enum.Enum):
    PASS = "pass"
    CUT = "cut"
    BLACKHOLE = "blackhole"


class Proxy:
    def __init__(self, upstream_port: int) -> None:
        self.upstream_port = upstream_port
        self.mode = Mode.PASS
        self.port = 0
        self._server: asyncio.Server | None = None
        self._pipes: set[asyncio.Task[None]] = set()
        self._writers: set[asyncio.StreamWriter] = set()

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        self.cut()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
        for pipe in list(self._pipes):
            pipe.cancel()
        await asyncio.gather(*self._pipes, return_exceptions=True)

    def cut(self) -> None:
        self.mode = Mode.CUT
        for writer in list(self._writers):
            writer.close()
        self._writers.clear()

    def blackhole(self) -> None:
        self.mode = Mode.BLACKHOLE

    def restore(self) -> None:
        """Pass traffic again; connections that were black-holed are closed, as the TCP
        stack of a client would eventually do, so that they reconnect."""
        was_blackholed = self.mode is Mode.BLACKHOLE
        self.mode = Mode.PASS
        if was_blackholed:
            for writer in list(self._writers):
                writer.close()
            self._writers.clear()

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self.mode is Mode.CUT:
            writer.close()
            return
        try:
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.upstream_port)
        except OSError:
            writer.close()
            return
        self._writers |= {writer, up_writer}
        for source, sink in ((reader, up_writer), (up_reader, writer)):
            pipe = asyncio.create_task(self._pump(source, sink))
            self._pipes.add(pipe)
            pipe.add_done_callback(self._pipes.discard)

    async def _pump(self, source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
        try:
            while data := await source.read(65536):
                if self.mode is Mode.PASS:
                    sink.write(data)
                    await sink.drain()
        except (ConnectionError, OSError):
            pass
        finally:
            with contextlib.suppress(Exception):
                sink.close()


class ThreadedProxy:
    """The proxy on an event loop of its own thread, for tests that block while they wait."""

    def __init__(self, upstream_port: int) -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._thread.start()
        self.proxy = Proxy(upstream_port)
        self._call(self.proxy.start())

    @property
    def port(self) -> int:
        return self.proxy.port

    def _call(self, coroutine: Coroutine[Any, Any, None]) -> None:
        asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(timeout=10)

    def _run(self, action: Callable[[], None]) -> None:
        async def run() -> None:
            action()

        self._call(run())

    def cut(self) -> None:
        self._run(self.proxy.cut)

    def blackhole(self) -> None:
        self._run(self.proxy.blackhole)

    def restore(self) -> None:
        self._run(self.proxy.restore)

    def close(self) -> None:
        self._call(self.proxy.stop())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
        self._loop.close()
