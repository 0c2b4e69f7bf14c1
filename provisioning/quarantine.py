"""The broker's half of cutting a flooding device off (hub.quarantine): the privileged step.

The hub must not be able to change what the broker allows, so it only *asks*: it lists the
devices it wants cut off in ``quarantine.json`` in its state directory. This step, run as
root by ``systemd/roomcast-quarantine.path`` when that file changes (or by the hub itself
where it runs as the broker's user: the demo, the tests, the benchmarks), reads the request
as untrusted, keeps the devices it names that are active in this site and whose cut-off
has not ended, records them in ``broker/quarantine.json`` (so every ACL the site writes
later keeps them: a revocation meanwhile must not lift a cut-off), rewrites the ACL
without their write grants, and reloads the broker when told how. A request can only take
grants away: a name that is not an active device of this site is ignored, and said so.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from provisioning.acl import acl_text, reload_broker
from provisioning.errors import ProvisioningError
from provisioning.fsutil import write_json, write_public
from provisioning.site import broker_owner, locked, open_site

MAX_REQUEST_BYTES = 1 << 20
"""A request names each device once: even a site of 5,000 rooms stays far below this."""


class QuarantineRequestError(ProvisioningError):
    """The hub's request cannot be read; nothing was changed."""


@dataclass(frozen=True)
class Applied:
    cut_off: dict[str, float]
    """Device id -> until (Unix time): what the ACL now withholds writes from."""
    ignored: list[str]
    """Names in the request that are not active devices of the site."""
    reloaded: int | None


@dataclass(frozen=True)
class Request:
    version: int
    """The hub's count of its requests, echoed in the confirmation."""
    cut_off: dict[str, float]
    """Device id -> until; cut-offs already over are left out."""


def read_request(path: Path, now: float) -> Request:
    """The hub's ``quarantine.json``, read as untrusted input."""
    try:
        with path.open("rb") as file:
            raw = file.read(MAX_REQUEST_BYTES + 1)
    except FileNotFoundError:
        return Request(0, {})  # no request (yet): nothing is cut off
    except OSError as error:
        raise QuarantineRequestError(f"{path}: cannot read it ({error})") from None
    if len(raw) > MAX_REQUEST_BYTES:
        raise QuarantineRequestError(f"{path}: over {MAX_REQUEST_BYTES} bytes; not a request")
    try:
        data: Any = json.loads(raw)
        devices = data["devices"]
        request = {str(d): float(fields["until"]) for d, fields in devices.items()}
        version = int(data.get("version", 0))
    except (ValueError, TypeError, KeyError, AttributeError) as error:
        raise QuarantineRequestError(
            f"{path}: not a cut-off request ({error!r}); the hub writes it anew at its next "
            "change, or delete it to lift every cut-off"
        ) from None
    return Request(version, {device: until for device, until in request.items() if until > now})


def apply_quarantine(
    site_dir: Path | str,
    request: Path,
    *,
    reload_pid: int | Path | None = None,
    reload_unit: str | None = None,
    confirmation: Path | None = None,
    now: Callable[[], float] = time.time,
) -> Applied:
    """Make the broker's ACL withhold writes from the devices the hub asks, and no others;
    reload the broker (a pid, or a systemd unit); then write ``confirmation``, which the
    hub waits for before it tells the office the device is cut off."""
    layout, inventory = open_site(site_dir)
    with locked(layout):
        read = read_request(request, now())
        asked = read.cut_off
        active = inventory.active_devices()
        cut_off = {device: until for device, until in asked.items() if device in active}
        owner = broker_owner(inventory)
        write_json(layout.broker.quarantine, cut_off, owner=owner)
        acl = acl_text(layout, inventory, now()).encode()
        write_public(layout.broker.acl, acl, owner)
    reloaded = reload_broker(reload_pid) if reload_pid is not None else None
    if reload_unit is not None:
        _reload_unit(reload_unit)
    if confirmation is not None:
        done = {"format": 1, "version": read.version, "cut_off": cut_off, "applied_at": now()}
        write_json(confirmation, done)
    return Applied(cut_off, sorted(set(asked) - set(cut_off)), reloaded)


def _reload_unit(unit: str) -> None:
    try:
        # The unit name comes from the unit file's own command line, never from the hub.
        subprocess.run(  # noqa: S603
            ["/bin/systemctl", "reload", unit], check=True, capture_output=True, timeout=30
        )
    except (OSError, subprocess.SubprocessError) as error:
        raise QuarantineRequestError(
            f"the ACL is written, but `systemctl reload {unit}` failed ({error}); reload the "
            "broker yourself, or the devices are not cut off"
        ) from None


def add_quarantine_parser(sub: Any, site_args: Callable[[argparse.ArgumentParser], None]) -> None:
    """``provision quarantine``; ``site_args`` adds the shared ``--site-dir`` option."""
    p = sub.add_parser(
        "quarantine", help="cut off at the broker the flooding devices the hub names"
    )
    site_args(p)
    p.add_argument(
        "--request",
        type=Path,
        required=True,
        help="the hub's quarantine.json (in its state directory, /var/lib/roomcast-hub)",
    )
    group = p.add_mutually_exclusive_group()
    group.add_argument("--pid", type=int, help="broker pid to SIGHUP so it reloads the ACL")
    group.add_argument("--pid-file", type=Path, help="broker pid file to read the pid from")
    group.add_argument("--reload-unit", help="systemd unit to reload, e.g. mosquitto.service")
    p.add_argument(
        "--confirmation",
        type=Path,
        help="write this once the broker has reloaded (the hub waits for it: "
        "/var/lib/roomcast-hub/quarantine.applied)",
    )
    p.set_defaults(provision_handler=_cmd_quarantine)


def _cmd_quarantine(args: argparse.Namespace) -> int:
    target: int | Path | None = args.pid if args.pid is not None else args.pid_file
    applied = apply_quarantine(
        args.site_dir,
        args.request,
        reload_pid=target,
        reload_unit=args.reload_unit,
        confirmation=args.confirmation,
    )
    for device in applied.ignored:
        print(f"ignored {device}: not an active device of this site")
    named = ", ".join(
        f"{device} until {time.strftime('%H:%M:%S', time.localtime(until))}"
        for device, until in sorted(applied.cut_off.items())
    )
    reloaded = "" if applied.reloaded is None else f"; broker (pid {applied.reloaded}) reloaded"
    print(f"cut off at the broker: {named or 'none'}{reloaded}")
    return 0


def main(argv: list[str] | None = None) -> int:
    """``python -m provisioning.quarantine``: the same command without the whole CLI."""
    parser = argparse.ArgumentParser(prog="python -m provisioning.quarantine")
    sub = parser.add_subparsers(required=True)
    add_quarantine_parser(sub, _site_arg)
    args = parser.parse_args(["quarantine", *(argv if argv is not None else sys.argv[1:])])
    try:
        return _cmd_quarantine(args)
    except ProvisioningError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2


def _site_arg(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--site-dir", type=Path, required=True)


if __name__ == "__main__":
    sys.exit(main())
