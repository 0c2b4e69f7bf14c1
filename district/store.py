"""The district service's record (SQLite, WAL): the latest of each school, so a restarted
service shows the last known state (and its age) before the first message arrives; each
school's timeline; and every district request sent, with what each school did with it
(district.record keeps those rows up to date from the summaries)."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from transport.sqlite import open_store, transaction

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
CREATE TABLE IF NOT EXISTS requests (
    n INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL UNIQUE, sent_at REAL NOT NULL,
    issued_by TEXT NOT NULL, action TEXT NOT NULL, scope TEXT NOT NULL, target TEXT NOT NULL,
    drill INTEGER NOT NULL, details TEXT NOT NULL, group_name TEXT
);
CREATE TABLE IF NOT EXISTS request_schools (
    request_id TEXT NOT NULL, site TEXT NOT NULL, position INTEGER NOT NULL,
    sent INTEGER NOT NULL, state TEXT NOT NULL, seq INTEGER, reason TEXT,
    confirmed INTEGER NOT NULL DEFAULT 0, total INTEGER NOT NULL DEFAULT 0,
    pending_rooms TEXT NOT NULL DEFAULT '[]', in_force INTEGER NOT NULL DEFAULT 0,
    updated_at REAL, school_time REAL, summary_seq INTEGER,
    attempts INTEGER NOT NULL DEFAULT 1, last_attempt_at REAL, acked INTEGER,
    last_error TEXT, gave_up INTEGER NOT NULL DEFAULT 0, summary_epoch INTEGER,
    PRIMARY KEY (request_id, site)
);
CREATE INDEX IF NOT EXISTS request_schools_by_site ON request_schools (site, request_id);
"""

NO_ANSWER, REFUSED, ISSUED, CONFIRMED = "no answer", "refused", "issued", "confirmed"
"""What a school did with a request, as far as its summaries have said."""
NOT_SENT = "not sent: no link to the district broker"
OUTCOME_COLUMNS = (
    "state", "seq", "reason", "confirmed", "total", "pending_rooms", "in_force",
    "updated_at", "school_time", "summary_seq", "summary_epoch",
)  # fmt: skip

_ATTEMPT_COLUMNS = {
    "attempts": "INTEGER NOT NULL DEFAULT 1", "last_attempt_at": "REAL", "acked": "INTEGER",
    "last_error": "TEXT", "gave_up": "INTEGER NOT NULL DEFAULT 0",
    "summary_epoch": "INTEGER",
}  # fmt: skip
"""Each school's copies of a request sent (district.resend), and the epoch of the summary
an outcome came from, added to an older record."""

COLUMNS = ("summary", "summary_at", "hub_online", "hub_at", "bridge_up", "bridge_at")


