"""Who the hub's users are: IT's ``users.json`` with the console's own changes laid over it.

Users, their roles and their scrypt hashes live in the site's ``users.json`` (written by
``roomcast provision user`` and ``provision staff``); the file is re-read when it changes,
so adding or removing a user needs no restart. It is the source of truth for every office
and admin account and every role, and the hub never writes it (the shipped unit keeps the
site directory read-only to the hub). What the console changes (a teacher added on
**Teachers**, a new or withdrawn enrolment link, a user's language) is kept in the hub's
state directory (:mod:`hub.console_edits`) and laid over the file here:

- a name in ``users.json`` always wins over a console teacher of the same name;
- a console link or language counts only while the account is as it was when it was made
  (its *basis*): a later ``provision staff link|revoke`` or ``provision user language``
  by IT replaces it.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import logging
import secrets
import threading
import time
from collections.abc import Collection, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from hub.console_edits import ConsoleEdits, ConsoleLink, ConsoleTeacher, LanguageChoice
from hub.errors import Conflict, Invalid, NotFound
from hub.staff import Staff, new_teacher, staff_record
from hub.user_language import DEFAULT, LANGUAGES, record_language
from protocol.accounts import (
    DUMMY_HASH,
    BadHash,
    Role,
    check_password,
    enrolment_link,
    hash_password,
)
from protocol.factors import Enrolment, valid_digest, valid_secret
from transport.settings import ConfigError, Settings

log = logging.getLogger(__name__)

USERS_FORMAT = 1
FROM_FILE = "users.json"
FROM_CONSOLE = "console"


@dataclass(frozen=True)
class Account:
    """One user as the hub sees them now."""

    role: Role
    scrypt: Mapping[str, Any]
    totp: Enrolment | None = None
    """A second factor enrolled by IT (``roomcast provision user totp``)."""
    factor_epoch: str = ""
    """Changed by provisioning at every (re-)enrolment or reset: a console enrolment made
    under another epoch no longer counts, and the sessions made before it end."""
    staff: Staff | None = None
    """A teacher's rooms and one-time enrolment link (hub.staff)."""
    language: str = DEFAULT
    language_set_at: str = ""
    """When IT last set ``language`` (``provision user language``), as users.json has it."""
    source: str = FROM_FILE
    """Where the account comes from: IT's ``users.json``, or added in the ``console``."""
    added_by: str = ""

    @property
    def rooms(self) -> frozenset[str]:
        return frozenset() if self.staff is None else self.staff.rooms

    @property
    def credential(self) -> str:
        """Names the current password (and second-factor epoch), so a session can tell
        they changed since login.

        Every new password has a new random salt; without the salt (only in the 0600 users
        file) this digest helps nobody guess the password.
        """
        named = dict(self.scrypt) | (
            {"factor_epoch": self.factor_epoch} if self.factor_epoch else {}
        )
        canonical = json.dumps(named, sort_keys=True).encode()
        return hashlib.sha256(canonical).hexdigest()[:16]


def link_basis(account: Account) -> str:
    """What a console-made link stands on: IT's own link and epoch for the account."""
    digest = "" if account.staff is None else account.staff.link_digest
    return f"{account.source}:{digest}:{account.factor_epoch}"


def language_basis(account: Account) -> str:
    """What a console-chosen language stands on: IT's language setting for the account."""
    return f"{account.source}:{account.language}:{account.language_set_at}"


class UsersUnavailable(Exception):
    """The users file has never been readable since the hub started: nobody can log in."""


def load_accounts(path: Path) -> dict[str, Account]:
    """Read and check ``users.json``; a problem raises ConfigError naming the file and key."""
    settings = Settings.load(path, missing_hint="create users with `roomcast provision user`")
    if settings.get("format", int) != USERS_FORMAT:
        raise settings.fail("format", f"must be {USERS_FORMAT} (written by `roomcast provision`)")
    records = settings.get("users", dict)
    return {name: _account(settings, name, record) for name, record in records.items()}


def _account(settings: Settings, name: str, record: Any) -> Account:
    key = f"users.{name}"
    if not isinstance(record, dict):
        raise settings.fail(key, f"must be an object, not {type(record).__name__}")
    try:
        role = Role(str(record.get("role")))
    except ValueError:
        roles = ", ".join(r.value for r in Role)
        raise settings.fail(f"{key}.role", f"must be one of {roles}") from None
    scrypt = record.get("scrypt")
    if not isinstance(scrypt, dict):
        raise settings.fail(f"{key}.scrypt", "missing or not an object")
    for field in ("n", "r", "p"):
        value = scrypt.get(field)
        if not isinstance(value, int) or isinstance(value, bool):
            raise settings.fail(f"{key}.scrypt.{field}", "must be an integer")
    for field in ("salt", "hash"):
        if not _is_base64(scrypt.get(field)):
            raise settings.fail(f"{key}.scrypt.{field}", "must be base64 text")
    epoch = record.get("factor_epoch", "")
    if not isinstance(epoch, str):
        raise settings.fail(f"{key}.factor_epoch", "must be a string")
    set_at = record.get("language_set_at", "")
    if not isinstance(set_at, str):
        raise settings.fail(f"{key}.language_set_at", "must be a time (ISO 8601 text)")
    return Account(
        role=role,
        scrypt=dict(scrypt),
        totp=_enrolment(settings, f"{key}.totp", record.get("totp")),
        factor_epoch=epoch,
        staff=staff_record(settings, key, record) if role is Role.TEACHER else None,
        language=record_language(settings, key, record),
        language_set_at=set_at,
    )


