"""``roomcast district``: run the district service from a district directory.

The directory is the one ``roomcast provision district init`` made: the service's
identity (``service/``), the NATS nodes and the schools come from it.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the service (uvicorn, starlette) loads only when it runs
    from district.service import DistrictServiceConfig


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = commands.add_parser("district", help="run the district service (every school)")
    parser.add_argument("--district-dir", type=Path, required=True)
    parser.add_argument("--node", help="the NATS node to connect to (default: the first)")
    parser.add_argument("--state-dir", type=Path, help="default: <district-dir>/state")
    parser.add_argument("--http-port", type=int, default=8090)
    parser.add_argument("--verbose", action="store_true")
    parser.set_defaults(run=_run)


def service_config(
    district_dir: Path,
    *,
    node: str | None = None,
    state_dir: Path | None = None,
    http_port: int = 8090,
) -> DistrictServiceConfig:
    from district.service import DistrictServiceConfig
    from provisioning.district import open_district
    from transport.endpoint import BrokerEndpoint, TlsFiles

    layout, record = open_district(district_dir)
    chosen = next((n for n in record.nodes if node in (None, n.name)), None)
    if chosen is None:
        known = ", ".join(n.name for n in record.nodes)
        raise SystemExit(f"no NATS node {node!r} in {layout.record} (nodes: {known})")
    identity = layout.service
    state = state_dir or layout.root / "state"
    state.mkdir(mode=0o700, exist_ok=True)
    return DistrictServiceConfig(
        district=record.district,
        broker=BrokerEndpoint(
            host=chosen.host,
            port=chosen.mqtt_port,
            tls=TlsFiles(ca=identity.ca, cert=identity.cert, key=identity.key),
        ),
        schools=tuple(sorted(record.schools)),
        state_dir=state,
        http_port=http_port,
    )


def _run(args: argparse.Namespace) -> int:
    from district.service import DistrictService
    from transport.running import configure_logging, run_until_signalled

    configure_logging(args.verbose)
    config = service_config(
        args.district_dir, node=args.node, state_dir=args.state_dir, http_port=args.http_port
    )
    return run_until_signalled(DistrictService(config).run())
