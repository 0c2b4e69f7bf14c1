"""``roomcast provision staff ...``: teachers' accounts for the teacher's page.

``import FILE.csv`` adds or updates every teacher of the staff list (all or nothing);
``link USER`` makes a new one-time enrolment link (a new phone); ``revoke USER`` ends every
session of a teacher (a lost phone). Links are secrets: printed once, or written to a sheet
of QR codes (0600) with ``--sheet``.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from protocol.accounts import LINK_DAYS
from provisioning import staff
from provisioning.fsutil import PRIVATE, write_file
from provisioning.site import open_site


def _show(args: argparse.Namespace, links: list[staff.Link]) -> None:
    if not links:
        return
    site = open_site(args.site_dir)[1].site
    if args.sheet is not None:
        write_file(args.sheet, staff.enrolment_sheet(links, args.hub_url, site).encode(), PRIVATE)
        print(f"enrolment sheet for {len(links)} teacher(s) written to {args.sheet} (0600: it")
        print("holds one-time links; print it, hand out the cards, then delete it)")
        return
    for link in links:
        until = time.strftime("%Y-%m-%d", time.localtime(link.expires_at))
        print(f"{link.user}: {link.url(args.hub_url)}  (once, until {until})")


def _cmd_staff(args: argparse.Namespace) -> int:
    if args.staff_action != "revoke" and not args.hub_url:
        print(
            "error: give --hub-url, the address phones on the school's Wi-Fi use to reach the "
            "hub (e.g. https://hub.school.example): the enrolment links are made with it",
            file=sys.stderr,
        )
        return 2
    if args.staff_action == "import":
        done = staff.import_staff(args.site_dir, Path(args.target), link_days=args.link_days)
        print(f"{len(done.added)} teacher(s) added, {len(done.updated)} updated")
        _show(args, done.added)
    elif args.staff_action == "link":
        _show(args, [staff.new_link(args.site_dir, args.target, link_days=args.link_days)])
    else:
        staff.revoke(args.site_dir, args.target)
        print(f"{args.target}: every session ended at the hub's next request; link withdrawn")
    return 0


def add_staff_parser(sub: Any, site_args: Callable[[argparse.ArgumentParser], None]) -> None:
    p = sub.add_parser("staff", help="teachers: import FILE.csv, link USER, revoke USER")
    site_args(p)
    p.add_argument("staff_action", choices=["import", "link", "revoke"])
    p.add_argument("target", help="import: the staff CSV; link, revoke: the teacher's user name")
    p.add_argument(
        "--hub-url",
        help="the hub's address as phones on the school's Wi-Fi reach it (for the links)",
    )
    p.add_argument("--sheet", type=Path, help="write the links as a printable QR sheet (HTML)")
    p.add_argument("--link-days", type=float, default=LINK_DAYS)
    p.set_defaults(provision_handler=_cmd_staff)
