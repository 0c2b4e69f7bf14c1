"""The district service: one loop running its link to the district broker and its API.

It reads every school's hub state, summary and bridge state (``DISTRICT_VIEW``), keeps the
latest of each in its store and serves ``GET /api/schools``. It publishes nothing yet and
has no will (the broker lets it write only district requests). The API listens on
loopback only and has no users yet: the district console, its roles and district requests
from it are the next step (docs/district.md, "Status").
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
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from district.board import DistrictBoard
from district.resend import Resender
from district.store import DistrictStore
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
    http_host: str = "127.0.0.1"
    http_port: int = 8090


class DistrictService:
    def __init__(
        self,
        config: DistrictServiceConfig,
        *,
        clock: Callable[[], float] = time.time,
        resend_key: Ed25519PrivateKey | None = None,
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
            self.link.route(topic_filter, self.board.on_message)
        self.http_port = config.http_port
        self.ready = asyncio.Event()
        # district.resend: with the signing key, send again what a school has not answered.
        self.resender = None if resend_key is None else Resender(
            link=self.link, store=self._store, key=resend_key, district=config.district,
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
                create_app(self.board),
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

    async def _mark_ready(self) -> None:
        await self.link.connected.wait()
        self.ready.set()


def create_app(board: DistrictBoard) -> Starlette:
    async def schools(_: Request) -> JSONResponse:
        return JSONResponse({"schools": board.view()})

    async def history(request: Request) -> JSONResponse:
        site = request.path_params["site"]
        lines = board.history(site)
        if lines is None:
            return JSONResponse({"error": f"no school {site!r} in this district"}, 404)
        return JSONResponse({"site": site, "history": lines})

    return Starlette(
        routes=[
            Route("/api/schools", schools),
            Route("/api/schools/{site}/history", history),
        ]
    )


class _QuietServer(uvicorn.Server):
    """uvicorn without its own signal handlers: the service owns SIGINT and SIGTERM."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield
