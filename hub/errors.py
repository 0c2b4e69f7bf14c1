"""What the hub refuses, and why, in its own words: no HTTP here.

The engine and the console control raise these; the web side (:mod:`hub.access`) alone
decides which HTTP status each kind answers with. Every message says what to do instead.
"""

from __future__ import annotations


class Refused(Exception):
    """A request the hub will not carry out as asked.

    A refusal with values in it gives them by name (``Conflict("control is held by
    %(user)s", user=...)``): it reads filled in, as always, and the console can also word
    it in the user's language, looking ``message`` up in its catalog by this English and
    filling in ``values`` (never by gluing translated pieces together)."""

    def __init__(self, message: str, **values: object) -> None:
        self.message = message
        self.values = {name: str(value) for name, value in values.items()}
        super().__init__(message % self.values if values else message)


class Invalid(Refused):
    """The request itself is wrong: a missing field, a bad value, an action not allowed."""


class NotFound(Refused):
    """It names something the hub does not know: a room, a device, a directive, an alert."""


class Conflict(Refused):
    """Right in itself, but not now: a Lockdown in force, another console in control."""


class Forbidden(Refused):
    """The caller's role may not do this."""
