"""The district's side of the hub's record: every district request whose signature held,
and what the school did with it, kept for good (it is the replay guard and the record).

A part of :class:`hub.store.HubStore` (its base class), on the same SQLite connection.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable

from protocol.district import DistrictRequest, RequestOutcome
from protocol.messages import MAX_TEXT
from transport.sqlite import durable

DISTRICT_SCHEMA = """
CREATE TABLE IF NOT EXISTS district_requests (
    request_id TEXT PRIMARY KEY, district TEXT NOT NULL, issued_by TEXT NOT NULL,
    issued_at REAL NOT NULL, decided_at REAL NOT NULL, action TEXT NOT NULL,
    drill INTEGER NOT NULL, seq INTEGER, reason TEXT
);
CREATE INDEX IF NOT EXISTS district_requests_by_seq ON district_requests (seq)
    WHERE seq IS NOT NULL;
"""
"""``seq`` is the directive the school issued for it; NULL with ``reason`` when refused."""


class DistrictRecords:
    _db: sqlite3.Connection

    def knows_request(self, request_id: str) -> bool:
        row = self._db.execute(
            "SELECT 1 FROM district_requests WHERE request_id = ?", (request_id,)
        ).fetchone()
        return row is not None

    def add_district_request(
        self, request: DistrictRequest, *, at: float, seq: int | None, reason: str | None
    ) -> bool:
        """Record a verified request and its outcome (fsynced: it guards replays); False
        if its id was already on record."""
        with durable(self._db):
            cursor = self._db.execute(
                "INSERT OR IGNORE INTO district_requests VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    request.request_id,
                    request.district,
                    request.issued_by,
                    request.issued_at,
                    at,
                    request.action.value,
                    int(request.drill),
                    seq,
                    reason,
                ),
            )
        return cursor.rowcount > 0

    def district_outcomes(self, *, limit: int) -> list[RequestOutcome]:
        """The latest decisions, newest first."""
        rows = self._db.execute(
            "SELECT request_id, decided_at, seq, reason FROM district_requests "
            "ORDER BY decided_at DESC, rowid DESC LIMIT ?",
            (limit,),
        )
        return [
            RequestOutcome(request_id=r, at=at, issued=seq is not None, seq=seq, reason=_short(why))
            for r, at, seq, why in rows
        ]

    def requests_of(self, seqs: Iterable[int]) -> dict[int, str]:
        """Directive seq -> the district request it was issued for (only those that were)."""
        wanted = sorted(set(seqs))
        if not wanted:
            return {}
        marks = ",".join("?" * len(wanted))
        rows = self._db.execute(
            f"SELECT seq, request_id FROM district_requests WHERE seq IN ({marks})",  # noqa: S608
            wanted,
        )
        return {int(seq): str(request_id) for seq, request_id in rows}

    def next_summary_seq(self) -> int:
        """Each summary's number: strictly increasing across restarts."""
        with durable(self._db):
            self._db.execute(
                "INSERT INTO meta VALUES ('summary_seq', 1) "
                "ON CONFLICT(key) DO UPDATE SET value = value + 1"
            )
            row = self._db.execute("SELECT value FROM meta WHERE key = 'summary_seq'").fetchone()
        return int(row[0])


def _short(reason: str | None) -> str | None:
    """A reason as a summary may carry it: one line of at most MAX_TEXT characters."""
    if reason is None:
        return None
    line = "".join(c if c.isprintable() else " " for c in reason)
    return line if len(line) <= MAX_TEXT else line[: MAX_TEXT - 1] + "\u2026"