class DistrictStore:
    def __init__(self, path: Path) -> None:
        self._db: sqlite3.Connection = open_store(path, _SCHEMA)
        have = {row[1] for row in self._db.execute("PRAGMA table_info(request_schools)")}
        with transaction(self._db):
            for name, kind in _ATTEMPT_COLUMNS.items():
                if name not in have:
                    self._db.execute(f"ALTER TABLE request_schools ADD COLUMN {name} {kind}")

    def close(self) -> None:
        self._db.close()

    def save(self, site: str, *, at: float | None, **values: Any) -> None:
        """Set some of a school's columns (see :data:`COLUMNS`) and its last contact
        (``at``; None: none yet, as when only retained copies were heard)."""
        unknown = set(values) - set(COLUMNS)
        if unknown:
            raise ValueError(f"no such columns: {sorted(unknown)}")
        names = [*values, "last_contact"]
        marks = ", ".join("?" * (len(names) + 1))
        updates = ", ".join(f"{n} = excluded.{n}" for n in names)
        # NORMAL: a power cut loses at most the last second, and retained messages come again
        with transaction(self._db):
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
        with transaction(self._db):
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

    # The record of district requests (district.record writes the outcomes).

    def add_request(self, request: dict[str, Any], schools: Iterable[str]) -> None:
        """A request about to be sent, every school named "no answer": fsynced, so a
        request that reached a school is never missing from the district's record."""
        with transaction(self._db, fsync=True):
            self._db.execute(
                "INSERT INTO requests (id, sent_at, issued_by, action, scope, target, drill, "
                "details, group_name) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    request["id"], request["sent_at"], request["issued_by"], request["action"],
                    request["scope"], request["target"], int(request["drill"]),
                    json.dumps(request["details"], sort_keys=True), request["group"],
                ),
            )  # fmt: skip
            self._db.executemany(
                "INSERT INTO request_schools (request_id, site, position, sent, state, "
                "last_attempt_at) VALUES (?, ?, ?, 1, ?, ?)",
                [
                    (request["id"], site, i, NO_ANSWER, request["sent_at"])
                    for i, site in enumerate(schools)
                ],
            )

    def mark_unsent(self, request_id: str, sites: Iterable[str]) -> None:
        with transaction(self._db):
            self._db.executemany(
                "UPDATE request_schools SET sent = 0, acked = 0, last_error = ? "
                "WHERE request_id = ? AND site = ?",
                [(NOT_SENT, request_id, site) for site in sites],
            )

    # Resending (district.resend): every copy of a request a school has not answered.

    def unanswered(self, *, since: float) -> list[dict[str, Any]]:
        """Each school's row of the requests sent since ``since`` that the school has not
        answered and that nobody gave up on, with the request's fields (to sign again)."""
        cursor = self._db.execute(
            "SELECT s.*, r.sent_at, r.issued_by, r.action, r.scope, r.target, r.drill, "
            "r.details FROM request_schools s JOIN requests r ON r.id = s.request_id "
            "WHERE s.state = ? AND s.gave_up = 0 AND r.sent_at >= ? ORDER BY r.n, s.position",
            (NO_ANSWER, since),
        )
        return _rows(cursor)

    def claim_attempt(self, request_id: str, site: str, *, attempts: int, at: float) -> bool:
        """Count one more copy of the request to ``site`` about to be sent, if the row is
        still as the caller read it (``attempts`` copies, unanswered): False if another
        sender (the service, or ``roomcast district request`` following) sent one since,
        so two processes sharing the record never both resend the same copy."""
        with transaction(self._db):
            cursor = self._db.execute(
                "UPDATE request_schools SET attempts = attempts + 1, last_attempt_at = ?, "
                "acked = NULL WHERE request_id = ? AND site = ? AND attempts = ? "
                "AND state = ? AND gave_up = 0",
                (at, request_id, site, attempts, NO_ANSWER),
            )
        return cursor.rowcount == 1

    def note_attempt(
        self, request_id: str, site: str, *, handed_over: bool, acked: bool, error: str | None
    ) -> None:
        """How the copy just claimed went: handed to the broker, acknowledged, or why not."""
        with transaction(self._db):
            self._db.execute(
                "UPDATE request_schools SET sent = MAX(sent, ?), acked = ?, last_error = ? "
                "WHERE request_id = ? AND site = ?",
                (int(handed_over), int(acked), error, request_id, site),
            )

    def give_up(self, request_id: str, site: str, *, error: str) -> bool:
        """No more copies to ``site``: it never answered (False if it did meanwhile)."""
        with transaction(self._db):
            cursor = self._db.execute(
                "UPDATE request_schools SET gave_up = 1, last_error = ? "
                "WHERE request_id = ? AND site = ? AND state = ? AND gave_up = 0",
                (error, request_id, site, NO_ANSWER),
            )
        return cursor.rowcount == 1

    def outcomes_of(self, site: str, request_ids: Iterable[str]) -> dict[str, dict[str, Any]]:
        """This school's rows for the requests named, and those whose directive was last
        seen in force (only this school's: a summary changes only its own outcomes)."""
        ids = sorted(set(request_ids))
        marks = ", ".join("?" * len(ids))
        cursor = self._db.execute(
            "SELECT * FROM request_schools WHERE site = ? AND "  # noqa: S608
            f"(in_force = 1 OR request_id IN ({marks}))",
            (site, *ids),
        )
        return {row["request_id"]: row for row in _rows(cursor)}

    def set_outcomes(
        self, site: str, outcomes: dict[str, dict[str, Any]], *, epoch: int, seq: int
    ) -> int:
        """Set some of :data:`OUTCOME_COLUMNS` of this school's row of each request, from
        the school's summary ``(epoch, seq)``, on the rows no later summary has set: the
        service and a ``district request`` following write from the same summaries, and
        the slower of two must not put back what an older one said. The rows changed."""
        changed = 0
        with transaction(self._db):
            for request_id, values in outcomes.items():
                unknown = set(values) - set(OUTCOME_COLUMNS)
                if unknown:
                    raise ValueError(f"no such columns: {sorted(unknown)}")
                values = values | {"summary_epoch": epoch, "summary_seq": seq}
                updates = ", ".join(f"{name} = ?" for name in values)
                changed += self._db.execute(
                    f"UPDATE request_schools SET {updates} "  # noqa: S608
                    "WHERE request_id = ? AND site = ? AND (summary_seq IS NULL "
                    "OR COALESCE(summary_epoch, -1) < ? "
                    "OR (COALESCE(summary_epoch, -1) = ? AND summary_seq <= ?))",
                    (*values.values(), request_id, site, epoch, epoch, seq),
                ).rowcount
        return changed

    def requests(self, *, limit: int = 50) -> list[dict[str, Any]]:
        """The requests sent, newest first, each with its schools' outcomes."""
        cursor = self._db.execute("SELECT * FROM requests ORDER BY n DESC LIMIT ?", (limit,))
        found = _rows(cursor)
        schools = self._schools_of([r["id"] for r in found])
        return [_request_view(r, schools.get(r["id"], [])) for r in found]

    def request(self, request_id: str) -> dict[str, Any] | None:
        found = _rows(self._db.execute("SELECT * FROM requests WHERE id = ?", (request_id,)))
        if not found:
            return None
        return _request_view(found[0], self._schools_of([request_id]).get(request_id, []))

    def _schools_of(self, request_ids: list[str]) -> dict[str, list[dict[str, Any]]]:
        if not request_ids:
            return {}
        marks = ", ".join("?" * len(request_ids))
        cursor = self._db.execute(
            f"SELECT * FROM request_schools WHERE request_id IN ({marks}) "  # noqa: S608
            "ORDER BY request_id, position",
            request_ids,
        )
        grouped: dict[str, list[dict[str, Any]]] = {}
        for row in _rows(cursor):
            grouped.setdefault(row["request_id"], []).append(row)
        return grouped


def _rows(cursor: sqlite3.Cursor) -> list[dict[str, Any]]:
    names = [column[0] for column in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor]


def _request_view(row: dict[str, Any], schools: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "id": row["id"],
        "sent_at": row["sent_at"],
        "issued_by": row["issued_by"],
        "action": row["action"],
        "scope": row["scope"],
        "target": row["target"],
        "drill": bool(row["drill"]),
        "details": json.loads(row["details"]),
        "group": row["group_name"],
        "schools": {s["site"]: _outcome_view(s) for s in schools},
    }


def _outcome_view(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "state": row["state"],
        "sent": bool(row["sent"]),
        "seq": row["seq"],
        "reason": row["reason"],
        "confirmed": row["confirmed"],
        "total": row["total"],
        "pending_rooms": json.loads(row["pending_rooms"]),
        "in_force": bool(row["in_force"]),
        "updated_at": row["updated_at"],
        "school_time": row["school_time"],
        "summary_seq": row["summary_seq"],
        "attempts": row["attempts"],
        "last_attempt_at": row["last_attempt_at"],
        "acked": None if row["acked"] is None else bool(row["acked"]),
        "last_error": row["last_error"],
        "gave_up": bool(row["gave_up"]),
    }
