"""``roomcast provision district user add | passwd | role | totp | remove | list``.

Passwords never go on the command line (other users can read it in ``ps``): a generated
one is printed once, a chosen one is read from standard input (``--password-stdin``).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from protocol.district_accounts import SENDERS, DistrictRole
from provisioning import district_users as users
from provisioning.cli_users import print_enrolled

DEFAULT_DIR = Path("/etc/roomcast/district")


def add_district_user_parser(actions: Any) -> None:
    """The ``user`` action of ``provision district`` (its own handler)."""
    p = actions.add_parser(
        "user", help="district console users: add, passwd, role, totp, remove, list"
    )
    p.add_argument("user_action", choices=["add", "passwd", "role", "totp", "remove", "list"])
    p.add_argument("name", nargs="?", default="")
    p.add_argument("--role", choices=[r.value for r in DistrictRole])
    p.add_argument(
        "--password-stdin",
        action="store_true",
        help="read the password from standard input instead of generating one",
    )
    p.add_argument("--qr-png", type=Path, help="totp: write the QR code to this PNG (0600)")
    p.add_argument(
        "--clear", action="store_true", help="totp: remove the second factor (set up anew)"
    )
    p.add_argument("--district-dir", type=Path, default=DEFAULT_DIR)
    p.set_defaults(provision_handler=_run)


def _run(args: argparse.Namespace) -> int:
    action, name, where = args.user_action, args.name, args.district_dir
    if action == "list":
        for user, role in users.list_users(where).items():
            print(f"{user}\t{role.value}")
        return 0
    if not name:
        print(f"error: `district user {action}` needs the user's name", file=sys.stderr)
        return 2
    if action == "remove":
        users.remove_user(where, name)
        print(f"removed {name}; the district service ends their open sessions")
        return 0
    if action == "totp":
        if args.clear:
            users.clear_totp(where, name)
            print(f"{name}: second factor removed; their sessions end")
            print("They set up a new one at the next console login (if their role needs one).")
            return 0
        print_enrolled(users.enrol_totp(where, name), args.qr_png)
        print("Their open sessions end; the district console asks for a code from now on.")
        return 0
    if action == "role":
        if args.role is None:
            print("error: `district user role` needs --role", file=sys.stderr)
            return 2
        users.set_role(where, name, args.role)
        print(f"{name} is now {args.role}; open sessions have the new role at once")
        return 0
    password = sys.stdin.readline().rstrip("\n") if args.password_stdin else None
    if action == "add":
        if args.role is None:
            roles = ", ".join(r.value for r in DistrictRole)
            print(f"error: `district user add` needs --role ({roles})", file=sys.stderr)
            return 2
        password = users.add_user(where, name, args.role, password)
        if DistrictRole(args.role) in SENDERS:
            print(f"{name} sets up a second factor at the first console login (or IT, now:")
            print(f"`roomcast provision district user totp {name}`)")
    else:
        password = users.set_password(where, name, password, args.role)
    if not args.password_stdin:
        print(f"{name}: password {password}  (shown once; stored only as a hash)")
    print(f"file: {users.users_file(where)} (0600: the district service's user must read it)")
    return 0
