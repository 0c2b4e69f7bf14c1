"""Each console and teacher user's language: ``language`` in their users-file record.

IT sets it (``roomcast provision user add NAME --language es``, which also stamps
``language_set_at``); the user changes it from the language control on their page, and the
hub keeps that choice in its own state directory (hub.console_edits, never the site's
``users.json``) until IT sets that user's language again: the later of the two wins. No
``language`` means English, so a users file written before languages existed reads as it
did.
"""

from __future__ import annotations

from typing import Any

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
