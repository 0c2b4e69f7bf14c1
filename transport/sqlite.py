"""Opening a service's SQLite store, and the one way to make a commit survive a power cut.

Both services keep their state in SQLite in WAL mode: embedded, no server to run, never
corrupt after a power cut. Routine commits run with ``synchronous=NORMAL`` (a power cut may
lose the last second, never the file); a commit that someone else will act on (an event
before its receipt, a directive sequence number) goes through :func:`durable`, which
fsyncs it. Keeping the fsync (about 1 ms) to those commits keeps it off the fan-out path.
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterator
from pathlib import Path


def open_store(path: Path, schema: str) -> sqlite3.Connection:
    """Open (creating folder and tables if missing) a WAL database in autocommit mode;
    each ``with connection:`` block is then one transaction."""
    path.parent.mkdir(parents=True, exist_ok=True)
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=NORMAL")
    db.executescript(schema)
    return db


@contextlib.contextmanager
def durable(db: sqlite3.Connection) -> Iterator[None]:
    """One transaction whose commit is fsynced before the block is left."""
    db.execute("PRAGMA synchronous=FULL")
    try:
        with db:
            yield
    finally:
        db.execute("PRAGMA synchronous=NORMAL")
