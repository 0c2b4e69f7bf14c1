"""The district service: one loop running its link to the district broker and its console.

It reads every school's hub state, summary and bridge state (``DISTRICT_VIEW``), keeps the
latest of each in its store, and serves the district console (district.console: users,
roles, CSRF, audit, one console in control) with its JSON API behind a session. It
publishes only the district requests a safety officer confirms, and has no will. It listens
on loopback unless told otherwise (``--http-host``; docs/district.md, "The console").
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import uvicorn
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import load_pem_private_key

from district.board import DistrictBoard
from district.console.app import create_console_app
from district.console.sending import Groups, Sender
from district.resend import Resender
from district.store import DistrictStore
from hub.proxies import TrustedProxies
from protocol.district_accounts import SENDERS, DistrictRole
from protocol.topics import DISTRICT_VIEW
from transport.endpoint import BrokerEndpoint
from transport.link import Link


@dataclass(frozen=True, kw_only=True)
class DistrictServiceConfig:
    district: str
    brokers: tuple[BrokerEndpoint, ...]
    """The district broker's nodes, with the service's identity (CN=district): it connects
    to the first and, when that link fails or is lost, to the next (a NATS node lost)."""
    schools: tuple[str, ...]
    state_dir: Path
    users_file: Path
    """The district console's users (``roomcast provision district user``), 0600."""
    signing_key: Path | None = None
    """The district's request-signing key; without it the console sends nothing."""
    http_host: str = "127.0.0.1"
    http_port: int = 8090
    control_lapse_s: float = 45.0
    """A console in control with no live page for this long no longer holds it."""
    groups: Groups | None = None
    """The district's named groups (district.json, via provisioning: handed in by the
    command); None: no groups."""
    trusted_proxies: tuple[str, ...] = ()
    """Reverse proxies (addresses or CIDRs) whose X-Forwarded-For/-Proto are believed."""
    totp_required_for: frozenset[DistrictRole] = SENDERS
    """Roles that log in with a second factor (district.json ``totp_required_for``)."""


class DistrictService:
    def __init__(
        self,
        config: DistrictServiceConfig,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.config = config
        self._store = DistrictStore(config.state_dir / "district.db")
        self.board = DistrictBoard(store=self._store, schools=config.schools, clock=clock)
        self.link = Link(
            config.brokers,
            client_id=f"roomcast-district-{config.district}",
            will=None,
        )
        for topic_filter in DISTRICT_VIEW:
            self.link.route(topic_filter, self.board.on_message, retained=self.board.on_retained)
        self.http_port = config.http_port
        self.ready = asyncio.Event()
        key = None if config.signing_key is None else _signing_key(config.signing_key)
        self.app, self.console = create_console_app(
            district=config.district,
            board=self.board,
            record=self._store,
            groups=config.groups,
            users_file=config.users_file,
            state_dir=config.state_dir,
            sender=None
            if key is None
            else Sender(link=self.link, key=key, store=self._store, district=config.district),
            lapse_s=config.control_lapse_s,
            trusted=TrustedProxies.parse(list(config.trusted_proxies)),
            totp_required_for=config.totp_required_for,
        )
        # With the signing key, send again what a school has not answered.
        self.resender = None if key is None else Resender(
            link=self.link, store=self._store, key=key, district=config.district,
            board=self.board, clock=clock,
        )  # fmt: skip

    @property
    def api_url(self) -> str:
        return f"http://{self.config.http_host}:{self.http_port}"

    async def run(self) -> None:
        listener = socket.create_server((self.config.http_host, self.config.http_port))
        self.http_port = listener.getsockname()[1]
        server = _QuietServer(
            uvicorn.Config(
                self.app,
                log_level="warning",
                lifespan="off",
                proxy_headers=False,
            )
        )
        try:
            async with asyncio.TaskGroup() as group:
                group.create_task(self.link.run())
                group.create_task(server.serve(sockets=[listener]))
                group.create_task(self._mark_ready())
                if self.resender is not None:  # district.resend
                    group.create_task(self.resender.run())
        finally:
            listener.close()
            self._store.close()
            self.console.close()

    async def _mark_ready(self) -> None:
        await self.link.connected.wait()
        self.ready.set()


def _signing_key(path: Path) -> Ed25519PrivateKey:
    key = load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise ValueError(f"{path} is not the district's Ed25519 request-signing key")
    return key


class _QuietServer(uvicorn.Server):
    """uvicorn without its own signal handlers: the service owns SIGINT and SIGTERM."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield
