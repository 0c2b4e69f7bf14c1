"""The second factor at login: TOTP codes (RFC 6238), recovery codes, console enrolment.

Where a user's second factor comes from:

- ``users.json`` (``totp``), written by IT with ``roomcast provision user totp``; it wins;
- else an enrolment the user made in the console, kept in the hub's own SQLite file
  (``second-factor.db`` in its state directory). The hub cannot write ``users.json``: under
  systemd the site directory is read-only to it (``ReadOnlyPaths=``), by design. A console
  enrolment counts only while the user's ``factor_epoch`` in ``users.json`` is the one it
  was made under, so ``roomcast provision user totp NAME --clear`` (a new epoch) voids it.

What a login uses up is kept in the same file, so it survives a restart: the last accepted
time step per user (a code, once accepted, is refused for the rest of its window: the
replay guard) and each recovery code used.
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Protocol

from protocol.factors import (
    Enrolment,
    looks_like_totp,
    matching_step,
    new_recovery_codes,
    new_secret,
    recovery_digest,
    recovery_digests,
)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS enrolments (
    user TEXT PRIMARY KEY, epoch TEXT NOT NULL, secret TEXT NOT NULL,
    recovery TEXT NOT NULL, enrolled_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS last_steps (user TEXT PRIMARY KEY, step INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS used_recovery (
    user TEXT NOT NULL, digest TEXT NOT NULL, used_at REAL NOT NULL,
    PRIMARY KEY (user, digest)
);
"""
FILE_NAME = "second-factor.db"


