"""``roomcast provision ...``: the IT commands, a thin argparse layer over the library.

Secrets never go on the command line (other users can read it in ``ps``): generated
passwords are printed once, and a chosen one is read from standard input.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from provisioning.cli_staff import add_staff_parser
from provisioning.cli_users import add_user_parser
from provisioning.create import DEFAULT_PORT, init
from provisioning.devices import issue_all, issue_device, revoke
from provisioning.district_cli import add_district_parser
from provisioning.errors import ProvisioningError
from provisioning.health import WARN_DAYS, check, rotate
from provisioning.install import DEFAULT_TARGET, install
from provisioning.pki import fingerprint, load_cert
from provisioning.quarantine import add_quarantine_parser
from provisioning.rooms import declare_buildings, import_rooms
from provisioning.sdcard import DEFAULT_MOUNT, check_card, sdcard
from provisioning.site import SiteLayout, open_site
from provisioning.wheelhouse import SOURCE, build_wheelhouse

SITE_DIR = "/etc/roomcast/site"
"""The site directory on the hub machine: the shipped systemd units read it."""
DEFAULT_WHEELHOUSE = Path("/var/cache/roomcast/wheelhouse")
DEFAULT_SITE_DIR = Path(os.environ.get("ROOMCAST_SITE_DIR", SITE_DIR))
Handler = Callable[[argparse.Namespace], int]
SHOWN = 5
"""How many ids a summary names before it says how many more: counts, not walls of ids."""


def _print_ca(ca_cert: Path) -> None:
    """The site CA's fingerprint, for ``install --ca-fingerprint`` on the nodes."""
    print(f"site CA fingerprint (SHA-256): {fingerprint(load_cert(ca_cert))}")


def _site_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--site-dir",
        type=Path,
        default=DEFAULT_SITE_DIR,
        help="the site directory (default: $ROOMCAST_SITE_DIR or %(default)s)",
    )


def _reload_args(parser: argparse.ArgumentParser) -> None:
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--pid", type=int, help="broker pid to SIGHUP so it reloads ACL and CRL")
    group.add_argument("--pid-file", type=Path, help="broker pid file to read the pid from")


def _reload_target(args: argparse.Namespace) -> int | Path | None:
    target: int | Path | None = args.pid if args.pid is not None else args.pid_file
    return target


def _cmd_init(args: argparse.Namespace) -> int:
    result = init(
        args.site_dir,
        args.site,
        args.hub_host,
        args.force,
        broker_port=args.port,
        broker_bind=args.bind,
        broker_user=args.broker_user or None,
        hub_user=args.hub_user or None,
        buildings=args.building,
    )
    print(f"site {args.site!r} created in {result.layout.root}")
    print(f"broker config: {result.layout.broker.conf}")
    _print_ca(result.layout.ca_cert)
    print("Keep that fingerprint with the site's records: nodes check bundles against it.")
    print(f"console admin: {result.admin_user}  password: {result.admin_password}")
    print("Write the password down now: it is stored only as a hash and shown only once.")
    print(
        f"{result.admin_user} sets up a second factor at the first console login (or run "
        f"`roomcast provision user totp {result.admin_user}`)"
    )
    return 0


def counted(count: int, noun: str, names: Sequence[str] = (), shown: int = SHOWN) -> str:
    """``3 rooms: 101, 102, gym``, or ``300 rooms: 101, 102, 103, ... and 297 more``."""
    text = f"{count} {noun}{'' if count == 1 else 's'}"
    if not names:
        return text
    listed = ", ".join(names[:shown])
    more = f", ... and {len(names) - shown} more" if len(names) > shown else ""
    return f"{text}: {listed}{more}"


