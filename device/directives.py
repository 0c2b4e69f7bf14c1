"""The directives a room believes: signed by the hub, for its own scopes, newest first.

A directive is applied only if it decodes strictly, its Ed25519 signature holds, it
arrived on the topic of the scope it names (a room directive replayed onto the site
topic is refused), and its sequence is newer than what this scope already has. Applied
directives are kept in the device's store, so a restarted node shows the last one
(marked stale until the hub speaks) instead of a blank screen.
"""

from __future__ import annotations

from device.config import DeviceConfig
from device.refused import Refused
from device.store import DeviceStore
from protocol.codec import DecodeError, decode
from protocol.messages import Directive
from protocol.rules import DirectiveBook, Offer
from protocol.signing import BadSignature, verify_directive
from protocol.topics import Topics


class DirectiveInbox:
    """Checks, keeps and ranks the directives for one room."""

    def __init__(self, config: DeviceConfig, topics: Topics, store: DeviceStore) -> None:
        self._topics = topics
        self._store = store
        self._hub_key = config.hub_public_key
        self._room, self._building = config.room, config.building
        self._book = DirectiveBook()

    @property
    def effective(self) -> Directive | None:
        """The newest directive among the site, building and room scopes."""
        return self._book.effective(room=self._room, building=self._building)

    def offer(self, topic: str, payload: bytes) -> bool:
        """True if the directive on ``topic`` was applied (and stored).

        Raises:
            Refused: malformed, bad signature, wrong scope, or replayed/stale.
        """
        try:
            directive = decode(payload, Directive)
            verify_directive(directive, self._hub_key)
        except DecodeError as error:
            raise Refused("malformed", error.reason) from None
        except BadSignature as error:
            raise Refused("bad signature", str(error)) from None
        if self._topics.directive(directive.scope, directive.target) != topic:
            raise Refused("wrong scope", f"seq {directive.seq} is for {directive.scope}")
        outcome = self._book.offer(directive)
        if outcome is Offer.STALE:
            raise Refused("replayed or stale", f"seq {directive.seq}")
        if outcome is Offer.APPLIED:
            self._store.save_directive(directive, payload)
            return True
        return False

    def restore(self) -> None:
        """Take back the directives kept before a restart; a tampered one is dropped."""
        for directive in self._store.load_directives():
            try:
                verify_directive(directive, self._hub_key)
            except BadSignature:
                continue
            self._book.offer(directive)
