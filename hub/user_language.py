"""Each console and teacher user's language: ``language`` in their users-file record.

IT sets it (``roomcast provision user add NAME --language es``); the user changes it from
the language control on their page, which rewrites the users file the way the console's
teacher changes do (hub.staff_file: whole, atomically, keeping its mode). No ``language``
means English, so a users file written before languages existed reads as it did.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hub.errors import Invalid, NotFound
from hub.staff_file import read_users, write_users
from protocol.accounts import CONSOLE_LANGUAGES
from transport.settings import Settings

NAMES = {"en": "English", "es": "Español"}
LANGUAGES: dict[str, str] = {code: NAMES[code] for code in CONSOLE_LANGUAGES}
"""The console's and the teacher's page's languages, each named in itself for the control."""
DEFAULT = "en"


def record_language(settings: Settings, key: str, record: dict[str, Any]) -> str:
    """A user record's ``language``; ConfigError (file and key) if it is not one we have."""
    language = record.get("language", DEFAULT)
    if language not in LANGUAGES:
        raise settings.fail(f"{key}.language", f"must be one of {', '.join(LANGUAGES)}")
    return str(language)


def set_language(path: Path, user: str, language: str) -> None:
    """Record a user's own choice in the users file (the hub's reader sees it at once)."""
    if language not in LANGUAGES:
        raise Invalid(f"language must be one of {', '.join(LANGUAGES)}")
    data = read_users(path)  # OSError (a read-only site directory) is the caller's to say
    record = data["users"].get(user)
    if record is None:
        raise NotFound(f"no user {user!r}")
    if record.get("language", DEFAULT) == language:
        return
    record["language"] = language
    write_users(path, data)
