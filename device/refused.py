"""Why a directive or a command from the hub was not acted on."""

from __future__ import annotations


class Refused(Exception):
    """A message from the hub refused: ``reason`` is the name the service counts it under
    (``malformed``, ``bad signature``, ``replayed or stale``...), ``detail`` goes to the log."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason, self.detail = reason, detail
