"""The simulator's control socket: how `roomcast press` puts a finger on a simulated button.

A Unix socket (mode 0600, inside the demo's state directory) carrying one JSON request
and one JSON reply per line. Only the simulator listens here; the hub never does, so a
simulated press travels the same path as a real one: button -> device -> MQTT -> hub.
"""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

Request = dict[str, Any]
Reply = dict[str, Any]
MAX_LINE = 64 * 1024
"""A request is one short line."""
MAX_REPLY = 16 * 1024 * 1024
"""A status reply lists every room: about 200 bytes each, 2000 rooms at most."""


class ControlError(RuntimeError):
    """The simulator could not be reached or refused the request."""


async def serve(path: Path, handle: Callable[[Request], Awaitable[Reply]]) -> asyncio.Server:
    # A socket left by a killed simulator; removing it is a local, instant call.
    path.unlink(missing_ok=True)  # noqa: ASYNC240
    old_umask = os.umask(0o177)  # the socket is created 0600: only this user may press
    try:
        return await asyncio.start_unix_server(
            lambda r, w: _connection(r, w, handle), path=str(path), limit=MAX_LINE
        )
    finally:
        os.umask(old_umask)


async def _connection(
    reader: asyncio.StreamReader,
    writer: asyncio.StreamWriter,
    handle: Callable[[Request], Awaitable[Reply]],
) -> None:
    try:
        while line := await reader.readline():
            try:
                request = json.loads(line)
                if not isinstance(request, dict):
                    raise TypeError("request must be a JSON object")
                reply = await handle(request)
            except (ValueError, TypeError, KeyError) as error:
                reply = {"ok": False, "error": str(error)}
            writer.write(json.dumps(reply).encode() + b"\n")
            await writer.drain()
    finally:
        writer.close()


async def call(path: Path, request: Request, *, within_s: float = 10.0) -> Reply:
    """Send one request to the simulator; raise :class:`ControlError` with what to do."""
    try:
        async with asyncio.timeout(within_s):
            reader, writer = await asyncio.open_unix_connection(str(path), limit=MAX_REPLY)
            writer.write(json.dumps(request).encode() + b"\n")
            await writer.drain()
            line = await reader.readline()
            writer.close()
    except (FileNotFoundError, ConnectionRefusedError):
        raise ControlError(
            f"no simulator is listening at {path}: start one with `roomcast demo`"
        ) from None
    except TimeoutError:
        raise ControlError(f"the simulator at {path} did not answer in {within_s} s") from None
    reply: Reply = json.loads(line)
    if not reply.get("ok"):
        raise ControlError(str(reply.get("error", "request refused")))
    return reply


def call_sync(path: Path, request: Request, *, within_s: float = 10.0) -> Reply:
    """:func:`call` for synchronous callers (the command line, the demo's supervisor)."""
    return asyncio.run(call(path, request, within_s=within_s))
