"""The relay's durable queue: a cursor over what the hub recorded, an outbox, the attempts.

Nothing here is fed by a handler. The hub's record (``events`` and ``directives``, each
row fsynced before anyone is told) is the source; for each destination a *cursor* says how
far into it the relay has read (the events table's rowid, the directives' seq: both only
grow, nothing is ever deleted). One fsynced transaction copies what is past the cursor into
``relay_outbox`` and moves the cursor, so after a ``kill -9`` either both happened or
neither did, and a re-read after a crash enqueues nothing twice (``UNIQUE(destination,
key)``). A row leaves the queue only when ``delivered_at`` is set after a 2xx; every try is
a row in ``relay_attempts``. The tables live in the hub's own SQLite file, on a second
connection: every transaction is short and never spans an ``await``, so the two never
wait on each other.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from protocol.codec import decode
from protocol.messages import Directive
from transport.sqlite import durable, open_store

_SCHEMA = """
CREATE TABLE IF NOT EXISTS relay_cursor (
    destination TEXT PRIMARY KEY, event_rowid INTEGER NOT NULL, directive_seq INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS relay_outbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT, destination TEXT NOT NULL, key TEXT NOT NULL,
    body BLOB NOT NULL, queued_at REAL NOT NULL, delivered_at REAL,
    attempts INTEGER NOT NULL DEFAULT 0, UNIQUE (destination, key)
);
CREATE INDEX IF NOT EXISTS relay_pending ON relay_outbox (destination, id)
    WHERE delivered_at IS NULL;
CREATE TABLE IF NOT EXISTS relay_attempts (
    id INTEGER PRIMARY KEY AUTOINCREMENT, outbox_id INTEGER NOT NULL,
    destination TEXT NOT NULL, at REAL NOT NULL, duration_ms REAL NOT NULL,
    status INTEGER, result TEXT NOT NULL, retry_in_s REAL
);
CREATE INDEX IF NOT EXISTS relay_attempts_of ON relay_attempts (outbox_id, id);
"""

_OUTBOX = "id, destination, key, queued_at, delivered_at, attempts"

RELAYED_EVENT_KINDS = ("panic", "cancel", "staff_assist")
"""What the record holds that may leave the building (faults and roll calls stay in)."""


@dataclass(frozen=True)
class Cursor:
    event_rowid: int
    directive_seq: int


@dataclass(frozen=True)
class Pending:
    """One queued message: ``body`` is fixed when queued, so every retry sends the same."""

    outbox_id: int
    destination: str
    key: str
    body: bytes
    attempts: int


@dataclass(frozen=True)
class Attempt:
    at: float
    duration_ms: float
    status: int | None
    result: str
    retry_in_s: float | None = None


@dataclass(frozen=True)
class Outbox:
    """One outbox row as the console reads it (no body)."""

    id: int
    destination: str
    key: str
    queued_at: float
    delivered_at: float | None
    attempts: int


@dataclass(frozen=True)
class Recorded:
    """Something the hub recorded, in the order it happened on the hub's clock."""

    at: float
    event: dict[str, Any] | None = None
    directive: Directive | None = None


