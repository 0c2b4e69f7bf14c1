"""The hub's record in SQLite (WAL): every directive, event, ack and action, with who and when.

The store is the hub's memory across restarts: sequence numbers continue, current
directives are republished, alerts stay open. Each write is one short transaction on a
local file, so the service calls it on the event loop. What a device or the office is told
is stored first and fsynced (``synchronous=FULL``): events (a receipt lets the device drop
its copy), directives and the counters (a sequence number must never be reused). Acks,
presence, sessions and the audit trail commit with ``synchronous=NORMAL`` (WAL: never
corrupt; a power cut may lose the last second, which devices re-send on the next epoch);
that keeps an fsync per ack off the fan-out path.
"""

from __future__ import annotations

import json
import logging
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from hub.store_district import DISTRICT_SCHEMA, DistrictRecords
from hub.store_people import CONSOLE_SCHEMA, PEOPLE_SCHEMA, PeopleRecords
from hub.store_roll import ROLL_SCHEMA, RollRecords
from protocol.codec import decode, encode
from protocol.messages import Ack, DeviceStatus, Directive, Event
from transport.sqlite import durable, open_store

log = logging.getLogger(__name__)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS directives (
    seq INTEGER PRIMARY KEY, scope TEXT NOT NULL, target TEXT NOT NULL,
    action TEXT NOT NULL, drill INTEGER NOT NULL, issued_at REAL NOT NULL,
    issued_by TEXT NOT NULL, payload BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS acks (
    seq INTEGER NOT NULL, device_id TEXT NOT NULL, room TEXT NOT NULL,
    shown_at REAL NOT NULL, received_at REAL NOT NULL, PRIMARY KEY (seq, device_id)
);
CREATE TABLE IF NOT EXISTS events (
    event_id TEXT PRIMARY KEY, device_id TEXT NOT NULL, room TEXT NOT NULL,
    kind TEXT NOT NULL, created_at REAL NOT NULL, received_at REAL NOT NULL,
    cancels TEXT, detail TEXT, acknowledged_by TEXT, acknowledged_at REAL
);
CREATE INDEX IF NOT EXISTS events_by_kind ON events (kind, received_at);
CREATE INDEX IF NOT EXISTS events_by_cancels ON events (cancels) WHERE cancels IS NOT NULL;
CREATE TABLE IF NOT EXISTS devices (
    device_id TEXT PRIMARY KEY, room TEXT NOT NULL, online INTEGER NOT NULL,
    session INTEGER NOT NULL, firmware TEXT NOT NULL, faults TEXT NOT NULL,
    last_seen REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS directive_presence (
    seq INTEGER NOT NULL, device_id TEXT NOT NULL, room TEXT NOT NULL,
    online INTEGER NOT NULL, PRIMARY KEY (seq, device_id)
);
"""


_SEQ_SLACK = 1000
"""Numbers drawn for directives that were never stored (a crash between the two)."""

_PANICS = "WHERE p.kind = 'panic'"
_CANCELS_OF_P = (
    "FROM events c WHERE c.cancels = p.event_id AND c.device_id = p.device_id AND c.kind = 'cancel'"
)
"""A cancel counts only from the device that raised the alert: the broker's ACL makes the
device id of a message trustworthy, and nothing else about it is."""


def _rows(cursor: sqlite3.Cursor) -> Iterator[dict[str, Any]]:
    names = [column[0] for column in cursor.description]
    for row in cursor:
        yield dict(zip(names, row, strict=True))


class HubStore(PeopleRecords, RollRecords, DistrictRecords):
    def __init__(self, path: Path) -> None:
        self._db = open_store(
            path, _SCHEMA + CONSOLE_SCHEMA + ROLL_SCHEMA + PEOPLE_SCHEMA + DISTRICT_SCHEMA
        )
        self._repair_seq()

    def _repair_seq(self) -> None:
        """Undo a sequence counter raised past every directive on record.

        Only directives we signed can move the counter now; before that, an ack's unsigned
        ``seq`` did, and one forged ack of 2**63-1 made every later directive fail. Every
        number a device has ever seen is in ``directives`` (issued or adopted), so the
        counter never needs to be far above the newest one.
        """
        row = self._db.execute(
            "SELECT (SELECT value FROM meta WHERE key = 'seq'), "
            "(SELECT coalesce(max(seq), 0) FROM directives)"
        ).fetchone()
        counter, newest = row
        if counter is not None and counter > newest + _SEQ_SLACK:
            log.error(
                "directive counter %d is far above the newest directive (%d): it was raised "
                "by something other than a directive (a forged ack?); numbering from %d",
                counter,
                newest,
                newest + 1,
            )
            with durable(self._db):
                self._db.execute("UPDATE meta SET value = ? WHERE key = 'seq'", (newest,))

    def close(self) -> None:
        self._db.close()

    def _bump(self, key: str) -> int:
        with durable(self._db):
            self._db.execute(
                "INSERT INTO meta VALUES (?, 1) ON CONFLICT(key) DO UPDATE SET value = value + 1",
                (key,),
            )
            row = self._db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return int(row[0])

    def next_epoch(self) -> int:
        return self._bump("epoch")

    def next_command_seq(self) -> int:
        """Commands have their own strictly increasing counter (devices refuse replays)."""
        return self._bump("command_seq")

    def next_seq(self) -> int:
        """Hub-wide, strictly increasing, never reused, across restarts."""
        return self._bump("seq")

    def raise_seq(self, at_least: int) -> bool:
        """Never number below a seq already out in the world (a restored database);
        True if the counter had to move."""
        with durable(self._db):
            before = self._db.execute("SELECT value FROM meta WHERE key = 'seq'").fetchone()
            self._db.execute(
                "INSERT INTO meta VALUES ('seq', ?) "
                "ON CONFLICT(key) DO UPDATE SET value = max(value, excluded.value)",
                (at_least,),
            )
        return before is None or int(before[0]) < at_least

    def add_directive(self, directive: Directive) -> None:
        with durable(self._db):
            self._db.execute(
                "INSERT INTO directives VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    directive.seq,
                    directive.scope.value,
                    directive.target,
                    directive.action.value,
                    int(directive.drill),
                    directive.issued_at,
                    directive.issued_by,
                    encode(directive),
                ),
            )

    def directives(self, *, since_seq: int = 0, limit: int = 1000) -> list[Directive]:
        rows = self._db.execute(
            "SELECT payload FROM directives WHERE seq > ? ORDER BY seq LIMIT ?",
            (since_seq, limit),
        )
        return [decode(payload, Directive) for (payload,) in rows]

    def latest_per_scope(self) -> list[Directive]:
        rows = self._db.execute(
            "SELECT payload FROM directives WHERE seq IN "
            "(SELECT max(seq) FROM directives GROUP BY scope, target)"
        )
        return [decode(payload, Directive) for (payload,) in rows]

    def add_ack(self, ack: Ack, *, room: str, received_at: float) -> bool:
        """Record the first ack of a seq by a device; False if it was already known."""
        with self._db:
            cursor = self._db.execute(
                "INSERT OR IGNORE INTO acks VALUES (?, ?, ?, ?, ?)",
                (ack.seq, ack.device_id, room, ack.shown_at, received_at),
            )
        return cursor.rowcount > 0

    def acks_for(self, seq: int) -> dict[str, float]:
        """Device id -> when the hub received its ack of ``seq``."""
        rows = self._db.execute("SELECT device_id, received_at FROM acks WHERE seq = ?", (seq,))
        return dict(rows)

    def add_event(self, event: Event, *, room: str, received_at: float) -> bool:
        """Store an event once; False for a duplicate (the device resent it)."""
        with durable(self._db):
            cursor = self._db.execute(
                "INSERT OR IGNORE INTO events VALUES (?, ?, ?, ?, ?, ?, ?, ?, NULL, NULL)",
                (
                    event.event_id,
                    event.device_id,
                    room,
                    event.kind.value,
                    event.created_at,
                    received_at,
                    event.cancels,
                    event.detail,
                ),
            )
        return cursor.rowcount > 0

    def events(self, *, kinds: tuple[str, ...], limit: int = 500) -> Iterator[dict[str, Any]]:
        """The newest events of ``kinds``: a history window, never what the office acts on
        (that is :meth:`open_panics` and :meth:`latest_per_room`)."""
        marks = ",".join("?" * len(kinds))
        cursor = self._db.execute(
            f"SELECT * FROM events WHERE kind IN ({marks}) "  # noqa: S608 - placeholders only
            "ORDER BY received_at DESC LIMIT ?",
            (*kinds, limit),
        )
        yield from _rows(cursor)

    def event_owner(self, event_id: str) -> tuple[str, str] | None:
        """(device id, kind) of a stored event, or None."""
        row = self._db.execute(
            "SELECT device_id, kind FROM events WHERE event_id = ?", (event_id,)
        ).fetchone()
        return None if row is None else (row[0], row[1])

    def open_panics(self) -> list[dict[str, Any]]:
        """Every panic neither cancelled by its own device nor acknowledged, however old,
        newest first. A query of state: no window of recent rows can hide one."""
        cursor = self._db.execute(
            f"SELECT p.*, NULL AS cancelled_at FROM events p {_PANICS} "  # noqa: S608
            "AND p.acknowledged_by IS NULL AND NOT EXISTS "
            f"(SELECT 1 {_CANCELS_OF_P}) ORDER BY p.received_at DESC, p.event_id DESC"
        )
        return list(_rows(cursor))

    def panics(self, *, before: tuple[float, str] | None, limit: int) -> list[dict[str, Any]]:
        """One page of every panic, newest first, each with when its device cancelled it;
        ``before`` is the (received_at, event_id) of the last row of the previous page."""
        at, event_id = before if before is not None else (float("inf"), "")
        cursor = self._db.execute(
            f"SELECT p.*, (SELECT min(c.created_at) {_CANCELS_OF_P}) AS cancelled_at "  # noqa: S608
            f"FROM events p {_PANICS} AND (p.received_at < ? OR "
            "(p.received_at = ? AND (? = '' OR p.event_id < ?))) "
            "ORDER BY p.received_at DESC, p.event_id DESC LIMIT ?",
            (at, at, event_id, event_id, limit),
        )
        return list(_rows(cursor))

    def panic(self, event_id: str) -> dict[str, Any] | None:
        """One panic by its id, with when its device cancelled it; None if no such panic."""
        cursor = self._db.execute(
            f"SELECT p.*, (SELECT min(c.created_at) {_CANCELS_OF_P}) AS cancelled_at "  # noqa: S608
            f"FROM events p {_PANICS} AND p.event_id = ?",
            (event_id,),
        )
        return next(_rows(cursor), None)

    def count_events(self, kind: str) -> int:
        row = self._db.execute("SELECT count(*) FROM events WHERE kind = ?", (kind,)).fetchone()
        return int(row[0])

    def latest_per_room(self, *, kinds: tuple[str, ...]) -> dict[str, dict[str, Any]]:
        """Each room's newest event of ``kinds`` (the board's staff reports), however old."""
        marks = ",".join("?" * len(kinds))
        cursor = self._db.execute(
            "SELECT * FROM (SELECT *, row_number() OVER (PARTITION BY room "  # noqa: S608
            f"ORDER BY received_at DESC) AS newest FROM events WHERE kind IN ({marks})) "
            "WHERE newest = 1",
            kinds,
        )
        rows = (row for row in _rows(cursor) if row.pop("newest") == 1)
        return {row["room"]: row for row in rows}

    def acknowledge_event(self, event_id: str, *, user: str, at: float) -> bool:
        with self._db:
            cursor = self._db.execute(
                "UPDATE events SET acknowledged_by = ?, acknowledged_at = ? "
                "WHERE event_id = ? AND acknowledged_by IS NULL",
                (user, at, event_id),
            )
        return cursor.rowcount > 0

    def save_device(self, status: DeviceStatus, *, room: str, seen_at: float) -> None:
        with self._db:
            self._db.execute(
                "INSERT OR REPLACE INTO devices VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    status.device_id,
                    room,
                    int(status.online),
                    status.session,
                    status.firmware,
                    json.dumps(status.faults),
                    seen_at,
                ),
            )

    def save_presence(self, seq: int, rows: list[tuple[str, str, bool]]) -> None:
        """Which displays were online when directive ``seq`` was issued (for the debrief)."""
        with self._db:
            self._db.executemany(
                "INSERT OR IGNORE INTO directive_presence VALUES (?, ?, ?, ?)",
                [(seq, device, room, int(online)) for device, room, online in rows],
            )

    def presence(self, seq: int) -> dict[str, bool]:
        """Device id -> online when ``seq`` was issued; empty if it was not recorded."""
        rows = self._db.execute(
            "SELECT device_id, online FROM directive_presence WHERE seq = ?", (seq,)
        )
        return {device: bool(online) for device, online in rows}

    def directive(self, seq: int) -> Directive | None:
        row = self._db.execute("SELECT payload FROM directives WHERE seq = ?", (seq,)).fetchone()
        return None if row is None else decode(row[0], Directive)

    def last_acked(self) -> dict[str, int]:
        """Device id -> the newest directive seq it has confirmed on its screen."""
        return dict(self._db.execute("SELECT device_id, max(seq) FROM acks GROUP BY device_id"))

    def ack_history(self, *, limit: int = 3000) -> list[tuple[str, int, float]]:
        """(device id, seq, seconds from issue to ack), newest directives first."""
        rows = self._db.execute(
            "SELECT a.device_id, a.seq, a.received_at - d.issued_at FROM acks a "
            "JOIN directives d ON d.seq = a.seq ORDER BY a.seq DESC LIMIT ?",
            (limit,),
        )
        return [(device, seq, latency) for device, seq, latency in rows]

    def events_between(
        self, *, kinds: tuple[str, ...], since: float, until: float
    ) -> list[dict[str, Any]]:
        """Events of ``kinds`` received in [since, until], oldest first."""
        marks = ",".join("?" * len(kinds))
        cursor = self._db.execute(
            f"SELECT * FROM events WHERE kind IN ({marks}) "  # noqa: S608 - placeholders only
            "AND received_at BETWEEN ? AND ? ORDER BY received_at",
            (*kinds, since, until),
        )
        return list(_rows(cursor))
