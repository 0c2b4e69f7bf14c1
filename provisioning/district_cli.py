"""``roomcast provision district init | add-school | remove-school`` (provisioning.district)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from provisioning.district import (
    DistrictError,
    add_school,
    init_district,
    open_district,
    remove_group,
    remove_school,
    set_group,
)
from provisioning.district_config import NatsNode
from provisioning.district_user_cli import add_district_user_parser

DEFAULT_DIR = Path("/etc/roomcast/district")
SCHOOL_BRIDGE_DIR = Path("/etc/roomcast/site/broker/district")
"""Where a school's broker finds its bridge files once IT has copied them there."""


def parse_node(text: str) -> NatsNode:
    """``NAME=HOST`` (ports 4222, 6222, 8883) or ``NAME=HOST:CLIENT:CLUSTER:MQTT``."""
    name, _, where = text.partition("=")
    host, *ports = where.split(":")
    if not name or not host or len(ports) not in (0, 3):
        raise argparse.ArgumentTypeError(
            f"{text!r}: give NAME=HOST or NAME=HOST:CLIENT_PORT:CLUSTER_PORT:MQTT_PORT"
        )
    try:
        client, cluster, mqtt = (int(p) for p in ports) if ports else (4222, 6222, 8883)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: ports are numbers") from None
    return NatsNode(name=name, host=host, client_port=client, cluster_port=cluster, mqtt_port=mqtt)


def add_district_parser(sub: Any) -> None:
    p = sub.add_parser("district", help="a district: its CA, NATS cluster and school bridges")
    actions = p.add_subparsers(dest="district_action", required=True, metavar="ACTION")
    init = actions.add_parser("init", help="district CA, signing key, NATS node configs")
    init.add_argument("--district", required=True, help="the district id, e.g. metro")
    init.add_argument(
        "--node",
        type=parse_node,
        action="append",
        required=True,
        help="a NATS node, NAME=HOST[:CLIENT:CLUSTER:MQTT]; give 3 (or 1 for a small district)",
    )
    add = actions.add_parser("add-school", help="a school's bridge certificate and config")
    add.add_argument("site", help="the school's site id")
    add.add_argument(
        "--installed-dir",
        type=Path,
        default=SCHOOL_BRIDGE_DIR,
        help="where the school's broker will read the files (default %(default)s)",
    )
    remove = actions.add_parser("remove-school", help="take a school out of the district")
    remove.add_argument("site")
    for parser in (init, add, remove):
        parser.add_argument("--district-dir", type=Path, default=DEFAULT_DIR)
    _add_group_parser(actions)
    p.set_defaults(provision_handler=_run)
    add_district_user_parser(actions)  # its own handler (provisioning.district_user_cli)


def _add_group_parser(actions: Any) -> None:
    """``group set | remove | list``: named groups of schools for district directives."""
    group = actions.add_parser("group", help="named groups of schools (district directives)")
    verbs = group.add_subparsers(dest="group_action", required=True, metavar="VERB")
    make = verbs.add_parser("set", help="make or replace a group")
    make.add_argument("name", help="a-z, 0-9, '_' or '-', e.g. near-elm")
    make.add_argument("--school", action="append", required=True, help="repeat per school")
    drop = verbs.add_parser("remove", help="remove a group (its schools stay)")
    drop.add_argument("name")
    show = verbs.add_parser("list", help="the groups and their schools")
    show.add_argument("--json", action="store_true")
    for parser in (make, drop, show):
        parser.add_argument("--district-dir", type=Path, default=DEFAULT_DIR)


def _run_group(args: argparse.Namespace) -> int:
    if args.group_action == "set":
        sites = set_group(args.district_dir, args.name, args.school)
        print(f"group {args.name!r}: {', '.join(sites)}")
    elif args.group_action == "remove":
        remove_group(args.district_dir, args.name)
        print(f"group {args.name!r} removed (its schools stay in the district)")
    else:
        _, record = open_district(args.district_dir)
        if args.json:
            print(json.dumps({n: list(s) for n, s in sorted(record.groups.items())}, indent=2))
        for name, sites in sorted(record.groups.items()) if not args.json else ():
            print(f"{name}: {', '.join(sites)}")
        if not record.groups and not args.json:
            print("no groups yet: roomcast provision district group set NAME --school SITE ...")
    return 0


def _run(args: argparse.Namespace) -> int:
    if args.district_action == "group":
        return _run_group(args)
    if args.district_action == "init":
        layout = init_district(args.district_dir, args.district, args.node)
        print(f"district {args.district!r} created in {layout.root}")
        for node in args.node:
            print(f"  {node.name}: nats-server -c {layout.node(node.name).conf}")
        print("Copy each node's directory to its machine, then add the schools.")
    elif args.district_action == "add-school":
        files = add_school(args.district_dir, args.site, installed_dir=args.installed_dir)
        print(f"school {args.site!r} added; its bridge files are in {files.dir}")
        print(f"Copy them to {args.installed_dir} on the school's hub (key 0600, for the")
        print("broker's user), add `include_dir` for it, reload mosquitto; then restart the")
        print("NATS nodes one at a time (systemctl restart nats-server) so they let it in.")
        print("Copy district.pub beside the school's hub.json (the hub's user must read it),")
        print("add this to hub.json and restart the hub:")
        district = _district_id(args.district_dir)
        print(f'  "district": {{"id": "{district}", "public_key": "district.pub"}}')
    else:
        groups = remove_school(args.district_dir, args.site)
        print(
            f"school {args.site!r} removed: restart the NATS nodes one at a time to refuse "
            "its bridge"
        )
        for line in groups:
            print(f"  {line}")
    return 0


def _district_id(root: Path) -> str:
    _, record = open_district(root)
    return record.district


__all__ = ["DistrictError", "add_district_parser"]
