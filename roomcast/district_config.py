"""The district service's configuration, read from the district directory that ``roomcast
provision district init`` made: its NATS nodes and identity, its users and which roles
need a second factor, its named groups (read fresh, changed through provisioning).

Used by ``roomcast district serve`` and ``request`` (roomcast.district_cli) and by
the tests; the service itself (uvicorn, starlette) loads only when it runs.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from district.service import DistrictServiceConfig
    from protocol.district_accounts import DistrictRole

log = logging.getLogger(__name__)


def service_config(
    district_dir: Path,
    *,
    node: str | None = None,
    state_dir: Path | None = None,
    http_port: int = 8090,
    http_host: str = "127.0.0.1",
    trusted_proxies: tuple[str, ...] = (),
) -> DistrictServiceConfig:
    from district.service import DistrictServiceConfig
    from hub.proxies import TrustedProxies
    from provisioning.district import open_district
    from provisioning.district_users import users_file
    from transport.endpoint import BrokerEndpoint, TlsFiles

    try:
        TrustedProxies.parse(list(trusted_proxies))
    except ValueError as error:
        raise SystemExit(f"--trusted-proxy: {error}") from None
    layout, record = open_district(district_dir)
    chosen = next((n for n in record.nodes if node in (None, n.name)), None)
    if chosen is None:
        known = ", ".join(n.name for n in record.nodes)
        raise SystemExit(f"no NATS node {node!r} in {layout.record} (nodes: {known})")
    identity = layout.service
    tls = TlsFiles(ca=identity.ca, cert=identity.cert, key=identity.key)
    ordered = [chosen, *(n for n in record.nodes if n is not chosen)]
    state = state_dir or layout.root / "state"
    state.mkdir(mode=0o700, exist_ok=True)
    return DistrictServiceConfig(
        totp_required_for=second_factor_roles(layout.record, record.console),
        district=record.district,
        brokers=tuple(BrokerEndpoint(host=n.host, port=n.mqtt_port, tls=tls) for n in ordered),
        schools=tuple(sorted(record.schools)),
        state_dir=state,
        users_file=users_file(layout.root),
        signing_key=layout.signing_key,
        http_host=http_host,
        http_port=http_port,
        trusted_proxies=trusted_proxies,
        groups=DistrictDirGroups(layout.root),
    )


def second_factor_roles(path: Path, console: Mapping[str, object]) -> frozenset[DistrictRole]:
    """``totp_required_for`` of district.json (default: the roles that send directives);
    a sender left out only with ``allow_directives_without_second_factor``, said loudly."""
    from protocol.district_accounts import (
        SENDERS,
        SENDERS_WITHOUT_SECOND_FACTOR,
        district_required_roles,
    )

    exempt = console.get(SENDERS_WITHOUT_SECOND_FACTOR, False)
    if not isinstance(exempt, bool):
        raise SystemExit(f"{path}: {SENDERS_WITHOUT_SECOND_FACTOR}: must be true or false")
    try:
        roles = district_required_roles(
            console.get("totp_required_for", sorted(SENDERS)), senders_exempt=exempt
        )
    except ValueError as error:
        raise SystemExit(f"{path}: totp_required_for: {error}") from None
    for role in sorted(SENDERS - roles):
        log.warning(
            "%s: %s: a %s logs in with a password alone and can send directives to many "
            "schools; remove the setting to require a second factor again",
            path, SENDERS_WITHOUT_SECOND_FACTOR, role,
        )  # fmt: skip
    return roles


class DistrictDirGroups:
    """The named groups in district.json, read fresh each time (IT may change them with
    `roomcast provision district group` while the service runs) and changed through the
    very provisioning code that command runs (district.console.sending.Groups)."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def current(self) -> Mapping[str, Sequence[str]]:
        from provisioning.district import DistrictError, open_district

        try:
            return open_district(self.root)[1].groups
        except DistrictError as error:
            raise ValueError(str(error)) from None

    def set(self, name: str, schools: Sequence[str]) -> tuple[str, ...]:
        from provisioning.district import DistrictError, set_group

        try:
            return set_group(self.root, name, schools)
        except DistrictError as error:
            raise ValueError(str(error)) from None

    def remove(self, name: str) -> None:
        from provisioning.district import DistrictError, remove_group

        try:
            remove_group(self.root, name)
        except DistrictError as error:
            raise ValueError(str(error)) from None


def check_users(district_dir: Path) -> None:
    """Refuse to start where nobody could log in (as a hub does on a damaged users file);
    once running, a bad edit is logged and the last good copy kept (district.users)."""
    from district.users import load_accounts
    from provisioning.district_users import users_file
    from transport.settings import ConfigError

    path = users_file(district_dir)
    try:
        accounts = load_accounts(path)
    except ConfigError as error:
        raise SystemExit(f"district console users: {error}") from None
    if not accounts:
        raise SystemExit(
            f"{path} has no user: add one with `roomcast provision district user add NAME "
            "--role district-admin`"
        )
