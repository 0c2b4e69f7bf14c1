"""The district console's record (SQLite, WAL, ``<state-dir>/console.db``): its sessions
(only hashes of the tokens), who holds console control, and the audit log of logins,
control and every district directive sent, with the district user.

The queries are the school hub's own (hub.store_people): the same tables, the same audit
search, so the two consoles record people the same way. Kept apart from the board's
``district.db``: a busy board never waits on a login, nor the reverse.
"""

from __future__ import annotations

from pathlib import Path

from hub.store_people import CONSOLE_SCHEMA, PeopleRecords
from transport.sqlite import open_store


class ConsoleStore(PeopleRecords):
    def __init__(self, path: Path) -> None:
        self._db = open_store(path, CONSOLE_SCHEMA)

    def close(self) -> None:
        self._db.close()
