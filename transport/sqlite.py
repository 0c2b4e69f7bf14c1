"""Opening a service's SQLite store, and the one way to make a commit survive a power cut.

Both services keep their state in SQLite in WAL mode: embedded, no server to run, never
corrupt after a power cut. Routine commits run with ``synchronous=NORMAL`` (a power cut may
lose the last second, never the file); a commit that someone else will act on (an event
before its receipt, a directive sequence number) goes through :func:`durable`, which
fsyncs it. Keeping the fsync (about 1 ms) to those commits keeps it off the fan-out path.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
from collections.abc import Iterator
from pathlib import Path


def open_store(path: Path, schema: str) -> sqlite3.Connection:
    """Open (creating folder and tables if missing) a WAL database in autocommit mode:
    each statement commits on its own, so several that must commit together go in
    :func:`transaction` (``with connection:`` is no transaction here).

    The file is created 0600 before SQLite opens it (its ``-wal`` and ``-shm`` take the
    same mode): a store holds session hashes, audit logs and who did what."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with contextlib.suppress(FileExistsError):
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    info = path.stat()
    if info.st_mode & 0o077 and info.st_uid == os.geteuid():
        path.chmod(0o600)  # made wider by an older version
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


@contextlib.contextmanager
def transaction(db: sqlite3.Connection, *, fsync: bool = False) -> Iterator[None]:
    """The statements of the block commit together or not at all (``BEGIN IMMEDIATE``:
    the write lock is taken first, so two processes sharing the file serialise here
    rather than fail half way); with ``fsync`` the commit is on disk when it returns."""
    if fsync:
        db.execute("PRAGMA synchronous=FULL")
    try:
        db.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")
    finally:
        if fsync:
            db.execute("PRAGMA synchronous=NORMAL")
