"""The people side of the hub's record: console sessions, who holds console control, and
the audit trail of every action, with who and when.

A part of :class:`hub.store.HubStore` (its base class), on the same SQLite connection and
schema; kept apart so each file reads as one subject.
"""

from __future__ import annotations

import json
import sqlite3
from typing import Any

from transport.sqlite import durable

CONSOLE_SCHEMA = """
CREATE TABLE IF NOT EXISTS sessions (
    token_hash TEXT PRIMARY KEY, user TEXT NOT NULL, role TEXT NOT NULL, kind TEXT NOT NULL,
    csrf TEXT NOT NULL, expires_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS audit (
    id INTEGER PRIMARY KEY AUTOINCREMENT, at REAL NOT NULL, user TEXT NOT NULL,
    action TEXT NOT NULL, detail TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS console_control (
    id INTEGER PRIMARY KEY CHECK (id = 1), session TEXT NOT NULL, user TEXT NOT NULL,
    since REAL NOT NULL
);
"""
"""The tables PeopleRecords reads: sessions, the audit log and who holds console control;
the school hub's store and the district console's (district.console_store) both have them."""

PEOPLE_SCHEMA = """
CREATE TABLE IF NOT EXISTS used_links (
    digest TEXT PRIMARY KEY, user TEXT NOT NULL, used_at REAL NOT NULL
);
"""
"""One-time enrolment links already used (hub.teacher): each opens one session, once."""

PAGE_SOURCE = "page:"
"""The ``device_id`` of an event raised on the teacher's page is ``page:<user>``: a ``:``
is never in a device id (protocol.topics), so no device can pass for a page or cancel a
page's panic, and a page's panic is cancelled only by the same user."""


class PeopleRecords:
    _db: sqlite3.Connection

    def add_page_event(
        self, *, event_id: str, user: str, room: str, kind: str, at: float, cancels: str | None
    ) -> bool:
        """Store a panic or cancel from the teacher's page once; False for a retried POST."""
        with durable(self._db):
            cursor = self._db.execute(
                "INSERT OR IGNORE INTO events VALUES (?, ?, ?, ?, ?, ?, ?, ?, NULL, NULL)",
                (event_id, PAGE_SOURCE + user, room, kind, at, at, cancels, "teacher's page"),
            )
        return cursor.rowcount > 0

    def use_link(self, digest: str, *, user: str, at: float) -> bool:
        """Mark an enrolment link used; False if it already was."""
        with durable(self._db):
            cursor = self._db.execute(
                "INSERT OR IGNORE INTO used_links VALUES (?, ?, ?)", (digest, user, at)
            )
        return cursor.rowcount > 0

    def end_sessions_of(self, user: str) -> int:
        """End every session of ``user`` at once (a lost phone); how many there were."""
        with self._db:
            cursor = self._db.execute("DELETE FROM sessions WHERE user = ?", (user,))
        return cursor.rowcount

    def session_counts(self, *, kind: str, now: float) -> dict[str, int]:
        """User -> how many live sessions of ``kind`` they have."""
        rows = self._db.execute(
            "SELECT user, count(*) FROM sessions WHERE kind = ? AND expires_at > ? GROUP BY user",
            (kind, now),
        )
        return {user: int(count) for user, count in rows}

    def audit(self, *, at: float, user: str, action: str, detail: dict[str, Any]) -> None:
        with self._db:
            self._db.execute(
                "INSERT INTO audit (at, user, action, detail) VALUES (?, ?, ?, ?)",
                (at, user, action, json.dumps(detail, sort_keys=True)),
            )

    def audit_log(self, *, before_id: int | None = None, limit: int = 500) -> list[dict[str, Any]]:
        """One page of the audit trail, newest first; ``before_id`` continues a page."""
        return self.audit_search(before_id=before_id, limit=limit)

    def save_session(
        self, token_hash: str, *, user: str, role: str, kind: str, csrf: str, expires_at: float
    ) -> None:
        with self._db:
            self._db.execute(
                "INSERT INTO sessions VALUES (?, ?, ?, ?, ?, ?)",
                (token_hash, user, role, kind, csrf, expires_at),
            )

    def session(self, token_hash: str, *, now: float) -> dict[str, Any] | None:
        row = self._db.execute(
            "SELECT user, role, kind, csrf FROM sessions WHERE token_hash = ? AND expires_at > ?",
            (token_hash, now),
        ).fetchone()
        return (
            None if row is None else dict(zip(("user", "role", "kind", "csrf"), row, strict=True))
        )

    def extend_session(self, token_hash: str, *, expires_at: float) -> None:
        with self._db:
            self._db.execute(
                "UPDATE sessions SET expires_at = max(expires_at, ?) WHERE token_hash = ?",
                (expires_at, token_hash),
            )

    def delete_session(self, token_hash: str) -> None:
        with self._db:
            self._db.execute("DELETE FROM sessions WHERE token_hash = ?", (token_hash,))

    # -- the console: control, presence at issue, history views ---------------------------

    def control(self) -> dict[str, Any] | None:
        """The console session that holds control (UL 2572), if any."""
        row = self._db.execute("SELECT session, user, since FROM console_control").fetchone()
        return None if row is None else dict(zip(("session", "user", "since"), row, strict=True))

    def set_control(self, *, session: str, user: str, since: float) -> None:
        with self._db:
            self._db.execute(
                "INSERT OR REPLACE INTO console_control VALUES (1, ?, ?, ?)", (session, user, since)
            )

    def clear_control(self, session: str) -> bool:
        """Release control if ``session`` holds it; False if it did not."""
        with self._db:
            cursor = self._db.execute("DELETE FROM console_control WHERE session = ?", (session,))
        return cursor.rowcount > 0

    def audit_search(
        self,
        *,
        user: str = "",
        text: str = "",
        since: float | None = None,
        until: float | None = None,
        before_id: int | None = None,
        limit: int = 500,
    ) -> list[dict[str, Any]]:
        """A page of the audit log, newest first, filtered by user, words in action or
        detail, and time; each entry's ``id`` is the ``before_id`` of the next page."""
        rows = self._db.execute(
            "SELECT id, at, user, action, detail FROM audit WHERE (? = '' OR user = ?) "
            "AND (? = '' OR instr(lower(action || ' ' || detail), lower(?)) > 0) "
            "AND at >= ? AND at <= ? AND id < ? ORDER BY id DESC LIMIT ?",
            (user, user, text, text, since or 0.0, until or 1e12, before_id or 2**63 - 1, limit),
        )
        return [
            {"id": row_id, "at": at, "user": who, "action": action, "detail": json.loads(detail)}
            for row_id, at, who, action, detail in rows
        ]

    def audit_users(self) -> list[str]:
        return [user for (user,) in self._db.execute("SELECT DISTINCT user FROM audit ORDER BY 1")]