class RelayStore:
    def __init__(self, path: Path) -> None:
        self._db = open_store(path, _SCHEMA)
        self._db.execute("PRAGMA busy_timeout = 2000")

    def close(self) -> None:
        self._db.close()

    def cursor(self, destination: str) -> Cursor:
        """Where ``destination`` has read to; a new destination starts at the present, so
        adding one does not replay the school's whole history to it."""
        with durable(self._db):
            self._db.execute(
                "INSERT OR IGNORE INTO relay_cursor VALUES (?, "
                "(SELECT coalesce(max(rowid), 0) FROM events), "
                "(SELECT coalesce(max(seq), 0) FROM directives))",
                (destination,),
            )
            row = self._db.execute(
                "SELECT event_rowid, directive_seq FROM relay_cursor WHERE destination = ?",
                (destination,),
            ).fetchone()
        return Cursor(int(row[0]), int(row[1]))

    def recorded_after(self, cursor: Cursor, *, limit: int = 200) -> tuple[list[Recorded], Cursor]:
        """What was recorded past ``cursor`` (oldest first) and the cursor just past it."""
        marks = ",".join("?" * len(RELAYED_EVENT_KINDS))
        rows = self._db.execute(
            f"SELECT rowid, * FROM events WHERE rowid > ? AND kind IN ({marks}) "  # noqa: S608
            "ORDER BY rowid LIMIT ?",
            (cursor.event_rowid, *RELAYED_EVENT_KINDS, limit),
        )
        names = [column[0] for column in rows.description]
        events = [dict(zip(names, row, strict=True)) for row in rows]
        directives = [
            decode(payload, Directive)
            for (payload,) in self._db.execute(
                "SELECT payload FROM directives WHERE seq > ? ORDER BY seq LIMIT ?",
                (cursor.directive_seq, limit),
            )
        ]
        found = [Recorded(e["received_at"], event=e) for e in events]
        found += [Recorded(d.issued_at, directive=d) for d in directives]
        found.sort(key=lambda r: r.at)
        # A source cut at ``limit`` may have older rows than the other's newest: stop at
        # the cut, so the queue stays in the order things happened.
        cuts = [events[-1]["received_at"]] if len(events) >= limit else []
        cuts += [directives[-1].issued_at] if len(directives) >= limit else []
        if cuts:
            found = [r for r in found if r.at <= min(cuts)]
        moved = Cursor(
            max([cursor.event_rowid, *(r.event["rowid"] for r in found if r.event)]),
            max([cursor.directive_seq, *(r.directive.seq for r in found if r.directive)]),
        )
        return found, moved

    def enqueue(
        self, destination: str, messages: Iterable[tuple[str, bytes]], moved: Cursor, *, at: float
    ) -> int:
        """Queue (key, body) pairs and move the cursor: one fsynced transaction."""
        with durable(self._db):
            added = self._db.executemany(
                "INSERT OR IGNORE INTO relay_outbox (destination, key, body, queued_at) "
                "VALUES (?, ?, ?, ?)",
                [(destination, key, body, at) for key, body in messages],
            ).rowcount
            self._db.execute(
                "UPDATE relay_cursor SET event_rowid = ?, directive_seq = ? WHERE destination = ?",
                (moved.event_rowid, moved.directive_seq, destination),
            )
        return max(added, 0)

    def received_at(self, event_id: str) -> float | None:
        """When the hub recorded event ``event_id`` (a CAP cancel's reference names it)."""
        row = self._db.execute(
            "SELECT received_at FROM events WHERE event_id = ?", (event_id,)
        ).fetchone()
        return None if row is None else float(row[0])

    def next_pending(self, destination: str) -> Pending | None:
        """The oldest undelivered message: delivery is in order, one at a time."""
        row = self._db.execute(
            "SELECT id, destination, key, body, attempts FROM relay_outbox "
            "WHERE destination = ? AND delivered_at IS NULL ORDER BY id LIMIT 1",
            (destination,),
        ).fetchone()
        return None if row is None else Pending(row[0], row[1], row[2], bytes(row[3]), row[4])

    def record(self, pending: Pending, attempt: Attempt, *, delivered: bool) -> None:
        with durable(self._db):
            self._db.execute(
                "INSERT INTO relay_attempts (outbox_id, destination, at, duration_ms, status, "
                "result, retry_in_s) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    pending.outbox_id,
                    pending.destination,
                    attempt.at,
                    attempt.duration_ms,
                    attempt.status,
                    attempt.result,
                    attempt.retry_in_s,
                ),
            )
            self._db.execute(
                "UPDATE relay_outbox SET attempts = attempts + 1, delivered_at = ? WHERE id = ?",
                (attempt.at if delivered else None, pending.outbox_id),
            )

    def queued(self, destination: str) -> list[dict[str, Any]]:
        """Every message of ``destination``, oldest first (for tests and the console)."""
        cursor = self._db.execute(
            "SELECT id, key, queued_at, delivered_at, attempts, body FROM relay_outbox "
            "WHERE destination = ? ORDER BY id",
            (destination,),
        )
        return [
            {"id": i, "key": k, "queued_at": q, "delivered_at": d, "attempts": n, "body": b}
            for i, k, q, d, n, b in cursor
        ]

    def attempts(self, destination: str) -> list[dict[str, Any]]:
        cursor = self._db.execute(
            "SELECT a.outbox_id, o.key, a.at, a.duration_ms, a.status, a.result, a.retry_in_s "
            "FROM relay_attempts a JOIN relay_outbox o ON o.id = a.outbox_id "
            "WHERE a.destination = ? ORDER BY a.id",
            (destination,),
        )
        names = ["outbox_id", "key", "at", "duration_ms", "status", "result", "retry_in_s"]
        return [dict(zip(names, row, strict=True)) for row in cursor]

    # -- what the console reads (hub/relay/views.py): indexed lookups, never a scan -------

    def outbox_of(self, destination: str, keys: Sequence[str]) -> list[Outbox]:
        """The outbox rows of ``keys`` at ``destination`` (the UNIQUE index answers)."""
        if not keys:
            return []
        marks = ",".join("?" * len(keys))
        sql = f"SELECT {_OUTBOX} FROM relay_outbox WHERE destination = ? AND key IN ({marks})"  # noqa: S608
        rows = self._db.execute(sql, (destination, *keys))
        return [Outbox(*row) for row in rows]

    def head(self, destination: str) -> tuple[Outbox | None, int]:
        """The oldest undelivered row of ``destination`` and how many wait (partial index)."""
        row = self._db.execute(
            "SELECT id, destination, key, queued_at, delivered_at, attempts FROM relay_outbox "
            "WHERE destination = ? AND delivered_at IS NULL ORDER BY id LIMIT 1",
            (destination,),
        ).fetchone()
        if row is None:
            return None, 0
        (waiting,) = self._db.execute(
            "SELECT count(*) FROM relay_outbox WHERE destination = ? AND delivered_at IS NULL",
            (destination,),
        ).fetchone()
        return Outbox(*row), int(waiting)

    def last_attempts(self, outbox_ids: Sequence[int]) -> dict[int, Attempt]:
        """The newest attempt of each outbox row (index ``relay_attempts_of``)."""
        if not outbox_ids:
            return {}
        marks = ",".join("?" * len(outbox_ids))
        newest = f"SELECT max(id) FROM relay_attempts WHERE outbox_id IN ({marks})"  # noqa: S608
        sql = "SELECT outbox_id, at, duration_ms, status, result, retry_in_s FROM relay_attempts "
        grouped = f"WHERE id IN ({newest} GROUP BY outbox_id)"
        rows = self._db.execute(sql + grouped, tuple(outbox_ids))
        return {row[0]: Attempt(*row[1:]) for row in rows}

    def first_attempt_at(self, outbox_id: int) -> float | None:
        row = self._db.execute(
            "SELECT at FROM relay_attempts WHERE outbox_id = ? ORDER BY id LIMIT 1", (outbox_id,)
        ).fetchone()
        return None if row is None else float(row[0])

    def enqueue_direct(self, destination: str, key: str, body: bytes, *, at: float) -> None:
        """Queue one message that is not from the record (a test), cursor untouched."""
        with durable(self._db):
            self._db.execute(
                "INSERT OR IGNORE INTO relay_outbox (destination, key, body, queued_at) "
                "VALUES (?, ?, ?, ?)",
                (destination, key, body, at),
            )


def body_json(body: bytes) -> dict[str, Any]:
    decoded: dict[str, Any] = json.loads(body)
    return decoded
