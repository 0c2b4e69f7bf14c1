"""The console's own changes to accounts, kept in the hub's state directory, never the site's.

The shipped unit keeps the site directory read-only to the hub (``ReadOnlyPaths=``), so
``users.json`` stays IT's: provisioning writes it, the hub only reads it. What the console
changes lives here instead, in ``console-accounts.db`` beside the hub's store (as the
console's second-factor enrolments live in ``second-factor.db``), and the hub's view of
users (:class:`hub.accounts.Users`) lays it over ``users.json``:

- ``teachers``: a teacher an admin added on **Teachers**; a name that ``users.json`` also
  has is hidden by it (IT's file wins), and the console refuses to add one;
- ``links``: a one-time enrolment link made (or withdrawn, ``digest = ''``) in the console;
- ``languages``: a user's own choice from the language control.

A link or language row records in ``basis`` what the account looked like when it was made
(hub.accounts): once IT changes that (a new link, a revoke, a new language), the row no
longer applies and is dropped, so IT's later change always wins.

It holds password hashes and link digests, so it is created 0600. One connection, used
from the event loop and from the login's worker thread, so every use holds a lock.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

FILE_NAME = "console-accounts.db"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS teachers (
    user TEXT PRIMARY KEY, name TEXT NOT NULL, rooms TEXT NOT NULL, scrypt TEXT NOT NULL,
    epoch TEXT NOT NULL, added_by TEXT NOT NULL, added_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS links (
    user TEXT PRIMARY KEY, digest TEXT NOT NULL, expires_at REAL NOT NULL,
    basis TEXT NOT NULL, made_by TEXT NOT NULL, made_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS languages (
    user TEXT PRIMARY KEY, language TEXT NOT NULL, basis TEXT NOT NULL, chosen_at REAL NOT NULL
);
"""


@dataclass(frozen=True)
class ConsoleTeacher:
    user: str
    name: str
    rooms: frozenset[str]
    scrypt: dict[str, Any]
    """An unknowable password's hash: a console teacher signs in by their link only."""
    epoch: str
    """Their second-factor epoch; a revoke draws a new one (as ``staff revoke`` does)."""
    added_by: str
    added_at: float


@dataclass(frozen=True)
class ConsoleLink:
    digest: str
    """SHA-256 of the token; empty when the console withdrew the pending link."""
    expires_at: float
    basis: str


@dataclass(frozen=True)
class LanguageChoice:
    language: str
    basis: str
    chosen_at: float


@dataclass(frozen=True)
class Edits:
    teachers: dict[str, ConsoleTeacher]
    links: dict[str, ConsoleLink]
    languages: dict[str, LanguageChoice]


class ConsoleEdits:
    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600))
        path.chmod(0o600)
        self.path = path
        self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.executescript(_SCHEMA)
        self._lock = threading.Lock()
        self._writes = 0

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def version(self) -> tuple[int, int]:
        """Changes whenever anything here changed, on this connection or another one."""
        with self._lock:
            (data_version,) = self._db.execute("PRAGMA data_version").fetchone()
            return int(data_version), self._writes

    def _write(self, *statements: tuple[str, tuple[Any, ...]]) -> int:
        """Run ``statements`` as one transaction; the rows the first one changed."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")  # autocommit mode: the transaction is ours
            try:
                changed = [self._db.execute(sql, args).rowcount for sql, args in statements]
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")
            self._writes += 1
        return changed[0]

    def snapshot(self) -> Edits:
        with self._lock:
            teachers = {
                row[0]: ConsoleTeacher(
                    user=row[0],
                    name=row[1],
                    rooms=frozenset(json.loads(row[2])),
                    scrypt=json.loads(row[3]),
                    epoch=row[4],
                    added_by=row[5],
                    added_at=row[6],
                )
                for row in self._db.execute("SELECT * FROM teachers")
            }
            links = {
                user: ConsoleLink(digest=digest, expires_at=expires, basis=basis)
                for user, digest, expires, basis in self._db.execute(
                    "SELECT user, digest, expires_at, basis FROM links"
                )
            }
            languages = {
                user: LanguageChoice(language=language, basis=basis, chosen_at=at)
                for user, language, basis, at in self._db.execute("SELECT * FROM languages")
            }
        return Edits(teachers=teachers, links=links, languages=languages)

    def add_teacher(self, teacher: ConsoleTeacher, link: ConsoleLink) -> bool:
        """Add a teacher with their first link, at once; False if the console has the name."""
        try:
            self._write(
                (
                    "INSERT INTO teachers VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (
                        teacher.user,
                        teacher.name,
                        json.dumps(sorted(teacher.rooms)),
                        json.dumps(teacher.scrypt, sort_keys=True),
                        teacher.epoch,
                        teacher.added_by,
                        teacher.added_at,
                    ),
                ),
                _link_row(teacher.user, link, by=teacher.added_by, at=teacher.added_at),
            )
        except sqlite3.IntegrityError:
            return False
        return True

    def save_link(self, user: str, link: ConsoleLink, *, by: str, at: float) -> None:
        self._write(_link_row(user, link, by=by, at=at))

    def save_language(self, user: str, choice: LanguageChoice) -> None:
        self._write(
            (
                "INSERT OR REPLACE INTO languages VALUES (?, ?, ?, ?)",
                (user, choice.language, choice.basis, choice.chosen_at),
            )
        )

    def new_epoch(self, user: str, epoch: str) -> None:
        """A console teacher's revoke: their sessions, link and second factor no longer count."""
        self._write(
            ("UPDATE teachers SET epoch = ? WHERE user = ?", (epoch, user)),
            ("DELETE FROM links WHERE user = ?", (user,)),
        )

    def remove_teacher(self, user: str) -> bool:
        """Remove a console teacher with their link and language; False if there was none."""
        removed = self._write(
            ("DELETE FROM teachers WHERE user = ?", (user,)),
            ("DELETE FROM links WHERE user = ?", (user,)),
            ("DELETE FROM languages WHERE user = ?", (user,)),
        )
        return removed > 0

    def drop_stale(self, *, links: list[str], languages: list[str]) -> None:
        """Forget rows that IT's later change to ``users.json`` overrode."""
        if links or languages:
            self._write(
                *[("DELETE FROM links WHERE user = ?", (user,)) for user in links],
                *[("DELETE FROM languages WHERE user = ?", (user,)) for user in languages],
            )


def _link_row(user: str, link: ConsoleLink, *, by: str, at: float) -> tuple[str, tuple[Any, ...]]:
    return (
        "INSERT OR REPLACE INTO links VALUES (?, ?, ?, ?, ?, ?)",
        (user, link.digest, link.expires_at, link.basis, by, at),
    )
