"""The people side of the hub's record: console sessions, who holds console control, and
the audit trail of every action, with who and when.

A part of :class:`hub.store.HubStore` (its base class), on the same SQLite connection and
schema; kept apart so each file reads as one subject.
"""

from __future__ import annotations

import json
import sqlite3
from typing import Any


class PeopleRecords:
    _db: sqlite3.Connection

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
