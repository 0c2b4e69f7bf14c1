"""The district console's record (SQLite, WAL, ``<state-dir>/console.db``): its sessions
(only hashes of the tokens), who holds console control, and the audit log of logins,
control and every district directive sent, with the district user.

The queries are the school hub's own (hub.store_people): the same tables, the same audit
search, so the two consoles record people the same way. Kept apart from the board's
``district.db``: a busy board never waits on a login, nor the reverse.
"""

from __future__ import annotations

from pathlib import Path

from hub.store_people import PeopleRecords
from transport.sqlite import open_store

_SCHEMA = """
CREATE TABLE IF NOT EXISTS sessions (
    token_hash TEXT PRIMARY KEY, user TEXT NOT NULL, role TEXT NOT NULL, kind TEXT NOT NULL,
    csrf TEXT NOT NULL, expires_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS audit (
    id INTEGER PRIMARY KEY AUTOINCREMENT, at REAL NOT NULL, user TEXT NOT NULL,
    action TEXT NOT NULL, detail TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS console_control (
    id INTEGER PRIMARY KEY CHECK (id = 1), session TEXT NOT NULL, user TEXT NOT NULL,
    since REAL NOT NULL
);
"""


class ConsoleStore(PeopleRecords):
    def __init__(self, path: Path) -> None:
        self._db = open_store(path, _SCHEMA)

    def close(self) -> None:
        self._db.close()
