"""A real HTTPS webhook receiver on loopback, with the test's own CA, that records what it got.

A threaded ``http.server`` behind ``ssl``: the relay talks to it exactly as to a dispatch
centre. Each test scripts the answers (``reply``); every request is kept with its headers,
its body and when it arrived, and a test waits for what it expects with a bound.
"""

from __future__ import annotations

import asyncio
import contextlib
import http.server
import json
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from provisioning.pki import cert_pem, create_authority, issue, key_pem
from provisioning.throwaway import ThrowawaySite

SECRET = "test-secret-0123456789abcdef"
FAST = {"timeout_s": 0.5, "backoff_initial_s": 0.05, "backoff_max_s": 0.2}


def _toml(value: Any) -> str:
    return json.dumps(value) if not isinstance(value, bool) else str(value).lower()


def write_relay(site: ThrowawaySite, hooks: list[dict[str, Any]]) -> None:
    """relay.toml beside hub.json, as IT would write it."""
    lines = [
        "poll_s = 0.2",
        "[site]",
        'name = "Lincoln Elementary"',
        'console_url = "https://hub.lincoln.example.org"',
        "latitude = 30.2672",
        "longitude = -97.7431",
        "[site.address]",
        'street = "100 Main St"',
        'city = "Austin"',
        'region = "TX"',
        'postal_code = "78701"',
        'country = "US"',
    ]
    for hook in hooks:
        lines.append("[[webhook]]")
        lines += [f"{key} = {_toml(value)}" for key, value in ({"secret": SECRET} | hook).items()]
    (site.hub.dir / "relay.toml").write_text("\n".join(lines) + "\n", encoding="utf-8")


def hook(receiver: Receiver, authority: Authority, **settings: Any) -> dict[str, Any]:
    return (
        {
            "name": "dispatch",
            "url": receiver.url(),
            "ca_file": str(authority.ca_file),
        }
        | FAST
        | settings
    )


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

    @property
    def json(self) -> Any:
        return json.loads(self.body)

    @property
    def key(self) -> str:
        return self.headers["idempotency-key"]


@dataclass(frozen=True)
class Authority:
    """A CA the test made, and a server certificate it signed for loopback."""

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
    return files


class Receiver:
    """Bound at once (so its URL is known) but listening only after :meth:`start`: until
    then a connection is refused, as from a receiver that is down."""

    def __init__(self, authority: Authority) -> None:
        self.received: list[Received] = []
        self.accepted: list[str] = []
        """The idempotency keys answered with a 2xx, in order: what a receiver acts on."""
        self.reply: Callable[[Received], Reply] = lambda _: Reply()
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

    def wait_for(self, predicate: Callable[[], bool], *, within_s: float) -> None:
        """Block until ``predicate()`` holds (checked on every request); fail after."""
        with self._changed:
            if not self._changed.wait_for(predicate, within_s):
                raise AssertionError(f"receiver: timed out after {within_s} s")

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
            self._changed.notify_all()
        return reply

    def _handler(self) -> type[http.server.BaseHTTPRequestHandler]:
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                headers = {k.lower(): v for k, v in self.headers.items()}
                reply = receiver._record(Received(self.path, headers, body, time.monotonic()))
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