class FactorStore:
    """The hub's SQLite file of console enrolments, last time steps and used recovery codes.

    It holds TOTP secrets, so it is created 0600 (SQLite gives its WAL files the same mode).
    """

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600))
        path.chmod(0o600)
        self._db = sqlite3.connect(path, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.executescript(_SCHEMA)

    def close(self) -> None:
        self._db.close()

    def enrolment(self, user: str, epoch: str) -> Enrolment | None:
        row = self._db.execute(
            "SELECT secret, recovery FROM enrolments WHERE user = ? AND epoch = ?", (user, epoch)
        ).fetchone()
        if row is None:
            return None
        return Enrolment(secret=row[0], recovery=frozenset(json.loads(row[1])))

    def save(self, user: str, epoch: str, enrolment: Enrolment, *, at: float) -> None:
        with self._db:
            self._db.execute(
                "INSERT OR REPLACE INTO enrolments VALUES (?, ?, ?, ?, ?)",
                (user, epoch, enrolment.secret, json.dumps(sorted(enrolment.recovery)), at),
            )

    def claim_step(self, user: str, step: int) -> bool:
        """Record ``step`` as the user's last accepted one; False if it is not newer."""
        with self._db:
            cursor = self._db.execute(
                "INSERT INTO last_steps VALUES (?, ?) ON CONFLICT(user) DO UPDATE "
                "SET step = excluded.step WHERE last_steps.step < excluded.step",
                (user, step),
            )
        return cursor.rowcount == 1

    def claim_recovery(self, user: str, digest: str, *, at: float) -> bool:
        """Use up one recovery code; False if it was used before."""
        with self._db:
            cursor = self._db.execute(
                "INSERT OR IGNORE INTO used_recovery VALUES (?, ?, ?)", (user, digest, at)
            )
        return cursor.rowcount == 1

    def unused(self, user: str, digests: frozenset[str]) -> int:
        rows = self._db.execute("SELECT digest FROM used_recovery WHERE user = ?", (user,))
        return len(digests - {digest for (digest,) in rows})


class Outcome(StrEnum):
    TOTP = "authenticator code"
    RECOVERY = "recovery code"
    REPLAYED = "code already used"
    USED = "recovery code already used"
    WRONG = "wrong code"


@dataclass(frozen=True)
class Checked:
    outcome: Outcome
    recovery_left: int | None = None

    @property
    def ok(self) -> bool:
        return self.outcome in (Outcome.TOTP, Outcome.RECOVERY)


class FactorAccount(Protocol):
    """What the second factor needs of a user: a school's console account (hub.auth) or a
    district's (district.users), each from its own users file."""

    @property
    def role(self) -> StrEnum: ...
    @property
    def totp(self) -> Enrolment | None: ...
    @property
    def factor_epoch(self) -> str: ...


class SecondFactor:
    """Who needs a second factor, and whether the code they sent is good (once)."""

    def __init__(
        self,
        store: FactorStore,
        required_for: frozenset[StrEnum],
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._store, self.required_for, self._now = store, required_for, clock

    def enrolment(self, user: str, account: FactorAccount) -> Enrolment | None:
        return account.totp or self._store.enrolment(user, account.factor_epoch)

    def required(self, account: FactorAccount, enrolment: Enrolment | None) -> bool:
        """The role needs it, or the user enrolled anyway (then it is always asked for)."""
        return account.role in self.required_for or enrolment is not None

    def check(self, user: str, enrolment: Enrolment, code: str) -> Checked:
        """A 6-digit code from the app, or one of the user's recovery codes."""
        typed = code.strip().replace(" ", "")
        if looks_like_totp(typed):
            step = matching_step(enrolment.secret, typed, self._now())
            if step is None:
                return Checked(Outcome.WRONG)
            return Checked(Outcome.TOTP if self._store.claim_step(user, step) else Outcome.REPLAYED)
        digest = recovery_digest(user, typed)
        if digest not in enrolment.recovery:
            return Checked(Outcome.WRONG)
        if not self._store.claim_recovery(user, digest, at=self._now()):
            return Checked(Outcome.USED)
        return Checked(Outcome.RECOVERY, self._store.unused(user, enrolment.recovery))

    def confirm(
        self, user: str, account: FactorAccount, secret: str, code: str
    ) -> list[str] | None:
        """Enrol ``secret`` if ``code`` proves the app has it; the new recovery codes (shown
        once, stored as digests), or None for a wrong code."""
        step = matching_step(secret, code.strip().replace(" ", ""), self._now())
        if step is None or not self._store.claim_step(user, step):
            return None
        codes = new_recovery_codes()
        enrolment = Enrolment(secret=secret, recovery=frozenset(recovery_digests(user, codes)))
        self._store.save(user, account.factor_epoch, enrolment, at=self._now())
        return codes


class CodeLimiter:
    """Wrong codes per user name, whatever the address: only someone who has the password
    gets this far, so the cap cannot lock out a user whose password is safe, and it stops
    a password-holder guessing codes from many addresses at once."""

    def __init__(
        self,
        *,
        attempts: int = 10,
        window_s: float = 900.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._attempts, self._window, self._now = attempts, window_s, clock
        self._wrong: dict[str, deque[float]] = {}

    def blocked(self, user: str) -> bool:
        wrong = self._wrong.get(user)
        if wrong is None:
            return False
        while wrong and self._now() - wrong[0] > self._window:
            wrong.popleft()
        if not wrong:
            del self._wrong[user]
        return len(wrong) >= self._attempts

    def failed(self, user: str) -> None:
        self._wrong.setdefault(user, deque()).append(self._now())


class PendingEnrolments:
    """The secret shown to a user on the console's enrolment page, until they confirm it.

    Kept in memory, per enrolment session: a hub restart only means logging in again. The
    same secret is shown on every reload, so the QR code the phone scanned stays valid.
    """

    def __init__(self, *, ttl_s: float, clock: Callable[[], float] = time.monotonic) -> None:
        self._ttl, self._now = ttl_s, clock
        self._secrets: dict[str, tuple[str, float]] = {}

    def secret(self, session: str) -> str:
        now = self._now()
        for key, (_, since) in list(self._secrets.items()):
            if now - since > self._ttl:
                del self._secrets[key]
        found = self._secrets.setdefault(session, (new_secret(), now))
        return found[0]

    def forget(self, session: str) -> None:
        with contextlib.suppress(KeyError):
            del self._secrets[session]