def _cmd_rooms(args: argparse.Namespace) -> int:
    changes = import_rooms(args.site_dir, args.csv)
    if not changes.changed:
        print(f"{args.csv}: nothing changed; the site's rooms are already these")
    for label, ids in (
        ("added", changes.added),
        ("updated", changes.updated),
        ("removed", changes.removed),
    ):
        if ids:
            print(f"{label} {counted(len(ids), 'room', ids)}")
    if changes.stale_devices:
        stale = changes.stale_devices
        print(
            f"{counted(len(stale), 'device', stale)} hold a bundle with the old room details "
            "or hardware: re-issue them (provision device --room ROOM) when convenient"
        )
    return 0


def _cmd_buildings(args: argparse.Namespace) -> int:
    new = declare_buildings(args.site_dir, args.building)
    declared = open_site(args.site_dir)[1].buildings
    if args.building:
        print(f"declared {counted(len(new), 'new building', new)}")
    print(f"the site has {counted(len(declared), 'building', declared, shown=50)}")
    return 0


def _cmd_device(args: argparse.Namespace) -> int:
    target = _reload_target(args)
    if args.all:
        bundles = issue_all(args.site_dir, validity_days=args.days, reload_pid=target)
    else:
        bundles = [
            issue_device(args.site_dir, args.room, validity_days=args.days, reload_pid=target)
        ]
    if len(bundles) == 1:
        print(bundles[0])
    elif bundles:
        names = [b.name for b in bundles]
        print(f"issued {counted(len(bundles), 'bundle', names)} in {bundles[0].parent}")
    if bundles:
        _print_ca(SiteLayout(args.site_dir).ca_cert)
    else:
        print("every room already has an active device")
    if bundles and target is None:
        print("reload the broker (systemctl reload mosquitto) so the new devices may connect")
    return 0


def _cmd_install(args: argparse.Namespace) -> int:
    done = install(
        args.bundle,
        args.target,
        args.site,
        enable_service=args.enable,
        owner=args.owner,
        ca_fingerprint=args.ca_fingerprint,
    )
    print(f"installed {done.device_id} (site {done.site}, room {done.room}) in {done.target_dir}")
    _print_ca(done.ca)
    if args.enable and not done.service_enabled:
        print("no systemctl here: start the roomcast-device service yourself")
    return 0


def _cmd_revoke(args: argparse.Namespace) -> int:
    result = revoke(args.site_dir, args.device_id, reload_pid=_reload_target(args))
    serials = ", ".join(f"{s:x}" for s in result.serials)
    print(f"revoked {result.device_id} (serials {serials})")
    if result.reloaded_pid is None:
        print("reload the broker now (systemctl reload mosquitto): until then it may connect")
    return 0


def _cmd_check(args: argparse.Namespace) -> int:
    report = check(args.site_dir, warn_days=args.warn_days)
    for finding in report.findings:
        print(finding)
    print(f"{len(report.errors)} error(s), {len(report.warnings)} warning(s)")
    return 0 if report.ok else 1


def _cmd_rotate(args: argparse.Namespace) -> int:
    result = rotate(args.site_dir, within_days=args.within_days, reload_pid=_reload_target(args))
    if result.ca_redated:
        print("the site CA now starts in 1970 (same key), as every certificate does: a node")
        print("with an old clock connects once it has its new bundle")
    for device_id, bundle in list(result.devices.items())[:SHOWN]:
        print(f"re-issued {device_id}: install {bundle} on its node")
    if len(result.devices) > SHOWN:
        print(f"... and {len(result.devices) - SHOWN} more, all in {bundle.parent}")
    if result.broker:
        print("broker certificate renewed" + ("" if result.reloaded_pid else "; reload the broker"))
    if result.hub:
        print("hub certificate renewed; restart the hub service")
    if result.ca_expiring:
        print("the site CA itself expires soon: plan a new site (init) and re-issue all devices")
    if not (result.devices or result.broker or result.hub):
        print(f"nothing is due: no certificate expires within {args.within_days} days")
    else:
        print(f"renewed {counted(len(result.devices), 'device certificate')}")
    return 0


