"""A real HTTPS receiver on loopback, with its own CA, that records what it got.

What a dispatch centre's webhook endpoint or a CAP receiver would be, small enough to run
beside the hub: the demo (``roomcast demo --relay``) runs one for the webhook and one for
CAP, and the relay's tests run the same class with scripted answers (``reply``). Each
request is kept with its headers, its body, when it arrived and whether its HMAC
signature holds (when the receiver knows the secret); with ``keep_in`` each is also
written to a file there, for a person to read.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import http.server
import json
import re
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from provisioning.pki import cert_pem, create_authority, issue, key_pem

MAX_AGE_S = 300
"""A signature's timestamp this far from the receiver's clock is refused (a replay)."""


@dataclass(frozen=True)
class Reply:
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    delay_s: float = 0.0
    """Answer this late (a slow receiver)."""


@dataclass(frozen=True)
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    arrived: float
    """time.monotonic() when the request was read."""
    verified: bool | None = None
    """Whether the HMAC signature holds and is fresh; None when the receiver has no secret."""

    @property
    def json(self) -> Any:
        return json.loads(self.body)

    @property
    def key(self) -> str:
        return self.headers["idempotency-key"]


@dataclass(frozen=True)
class Authority:
    """A CA made for the receivers, and a server certificate it signed for loopback."""

    ca_file: Path
    cert_file: Path
    key_file: Path


def make_authority(folder: Path, name: str) -> Authority:
    folder.mkdir(parents=True, exist_ok=True)
    ca = create_authority(name)
    leaf = issue(ca, common_name="receiver", site=name, server_hosts=["127.0.0.1", "localhost"])
    files = Authority(folder / "ca.crt", folder / "receiver.crt", folder / "receiver.key")
    files.ca_file.write_bytes(cert_pem(ca.cert))
    files.cert_file.write_bytes(cert_pem(leaf.cert))
    files.key_file.write_bytes(key_pem(leaf.key))
    files.key_file.chmod(0o600)
    return files


def signature_holds(secret: bytes, headers: dict[str, str], body: bytes) -> bool:
    """The check docs/integrations.md tells a receiver to make, over the bytes as received."""
    timestamp = headers.get("x-roomcast-timestamp", "")
    given = headers.get("x-roomcast-signature", "")
    if not timestamp.isdigit():
        return False
    mac = hmac.new(secret, timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    fresh = abs(time.time() - int(timestamp)) <= MAX_AGE_S
    return fresh and hmac.compare_digest("sha256=" + mac, given)


def file_name(count: int, key: str, suffix: str) -> str:
    """``0003-event_3f2a9c.json``: in arrival order, named by the idempotency key."""
    return f"{count:04d}-{re.sub(r'[^a-z0-9_-]', '_', key.lower())}{suffix}"


class Receiver:
    """Bound at once (so its URL is known) but listening only after :meth:`start`: until
    then a connection is refused, as from a receiver that is down."""

    def __init__(
        self, authority: Authority, *, secret: bytes | None = None, keep_in: Path | None = None
    ) -> None:
        self.received: list[Received] = []
        self.accepted: list[str] = []
        """The idempotency keys answered with a 2xx, in order: what a receiver acts on."""
        self.reply: Callable[[Received], Reply] = lambda _: Reply()
        self._secret, self._keep_in = secret, keep_in
        self._changed = threading.Condition()
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(authority.cert_file, authority.key_file)
        self._server = http.server.ThreadingHTTPServer(
            ("127.0.0.1", 0), self._handler(), bind_and_activate=False
        )
        self._server.daemon_threads = True
        self._server.server_bind()
        self._server.socket = context.wrap_socket(self._server.socket, server_side=True)
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    def url(self, path: str = "/hook") -> str:
        return f"https://127.0.0.1:{self.port}{path}"

    def start(self) -> None:
        self._server.server_activate()
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def close(self) -> None:
        if self._thread is not None:
            self._server.shutdown()
            self._thread.join(5)
        self._server.server_close()

    def accepted_keys(self) -> list[str]:
        with self._changed:
            return list(self.accepted)

    def wait_for(self, predicate: Callable[[], bool], *, within_s: float) -> bool:
        """Block until ``predicate()`` holds (checked on every request), at most
        ``within_s``; whether it held."""
        with self._changed:
            return self._changed.wait_for(predicate, within_s)

    def first(self, key: str) -> Received | None:
        """The first request with idempotency key ``key`` answered with a 2xx, if any."""
        with self._changed:
            if key not in self.accepted:
                return None
            return next(r for r in self.received if r.key == key)

    def keys(self, path: str | None = None) -> list[str]:
        with self._changed:
            return [r.key for r in self.received if path is None or r.path == path]

    async def until(
        self, predicate: Callable[[list[Received]], bool], *, within_s: float = 10.0
    ) -> list[Received]:
        """Wait (off the loop) until ``predicate(received)`` holds; fail after ``within_s``."""

        def wait() -> bool:
            with self._changed:
                return self._changed.wait_for(lambda: predicate(self.received), within_s)

        if not await asyncio.to_thread(wait):
            keys = [(r.path, r.key) for r in self.received]
            raise AssertionError(f"receiver: timed out after {within_s} s; got {keys}")
        with self._changed:
            return list(self.received)

    def _record(self, received: Received) -> Reply:
        with self._changed:
            self.received.append(received)
            reply = self.reply(received)  # under the lock: len(received) counts this one
            if 200 <= reply.status < 300 and not reply.delay_s:
                self.accepted.append(received.key)
            self._keep(received, reply)
            self._changed.notify_all()
        return reply

    def _keep(self, received: Received, reply: Reply) -> None:
        if self._keep_in is None:
            return
        xml = received.headers.get("content-type", "").startswith("application/xml")
        name = file_name(len(self.received), received.key, ".xml" if xml else ".json")
        (self._keep_in / name).write_bytes(received.body)
        line = {
            "file": name,
            "key": received.key,
            "path": received.path,
            "attempt": received.headers.get("x-roomcast-attempt"),
            "signature": {None: "no secret", True: "valid", False: "INVALID"}[received.verified],
            "answered": reply.status,
        }
        with (self._keep_in / "received.log").open("a", encoding="utf-8") as log:
            log.write(json.dumps(line) + "\n")

    def _handler(self) -> type[http.server.BaseHTTPRequestHandler]:
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                headers = {k.lower(): v for k, v in self.headers.items()}
                secret = receiver._secret
                verified = None if secret is None else signature_holds(secret, headers, body)
                received = Received(self.path, headers, body, time.monotonic(), verified)
                reply = receiver._record(received)
                if reply.delay_s:
                    time.sleep(reply.delay_s)
                with contextlib.suppress(OSError):  # the relay may have given up waiting
                    self.send_response(reply.status)
                    for name, value in reply.headers.items():
                        self.send_header(name, value)
                    self.send_header("Content-Length", "0")
                    self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        return Handler


@contextlib.contextmanager
def running(receiver: Receiver, *, start: bool = True) -> Iterator[Receiver]:
    if start:
        receiver.start()
    try:
        yield receiver
    finally:
        receiver.close()
