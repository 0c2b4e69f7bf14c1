"""The device's durable state in SQLite (WAL): the event outbox, directives, session,
and the last panic (so a restart inside the cancel window can still cancel it).

Events stay in the outbox until the hub's receipt for their id arrives: delivery is end
to end, not "the broker got it". Panic and cancel events are committed with
``synchronous=FULL`` (an fsync) before anything else happens, so a power cut right after
the press loses nothing. Everything else (directives, the session counter) commits with
``synchronous=NORMAL``: never corrupt, and a directive lost to a power cut comes back as
the broker's retained copy; that keeps the fsync (about 1 ms, measured) off the fan-out
path. Each call is one short transaction on a local file, so the service calls it on the
event loop.
"""

from __future__ import annotations

from pathlib import Path

from protocol.codec import DecodeError, decode, encode
from protocol.messages import Directive, Event, EventKind
from transport.sqlite import durable, open_store

OUTBOX_LIMIT = 1000
"""Beyond this, the oldest routine events go; panic and cancel events are never evicted."""

_NEVER_EVICT = (EventKind.PANIC.value, EventKind.CANCEL.value)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS outbox (
    position INTEGER PRIMARY KEY AUTOINCREMENT,
    event_id TEXT UNIQUE NOT NULL,
    kind TEXT NOT NULL,
    payload BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS directives (
    scope TEXT NOT NULL,
    target TEXT NOT NULL,
    payload BLOB NOT NULL,
    PRIMARY KEY (scope, target)
);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS last_panic (
    only INTEGER PRIMARY KEY CHECK (only = 1),
    event_id TEXT NOT NULL,
    pressed_at REAL NOT NULL
);
"""


class DeviceStore:
    def __init__(self, path: Path) -> None:
        self._db = open_store(path, _SCHEMA)

    def close(self) -> None:
        self._db.close()

    def next_session(self) -> int:
        """A counter that grows on every connect, kept across restarts."""
        with self._db:
            self._db.execute(
                "INSERT INTO meta VALUES ('session', 1) "
                "ON CONFLICT(key) DO UPDATE SET value = value + 1"
            )
        row = self._db.execute("SELECT value FROM meta WHERE key = 'session'").fetchone()
        return int(row[0])

    def last_command_seq(self) -> int:
        row = self._db.execute("SELECT value FROM meta WHERE key = 'command_seq'").fetchone()
        return 0 if row is None else int(row[0])

    def accept_command_seq(self, seq: int) -> None:
        """Remember the newest command obeyed, so a replay of it (or older) is refused."""
        with self._db:
            self._db.execute(
                "INSERT INTO meta VALUES ('command_seq', ?) "
                "ON CONFLICT(key) DO UPDATE SET value = max(value, excluded.value)",
                (seq,),
            )

    def last_panic(self) -> tuple[str, float] | None:
        """The last panic that may still be cancelled: its event id and wall-clock time."""
        row = self._db.execute("SELECT event_id, pressed_at FROM last_panic").fetchone()
        return None if row is None else (str(row[0]), float(row[1]))

    def add_event(self, event: Event) -> None:
        """Commit ``event`` (fsynced); a panic also becomes the one a cancel withdraws,
        and a cancel clears it, in the same transaction."""
        with durable(self._db):
            if event.kind is EventKind.PANIC:
                self._db.execute(
                    "INSERT OR REPLACE INTO last_panic VALUES (1, ?, ?)",
                    (event.event_id, event.created_at),
                )
            elif event.kind is EventKind.CANCEL:
                self._db.execute("DELETE FROM last_panic")
            self._db.execute(
                "INSERT OR IGNORE INTO outbox (event_id, kind, payload) VALUES (?, ?, ?)",
                (event.event_id, event.kind.value, encode(event)),
            )
            self._db.execute(
                "DELETE FROM outbox WHERE position IN ("
                " SELECT position FROM outbox WHERE kind NOT IN (?, ?)"
                " ORDER BY position LIMIT max(0, (SELECT count(*) FROM outbox) - ?))",
                (*_NEVER_EVICT, OUTBOX_LIMIT),
            )

    def pending_events(self) -> list[Event]:
        """Events not yet receipted, oldest first (the order they are resent in)."""
        rows = self._db.execute("SELECT payload FROM outbox ORDER BY position").fetchall()
        return [decode(row[0], Event) for row in rows]

    def remove_event(self, event_id: str) -> bool:
        with self._db:
            cursor = self._db.execute("DELETE FROM outbox WHERE event_id = ?", (event_id,))
        return cursor.rowcount > 0

    def save_directive(self, directive: Directive, payload: bytes | None = None) -> None:
        """Keep ``directive`` as its scope's latest. ``payload``: the bytes it was decoded
        and verified from, kept as they came instead of encoded again (both decode to the
        same directive, and :meth:`load_directives` checks them again)."""
        with self._db:
            self._db.execute(
                "INSERT OR REPLACE INTO directives VALUES (?, ?, ?)",
                (directive.scope.value, directive.target, payload or encode(directive)),
            )

    def load_directives(self) -> list[Directive]:
        """Directives kept from before a restart. A corrupt row is dropped, not fatal."""
        directives = []
        for (payload,) in self._db.execute("SELECT payload FROM directives"):
            try:
                directives.append(decode(payload, Directive))
            except DecodeError:
                continue
        return directives