def _cmd_sdcard(args: argparse.Namespace) -> int:
    if (args.bundle is None) == (args.room is None):
        print("error: `sdcard` needs a BUNDLE or --room ROOM (which issues one)", file=sys.stderr)
        return 2
    if args.room is not None:  # a card that cannot work must not cost a new device
        check_card(args.boot, wheelhouse=args.wheelhouse, mount_point=args.mount_point)
    bundle = args.bundle or issue_device(args.site_dir, args.room, reload_pid=_reload_target(args))
    result = sdcard(
        args.boot,
        bundle,
        wheelhouse=args.wheelhouse,
        mount_point=args.mount_point,
        ca_fingerprint=args.ca_fingerprint,
    )
    print(f"bundle {bundle.name} copied to {result.bundle}; first-boot hook {result.hook}")
    print(f"started by {result.trigger}; {result.wheels} wheels on the card for the install")
    if result.buses:
        print(f"config.txt: {', '.join(result.buses)}")
    print(f"the hook installs only a bundle of site CA (SHA-256) {result.ca_fingerprint}")
    if args.room is not None and _reload_target(args) is None:
        print("reload the broker (systemctl reload mosquitto) so the new device may connect")
    return 0


def _cmd_wheelhouse(args: argparse.Namespace) -> int:
    wheels = build_wheelhouse(args.out, source=args.source)
    size = sum(w.stat().st_size for w in wheels) / 1e6
    print(f"{len(wheels)} wheels ({size:.0f} MB) in {args.out}; pass it to sdcard --wheelhouse")
    return 0


def _add_init(sub: Any) -> None:
    p = sub.add_parser("init", help="create a site: CA, broker and hub identities, first admin")
    _site_args(p)
    p.add_argument("--site", required=True, help="site id (a-z, 0-9, '_', '-')")
    p.add_argument(
        "--hub-host",
        action="append",
        default=[],
        metavar="HOST",
        help="name or address devices use to reach the hub (repeatable)",
    )
    p.add_argument("--port", type=int, default=DEFAULT_PORT, help="broker TLS port")
    p.add_argument("--bind", default="0.0.0.0", help="address the broker listens on")  # noqa: S104
    p.add_argument(
        "--broker-user",
        default="mosquitto",
        help="user the broker runs as; '' to leave files to the caller",
    )
    p.add_argument(
        "--hub-user",
        default="roomcast",
        help="user the hub service runs as (owns hub/); '' to leave files to the caller",
    )
    p.add_argument(
        "--building",
        action="append",
        default=[],
        help="a building of the site, as the rooms CSV names it (repeatable)",
    )
    p.add_argument("--force", action="store_true", help="replace an existing site (new CA!)")
    p.set_defaults(provision_handler=_cmd_init)


def _add_rooms_and_devices(sub: Any) -> None:
    p = sub.add_parser("buildings", help="declare the site's buildings (or list them)")
    _site_args(p)
    p.add_argument("building", nargs="*", help="building ids to add (none: list them)")
    p.set_defaults(provision_handler=_cmd_buildings)
    p = sub.add_parser("rooms", help="import the rooms CSV (building,floor,room,name,hardware)")
    _site_args(p)
    p.add_argument("csv", type=Path)
    p.set_defaults(provision_handler=_cmd_rooms)
    p = sub.add_parser("device", help="issue device bundles")
    _site_args(p)
    which = p.add_mutually_exclusive_group(required=True)
    which.add_argument("--room", help="issue one more device for this room")
    which.add_argument("--all", action="store_true", help="one device per room lacking one")
    p.add_argument("--days", type=int, default=730, help="certificate validity in days")
    _reload_args(p)
    p.set_defaults(provision_handler=_cmd_device)
    p = sub.add_parser("revoke", help="revoke a device: CRL, ACL, bundle")
    _site_args(p)
    p.add_argument("device_id")
    _reload_args(p)
    p.set_defaults(provision_handler=_cmd_revoke)


