"""The roll's side of the hub's record: every roll report, each with when and who sent it.

A part of :class:`hub.store.HubStore` (its base class), on the same SQLite connection.
Nothing is ever replaced in the table: a later report for the same room and directive
supersedes the earlier one when the roll is read (the newest wins), and both stay on
record for the debrief.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from typing import Any

from protocol.messages import Roll
from transport.sqlite import durable

ROLL_SCHEMA = """
CREATE TABLE IF NOT EXISTS roll_reports (
    id INTEGER PRIMARY KEY AUTOINCREMENT, room TEXT NOT NULL, seq INTEGER NOT NULL,
    missing INTEGER, extra INTEGER, injured INTEGER, help INTEGER NOT NULL,
    by_kind TEXT NOT NULL, by_id TEXT NOT NULL, reported_at REAL NOT NULL,
    event_id TEXT UNIQUE
);
CREATE INDEX IF NOT EXISTS roll_by_seq ON roll_reports (seq, room, id);
"""
"""``by_kind`` is ``device`` (the node's button, ``by_id`` its device id) or ``user``
(a person's report from a page, ``by_id`` the user); ``event_id`` is the device event that
carried it (NULL from a page), so a resent event is never a second report."""


class RollRecords:
    _db: sqlite3.Connection

    def add_roll(
        self,
        *,
        room: str,
        seq: int,
        roll: Roll,
        by_kind: str,
        by_id: str,
        at: float,
        event_id: str | None,
    ) -> int | None:
        """Record one report (fsynced: the device is receipted after it); its row id,
        or None when ``event_id`` was already recorded."""
        with durable(self._db):
            cursor = self._db.execute(
                "INSERT OR IGNORE INTO roll_reports (room, seq, missing, extra, injured, help, "
                "by_kind, by_id, reported_at, event_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    room,
                    seq,
                    roll.missing,
                    roll.extra,
                    roll.injured,
                    int(roll.help),
                    by_kind,
                    by_id,
                    at,
                    event_id,
                ),
            )
        return cursor.lastrowid if cursor.rowcount > 0 else None

    def rolls_for(self, seqs: Iterable[int]) -> list[dict[str, Any]]:
        """Every report for the directives ``seqs``, oldest first (newest last wins)."""
        wanted = sorted(set(seqs))
        if not wanted:
            return []
        marks = ",".join("?" * len(wanted))
        cursor = self._db.execute(
            f"SELECT * FROM roll_reports WHERE seq IN ({marks}) "  # noqa: S608 - placeholders
            "ORDER BY reported_at, id",
            wanted,
        )
        names = [column[0] for column in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor]