def _enrolment(settings: Settings, key: str, record: Any) -> Enrolment | None:
    if record is None:
        return None
    if not isinstance(record, dict):
        raise settings.fail(key, f"must be an object, not {type(record).__name__}")
    if not valid_secret(record.get("secret")):
        raise settings.fail(f"{key}.secret", "must be base32 text of at least 128 bits")
    recovery = record.get("recovery", [])
    if not isinstance(recovery, list) or not all(valid_digest(d) for d in recovery):
        raise settings.fail(f"{key}.recovery", "must be a list of SHA-256 hex digests")
    return Enrolment(secret=record["secret"], recovery=frozenset(recovery))


def _is_base64(value: Any) -> bool:
    if not isinstance(value, str) or not value:
        return False
    try:
        base64.b64decode(value, validate=True)
    except (ValueError, binascii.Error):
        return False
    return True


def validate_users_file(path: Path) -> None:
    """Refuse to start on a damaged users file: raises ConfigError naming the file and key."""
    load_accounts(path)


def _console_teacher(teacher: ConsoleTeacher) -> Account:
    return Account(
        role=Role.TEACHER,
        scrypt=teacher.scrypt,
        factor_epoch=teacher.epoch,
        staff=Staff(rooms=teacher.rooms, name=teacher.name),
        source=FROM_CONSOLE,
        added_by=teacher.added_by,
    )


