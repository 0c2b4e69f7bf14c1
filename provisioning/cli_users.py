"""``roomcast provision user ...``: console users and their second factor.

Passwords never go on the command line (other users can read it in ``ps``): a generated
one is printed once, a chosen one is read from standard input. A TOTP secret and its
recovery codes are shown once, at enrolment, and stored only as the hub needs them.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from protocol.accounts import CONSOLE_LANGUAGES, Role
from provisioning import second_factor as factors
from provisioning import users

_SET_LANGUAGE = ("add", "passwd", "role", "language")


def _cmd_user(args: argparse.Namespace) -> int:
    code = _cmd_user_action(args)
    if code == 0 and args.language is not None and args.action in _SET_LANGUAGE:
        users.set_language(args.site_dir, args.name, args.language)
        print(f"{args.name}: console and teacher's page in {args.language}")
    return code


def _cmd_user_action(args: argparse.Namespace) -> int:
    if args.action == "language" and args.language is None:
        print("error: `user language` needs --language", file=sys.stderr)
        return 2
    if args.action == "language":
        return 0  # _cmd_user sets it
    if args.action == "list":
        return _list(args)
    if args.action == "remove":
        users.remove_user(args.site_dir, args.name)
        print(f"removed {args.name}; the hub ends their open sessions")
        return 0
    if args.action == "role":
        if args.role is None:
            print("error: `user role` needs --role", file=sys.stderr)
            return 2
        users.set_role(args.site_dir, args.name, args.role)
        print(f"{args.name} is now {args.role}; open sessions have the new role at once")
        _second_factor_after(args)
        return 0
    if args.action == "totp":
        return _cmd_totp(args)
    password = sys.stdin.readline().rstrip("\n") if args.password_stdin else None
    if args.action == "add":
        password = users.add_user(args.site_dir, args.name, args.role or "viewer", password)
    else:
        password = users.set_password(args.site_dir, args.name, password, args.role)
    if not args.password_stdin:
        print(f"{args.name}: password {password}  (shown once; stored only as a hash)")
    _second_factor_after(args)
    return 0


def _list(args: argparse.Namespace) -> int:
    for name, role in users.list_users(args.site_dir).items():
        print(f"{name}\t{role.value}")
    return 0


def _second_factor_after(args: argparse.Namespace) -> None:
    """A new user whose role needs a second factor gets it now; a promoted one at login."""
    new_role = args.role or ("viewer" if args.action == "add" else None)
    if new_role is None or not factors.needs_second_factor(args.site_dir, new_role):
        return
    if args.action == "add":
        print_enrolled(factors.enrol(args.site_dir, args.name), args.qr_png)
    elif not factors.enrolled(args.site_dir, args.name):
        print(f"{args.name} sets up a second factor at the next console login")


def _cmd_totp(args: argparse.Namespace) -> int:
    if args.clear:
        factors.clear(args.site_dir, args.name)
        print(f"{args.name}: second factor removed; they set up a new one at the next login")
        return 0
    print_enrolled(factors.enrol(args.site_dir, args.name), args.qr_png)
    return 0


def print_enrolled(enrolled: factors.Enrolled, png: Path | None) -> None:
    """The new secret (URI, text, QR code) and recovery codes: shown once, never again."""
    print(f"{enrolled.user}: second factor (TOTP) set up; the old codes no longer work.")
    print("Scan the QR code with an authenticator app, or enter the secret by hand:")
    print(f"  {enrolled.uri}")
    print(f"  secret: {enrolled.secret}")
    if png is not None:
        enrolled.write_png(png)
        print(f"  QR code written to {png} (0600: it holds the secret; delete it after use)")
    else:
        enrolled.qr().terminal(out=sys.stdout, compact=True)
    print("Recovery codes (each works once instead of a code; shown once, stored as hashes):")
    for code in enrolled.recovery_codes:
        print(f"  {code}")


def add_user_parser(sub: Any, site_args: Callable[[argparse.ArgumentParser], None]) -> None:
    """``provision user``; ``site_args`` adds the shared ``--site-dir`` option."""
    p = sub.add_parser(
        "user", help="console users: add, passwd, role, totp, remove, list, language"
    )
    site_args(p)
    p.add_argument(
        "action", choices=["add", "passwd", "role", "totp", "remove", "list", "language"]
    )
    p.add_argument("name", nargs="?", default="")
    p.add_argument("--role", choices=[r.value for r in Role])
    p.add_argument(
        "--language",
        choices=CONSOLE_LANGUAGES,
        help="the user's language on the console and the teacher's page (with add, passwd, "
        "role or language)",
    )
    p.add_argument(
        "--password-stdin",
        action="store_true",
        help="read the password from standard input instead of generating one",
    )
    p.add_argument(
        "--qr-png", type=Path, help="add, totp: write the QR code to this PNG (0600) instead"
    )
    p.add_argument(
        "--clear", action="store_true", help="totp: remove the second factor (set up anew)"
    )
    p.set_defaults(provision_handler=_cmd_user)
