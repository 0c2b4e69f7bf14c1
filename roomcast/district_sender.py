"""Who sends from ``roomcast district request``: a district user proven as at the console.

The command signs with the district's key, so it must not take the user's word for who
it is: the name must be a user of the district's ``users.json`` whose role may send
district directives, with that user's password (and a code from their app when they
have a second factor), checked with the console's own code (district.users). What it
sends goes into the console's audit log (``<state-dir>/console.db``) with the console's
action names, so the district admin's audit page shows every directive however it was
sent. And while a console holds control, the command is refused unless told
``--override-control``: that send is then audited as a command-line action during
console control, as a school's command line is (hub.console_control).

The command cannot see whether the holder's page is still open (the service knows that,
in memory), so a control the console store still shows for a live session counts as
held: the service drops it 45 s after the holder's console went away.
"""

from __future__ import annotations

import argparse
import getpass
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from district.console_store import ConsoleStore
from district.preview import Preview
from district.users import GRANTS, DistrictAccount, DistrictUsers, Permission, UsersUnavailable
from hub.second_factor import FILE_NAME, FactorStore, SecondFactor
from protocol.district_accounts import DistrictRole
from protocol.srp import Vocabulary
from provisioning.district import open_district
from provisioning.district_users import users_file
from roomcast.district_config import second_factor_roles

CONSOLE_DB = "console.db"
"""The district console's store (district.console.app): sessions, control, audit."""
FROM = "command line (roomcast district request)"
CONSOLE_HINT = "send it from the district console instead (roomcast district serve)"
_WORDS = Vocabulary()


class SendRefused(Exception):
    """The command may not send: the message says why and what to do."""


@dataclass
class CommandLineSender:
    user: str
    audit: ConsoleStore
    overriding: str | None
    """The console user whose control this send overrides (--override-control), if any."""
    clock: Callable[[], float] = time.time

    def close(self) -> None:
        self.audit.close()

    def sent(self, shown: Preview, request_id: str) -> None:
        """Audit the send, with the words the console uses (district.console)."""
        a, now = shown.action, self.clock()
        if self.overriding is not None:
            self.audit.audit(
                at=now, user=self.user, action="command-line action during console control",
                detail={"request": request_id, "console": self.overriding, "from": FROM},
            )  # fmt: skip
        self.audit.audit(
            at=now, user=self.user, action="district directive sent",
            detail={"request": request_id, "what": _WORDS[a.action].term,
                    "drill": a.drill, "schools": ", ".join(shown.schools), "rooms": shown.rooms,
                    "group": a.group, "scope": a.target or "whole school", "from": FROM,
                    **a.details},
        )  # fmt: skip


def authenticate(
    users_file: Path,
    state_dir: Path,
    *,
    user: str,
    password: str,
    code: str | None,
    override_control: bool,
    needs_factor: frozenset[DistrictRole] = frozenset(),
    clock: Callable[[], float] = time.time,
) -> CommandLineSender:
    """The sender, once proven and allowed; SendRefused (audited) if not."""
    store = ConsoleStore(state_dir / CONSOLE_DB)
    try:
        account = _verified(DistrictUsers(users_file), store, user, password, clock)
        _second_factor(account, store, state_dir, user, code, clock, needs_factor)
        holder = _control_holder(store, clock)
        if holder is not None and not override_control:
            raise SendRefused(
                f"read-only: {holder} has control of the district console. Ask them to "
                "release it, or give --override-control (audited as a command-line action "
                "during console control)"
            )
    except BaseException:
        store.close()
        raise
    return CommandLineSender(user=user, audit=store, overriding=holder, clock=clock)


def _verified(
    users: DistrictUsers, store: ConsoleStore, user: str, password: str, clock: Callable[[], float]
) -> DistrictAccount:
    try:
        account = users.verify(user, password)
    except UsersUnavailable:
        raise SendRefused(
            f"{users.path}: the district's users file cannot be read; fix it "
            "(roomcast provision district user ...)"
        ) from None
    if account is None:
        store.audit(at=clock(), user=user, action="login failed", detail={"from": FROM})
        raise SendRefused(
            f"district user {user!r}: wrong password, or no such user in {users.path}"
        )
    if Permission.SEND not in GRANTS[account.role]:
        store.audit(
            at=clock(), user=user, action="district directive refused (role)",
            detail={"from": FROM, "role": account.role.value},
        )  # fmt: skip
        raise SendRefused(
            f"district user {user!r} is a {account.role.value}, who may not send district "
            "directives (a safety-officer or district-admin may)"
        )
    return account


def _second_factor(
    account: DistrictAccount,
    store: ConsoleStore,
    state_dir: Path,
    user: str,
    code: str | None,
    clock: Callable[[], float],
    needs_factor: frozenset[DistrictRole],
) -> None:
    """A user with a second factor (from IT in users.json, or enrolled at the console)
    gives a code from their app, or a recovery code, used once, as at the console. A user
    whose role needs one (district.json ``totp_required_for``) and has none yet is refused:
    the console would send them to enrolment, never to a send."""
    totp = getattr(account, "totp", None)  # a second factor in users.json, where kept
    epoch = getattr(account, "factor_epoch", "")
    path = state_dir / FILE_NAME
    factors = FactorStore(path) if totp is None and path.exists() else None
    try:
        enrolment = totp or (None if factors is None else factors.enrolment(user, epoch))
        if enrolment is None:
            if account.role in needs_factor:
                store.audit(
                    at=clock(), user=user, action="second factor failed",
                    detail={"from": FROM, "why": "no second factor set up"},
                )  # fmt: skip
                raise SendRefused(
                    f"district user {user!r} is a {account.role.value}, who needs a second "
                    "factor and has none set up: log in to the district console once to set "
                    f"it up, or ask IT (roomcast provision district user totp {user})"
                )
            return
        if factors is None:
            factors = FactorStore(path)
        if code is None:
            raise SendRefused(
                f"district user {user!r} has a second factor: give --code with the code "
                f"from the app (or a recovery code), or {CONSOLE_HINT}"
            )
        checked = SecondFactor(factors, frozenset(), clock=clock).check(user, enrolment, code)
        if not checked.ok:
            store.audit(
                at=clock(), user=user, action="second factor failed",
                detail={"from": FROM, "why": checked.outcome.value},
            )  # fmt: skip
            raise SendRefused(f"district user {user!r}: {checked.outcome.value}")
    finally:
        if factors is not None:
            factors.close()


def _control_holder(store: ConsoleStore, clock: Callable[[], float]) -> str | None:
    """The console user holding control, if their session is still alive."""
    row = store.control()
    if row is None or store.session(row["session"], now=clock()) is None:
        return None
    return str(row["user"])


def _password(args: argparse.Namespace) -> str:
    if args.password_stdin:
        return sys.stdin.readline().rstrip("\n")
    return getpass.getpass(f"Password for district user {args.user}: ")


def from_args(args: argparse.Namespace) -> CommandLineSender:
    """The district user, proven (roomcast.district_sender), before anything is read."""
    layout, record = open_district(args.district_dir)
    state = args.state_dir or layout.root / "state"
    state.mkdir(mode=0o700, exist_ok=True)
    try:
        return authenticate(
            users_file(layout.root), state, user=args.user, password=_password(args),
            code=args.code, override_control=args.override_control,
            needs_factor=second_factor_roles(layout.record, record.console),
        )  # fmt: skip
    except SendRefused as refused:
        raise SystemExit(f"district request refused: {refused}") from None