class Users:
    """``users.json`` and the console's changes, re-read whenever either changes.

    A damaged or missing file is logged (file and key) and the last good copy stays in use,
    so a bad edit during an emergency does not lock the office out. If there never was a
    good copy, nobody can log in (:class:`UsersUnavailable`).
    """

    def __init__(self, path: Path, edits: ConsoleEdits) -> None:
        self._path, self._edits = path, edits
        self._stamp: tuple[int, int, int] | None = None
        self._file: dict[str, Account] | None = None
        self._version: tuple[int, int] | None = None
        self._bases: dict[str, Account] = {}  # users.json and console teachers, no overrides
        self._merged: dict[str, Account] = {}
        self._hidden: list[str] = []
        self._lock = threading.Lock()  # logins verify on a worker thread

    def _current(self) -> dict[str, Account]:
        try:
            info = self._path.stat()
            stamp = (info.st_mtime_ns, info.st_ino, info.st_size)
        except OSError:
            stamp = (-1, -1, -1)
        with self._lock:
            if stamp != self._stamp:
                self._stamp, self._version = stamp, None
                self._reload()
            if self._file is None:
                raise UsersUnavailable(str(self._path))
            if self._edits.version() != self._version:
                self._overlay(self._file)
                self._version = self._edits.version()
            return self._merged

    def _reload(self) -> None:
        try:
            self._file = load_accounts(self._path)
        except ConfigError as error:
            kept = "keeping the last good copy" if self._file else "nobody can log in"
            log.error("users file: %s; %s until it is fixed", error, kept)

    def _overlay(self, file: dict[str, Account]) -> None:
        edits = self._edits.snapshot()
        bases = dict(file)
        self._hidden = sorted(user for user in edits.teachers if user in file)
        for user in self._hidden:
            log.warning("teacher %s added in the console is hidden by users.json's %s", user, user)
        bases |= {u: _console_teacher(t) for u, t in edits.teachers.items() if u not in file}
        merged = dict(bases)
        stale_links = [u for u, link in edits.links.items() if not _applies_link(bases, u, link)]
        for user, link in edits.links.items():
            staff = merged[user].staff if user not in stale_links else None
            if staff is not None:
                moved = replace(staff, link_digest=link.digest, link_expires_at=link.expires_at)
                merged[user] = replace(merged[user], staff=moved)
        stale_languages = []
        for user, choice in edits.languages.items():
            base = bases.get(user)
            if base is None or choice.basis != language_basis(base):
                stale_languages.append(user)  # IT set the language since (or removed the user)
            else:
                merged[user] = replace(merged[user], language=choice.language)
        self._edits.drop_stale(links=stale_links, languages=stale_languages)
        self._bases, self._merged = bases, merged

    def account(self, name: str) -> Account | None:
        """The user as the hub has them now; None if there is no such user."""
        return self._current().get(name)

    def teachers(self) -> dict[str, Account]:
        return {name: a for name, a in self._current().items() if a.role is Role.TEACHER}

    def hidden_console_teachers(self) -> list[str]:
        """Teachers added in the console whose name users.json has now (IT's file wins)."""
        self._current()
        return list(self._hidden)

    def verify(self, name: str, password: str) -> Account | None:
        """The user if the password is right. Unknown names cost the same time."""
        record = self._current().get(name)
        stored = record.scrypt if record else DUMMY_HASH
        try:
            good = check_password(stored, password)
        except BadHash as error:
            log.error("users file %s: users.%s.scrypt: %s", self._path, name, error)
            return None
        return record if good else None

    # -- the console's changes (hub.console.teacher, hub.console.language) ----------------

    def add_teacher(
        self, *, user: str, name: str, rooms: Collection[str], known_rooms: Collection[str], by: str
    ) -> tuple[str, str]:
        """A new teacher with no password and a one-time link: (their user name, token).

        It hashes an unknowable password (scrypt, a fraction of a second): call it off the
        event loop.
        """
        user, name, chosen = new_teacher(user=user, name=name, rooms=rooms, known=known_rooms)
        taken = self._current().get(user)
        if taken is not None:
            raise Conflict(_taken(user, taken))
        token, stored = enrolment_link()
        epoch, now = secrets.token_hex(8), time.time()
        teacher = ConsoleTeacher(
            user=user,
            name=name,
            rooms=frozenset(chosen),
            scrypt=hash_password(secrets.token_urlsafe(32)),  # no password: the link only
            epoch=epoch,
            added_by=by,
            added_at=now,
        )
        basis = link_basis(_console_teacher(teacher))
        first = ConsoleLink(stored["digest"], stored["expires_at"], basis=basis)
        if not self._edits.add_teacher(teacher, first):
            raise Conflict(f"{user} was just added in the console; choose another user name")
        return user, token

    def _teacher_base(self, user: str) -> Account:
        self._current()
        with self._lock:
            base = self._bases.get(user)
        if base is None or base.role is not Role.TEACHER:
            raise NotFound(f"no teacher {user!r}")
        return base

    def new_link(self, user: str, *, by: str) -> str:
        """A new one-time link for a teacher (a new phone); the older one stops working."""
        base = self._teacher_base(user)
        token, stored = enrolment_link()
        link = ConsoleLink(stored["digest"], stored["expires_at"], basis=link_basis(base))
        self._edits.save_link(user, link, by=by, at=time.time())
        return token

    def revoke(self, user: str, *, by: str) -> None:
        """Withdraw a teacher's pending link; a console teacher also gets a new epoch, as
        ``staff revoke`` gives a users.json teacher. The caller ends their sessions."""
        base = self._teacher_base(user)
        if base.source == FROM_CONSOLE:
            self._edits.new_epoch(user, secrets.token_hex(8))
        else:
            withdrawn = ConsoleLink("", 0.0, basis=link_basis(base))
            self._edits.save_link(user, withdrawn, by=by, at=time.time())

    def remove(self, user: str) -> bool:
        """Remove a teacher added in the console (IT removes users.json's own accounts);
        True if it was the account in use (then the caller ends its sessions), False if
        users.json's account of that name hid it."""
        live = self._current().get(user)
        hidden = user in self.hidden_console_teachers()
        if live is not None and live.source == FROM_FILE and not hidden:
            raise Conflict(
                f"{user} is in the site's users.json, which only IT changes: "
                f"`roomcast provision user remove {user}` (revoking here ends their sessions now)"
            )
        if not self._edits.remove_teacher(user):
            raise NotFound(f"no teacher {user!r} added in the console")
        return not hidden

    def choose_language(self, user: str, language: str) -> None:
        """The user's own choice; it holds until IT sets their language in users.json."""
        if language not in LANGUAGES:
            raise Invalid(f"language must be one of {', '.join(LANGUAGES)}")
        self._current()
        with self._lock:
            base = self._bases.get(user)
        if base is None:
            raise NotFound(f"no user {user!r}")
        choice = LanguageChoice(language, basis=language_basis(base), chosen_at=time.time())
        self._edits.save_language(user, choice)


def _applies_link(bases: dict[str, Account], user: str, link: ConsoleLink) -> bool:
    base = bases.get(user)
    return base is not None and base.staff is not None and link.basis == link_basis(base)


def _taken(user: str, account: Account) -> str:
    if account.source == FROM_CONSOLE:
        return f"{user} was already added in the console; choose another user name"
    return (
        f"{user} already has an account in the site's users.json (role {account.role}, "
        "kept by IT); choose another user name"
    )