def _fingerprint_arg(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--ca-fingerprint",
        metavar="SHA256",
        help="refuse the bundle unless its site CA has this SHA-256 fingerprint "
        "(as `provision init` or `device` printed it)",
    )


def _add_node(sub: Any) -> None:
    p = sub.add_parser("install", help="install a bundle on this node")
    p.add_argument("bundle", type=Path)
    p.add_argument("--target", type=Path, default=DEFAULT_TARGET)
    p.add_argument("--site", help="refuse the bundle unless it is for this site")
    p.add_argument("--enable", action="store_true", help="systemctl enable --now the service")
    p.add_argument("--owner", help="user the device service runs as (files are chowned)")
    _fingerprint_arg(p)
    p.set_defaults(provision_handler=_cmd_install)
    p = sub.add_parser("sdcard", help="put a bundle and a first-boot hook on a boot partition")
    p.add_argument("boot", type=Path, help="where the card's boot (FAT) partition is mounted")
    p.add_argument("bundle", type=Path, nargs="?", help="a bundle (or --room to issue one)")
    p.add_argument("--room", help="issue a new device for this room and put its bundle on")
    _site_args(p)
    _reload_args(p)
    p.add_argument(
        "--wheelhouse",
        type=Path,
        default=DEFAULT_WHEELHOUSE,
        help="Roomcast's arm64 wheels, from `provision wheelhouse` (default %(default)s)",
    )
    p.add_argument(
        "--mount-point",
        default=DEFAULT_MOUNT,
        help="where the Pi mounts that partition (default %(default)s)",
    )
    _fingerprint_arg(p)
    p.set_defaults(provision_handler=_cmd_sdcard)
    p = sub.add_parser("wheelhouse", help="download Roomcast's wheels for the Pi (arm64)")
    p.add_argument("out", type=Path, nargs="?", default=DEFAULT_WHEELHOUSE)
    p.add_argument("--source", type=Path, default=SOURCE, help="the Roomcast source tree")
    p.set_defaults(provision_handler=_cmd_wheelhouse)


def _add_user(sub: Any) -> None:
    add_user_parser(sub, _site_args)
    add_staff_parser(sub, _site_args)
    add_quarantine_parser(sub, _site_args)
    add_district_parser(sub)


def _add_upkeep(sub: Any) -> None:
    p = sub.add_parser("check", help="expiries, rooms without devices, unsafe file modes")
    _site_args(p)
    p.add_argument("--warn-days", type=int, default=WARN_DAYS)
    p.set_defaults(provision_handler=_cmd_check)
    p = sub.add_parser("rotate", help="renew certificates that expire soon, keeping device ids")
    _site_args(p)
    p.add_argument("--within-days", type=int, default=WARN_DAYS)
    _reload_args(p)
    p.set_defaults(provision_handler=_cmd_rotate)


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Add ``provision`` and its subcommands to the ``roomcast`` command's subparsers."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "provision", help="IT tooling: site, rooms, device bundles, users, revocation"
    )
    sub = parser.add_subparsers(dest="provision_command", required=True)
    for add in (_add_init, _add_rooms_and_devices, _add_node, _add_user, _add_upkeep):
        add(sub)
    return parser


def run(args: argparse.Namespace) -> int:
    """Run the chosen subcommand; a ProvisioningError is printed, not raised (exit code 2)."""
    handler: Handler = args.provision_handler
    if (
        getattr(args, "action", None) in ("add", "passwd", "role", "totp", "remove")
        and not args.name
    ):
        print(f"error: `user {args.action}` needs a user name", file=sys.stderr)
        return 2
    try:
        return handler(args)
    except ProvisioningError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


def main(argv: Sequence[str] | None = None) -> int:
    """Stand-alone entry point (``python -m provisioning.cli provision ...``)."""
    parser = argparse.ArgumentParser(prog="roomcast")
    add_parser(parser.add_subparsers(dest="command", required=True))
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
