"""The district service's record (SQLite, WAL): the latest of each school, so a restarted
service shows the last known state (and its age) before the first message arrives."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

from transport.sqlite import open_store

_SCHEMA = """
CREATE TABLE IF NOT EXISTS schools (
    site TEXT PRIMARY KEY, summary BLOB, summary_at REAL, hub_online INTEGER, hub_at REAL,
    bridge_up INTEGER, bridge_at REAL, last_contact REAL
);
CREATE TABLE IF NOT EXISTS history (
    id INTEGER PRIMARY KEY AUTOINCREMENT, site TEXT NOT NULL, received_at REAL NOT NULL,
    school_time REAL NOT NULL, summary_seq INTEGER NOT NULL, line TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS history_by_site ON history (site, id);
"""

COLUMNS = ("summary", "summary_at", "hub_online", "hub_at", "bridge_up", "bridge_at")


class DistrictStore:
    def __init__(self, path: Path) -> None:
        self._db: sqlite3.Connection = open_store(path, _SCHEMA)

    def close(self) -> None:
        self._db.close()

    def save(self, site: str, *, at: float, **values: Any) -> None:
        """Set some of a school's columns (see :data:`COLUMNS`) and its last contact."""
        unknown = set(values) - set(COLUMNS)
        if unknown:
            raise ValueError(f"no such columns: {sorted(unknown)}")
        names = [*values, "last_contact"]
        marks = ", ".join("?" * (len(names) + 1))
        updates = ", ".join(f"{n} = excluded.{n}" for n in names)
        with self._db:  # NORMAL: a power cut loses at most the last second, re-sent retained
            self._db.execute(
                f"INSERT INTO schools (site, {', '.join(names)}) VALUES ({marks}) "  # noqa: S608
                f"ON CONFLICT(site) DO UPDATE SET {updates}",
                (site, *values.values(), at),
            )

    def schools(self) -> dict[str, dict[str, Any]]:
        cursor = self._db.execute("SELECT * FROM schools")
        names = [column[0] for column in cursor.description]
        return {row[0]: dict(zip(names, row, strict=True)) for row in cursor}

    def add_history(
        self, site: str, lines: list[str], *, at: float, school_time: float, seq: int
    ) -> None:
        with self._db:
            self._db.executemany(
                "INSERT INTO history (site, received_at, school_time, summary_seq, line) "
                "VALUES (?, ?, ?, ?, ?)",
                [(site, at, school_time, seq, line) for line in lines],
            )

    def history(self, site: str, *, limit: int = 200) -> list[dict[str, Any]]:
        """A school's timeline, newest first."""
        cursor = self._db.execute(
            "SELECT received_at, school_time, summary_seq, line FROM history WHERE site = ? "
            "ORDER BY id DESC LIMIT ?",
            (site, limit),
        )
        names = [column[0] for column in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor]
