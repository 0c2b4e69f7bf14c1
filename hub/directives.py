"""The hub's directives: checked, numbered, signed, recorded and published, one per scope.

Everything here is recovered from the store after a restart. MQTT is not known here: the
hub injects the function that publishes a directive. The rooms come from
:class:`hub.presence.Presence`, which also says which displays were online at each issue.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from hub.bus import Bus, Change
from hub.errors import Conflict, Invalid, NotFound
from hub.presence import Presence
from hub.store import HubStore
from protocol.inventory import Room
from protocol.messages import Directive, MessageError
from protocol.rules import RANK, DirectiveBook, Offer, lockdown_blocks
from protocol.signing import sign_directive
from protocol.srp import Action, Vocabulary
from protocol.topics import InvalidName, ScopeKind

log = logging.getLogger(__name__)

RECENT = 64
"""Directives kept at hand by number: a fan-out brings one ack per display."""
HISTORY_BOOKS = 512
"""Books kept for reports (effective_after) before the cache starts over."""


@dataclass(frozen=True, kw_only=True)
class DirectiveRequest:
    action: Action
    scope: ScopeKind = ScopeKind.SITE
    target: str = ""
    drill: bool | None = None
    """None: decided by the hub (an All clear follows what it ends; anything else is real)."""
    location: str | None = None
    hazard: str | None = None
    strategy: str | None = None
    note: str | None = None


class Directives:
    def __init__(
        self,
        *,
        presence: Presence,
        store: HubStore,
        signing_key: Ed25519PrivateKey,
        publish_directive: Callable[[Directive], None],
        vocabulary: Vocabulary,
        bus: Bus,
        clock: Callable[[], float],
    ) -> None:
        self.vocabulary = vocabulary
        self._presence, self._store, self._key = presence, store, signing_key
        self._publish, self._bus, self._now = publish_directive, bus, clock
        self._book = DirectiveBook()
        for directive in store.latest_per_scope():
            self._book.offer(directive)
        self._recent: dict[int, Directive] = {}
        self._history: dict[int, DirectiveBook] = {}

    @property
    def current(self) -> list[Directive]:
        """The directive in force in each scope, oldest first."""
        return sorted(self._book.by_scope.values(), key=lambda d: d.seq)

    @property
    def latest_seq(self) -> int:
        return self._book.latest_seq

    def effective(self, room: Room) -> Directive | None:
        return self._book.effective(room=room.id, building=room.building)

    def issue(self, request: DirectiveRequest, *, user: str) -> Directive:
        """Validate, number, sign, record and publish one directive."""
        return self._sign_and_publish(self.validate(request, user=user), user)

    def validate(self, request: DirectiveRequest, *, user: str) -> Directive:
        """Everything the hub checks before issuing, as an unsigned, unnumbered directive:
        the console's confirmation step shows exactly what would be issued, or why not."""
        self._check_scope(request)
        if request.action is Action.RELEASE:
            raise Invalid("release a Lockdown with release(room), one room at a time")
        current = self._book.by_scope.get((request.scope, request.target))
        if lockdown_blocks(current, request.action):
            assert current is not None
            where = "the site" if request.scope is ScopeKind.SITE else request.target
            raise Conflict(
                f"{where} is in Lockdown (#{current.seq}). Lockdown is released room by room "
                "(release) or ended by the All clear; a "
                f"{self.vocabulary[request.action].term} would silently replace it."
            )
        strategy = request.strategy
        if request.action is Action.SHELTER and request.hazard and not strategy:
            strategy = self.vocabulary.shelter_strategies.get(request.hazard.lower())
        drill = self._drill_flag(request)
        checked = dataclasses.replace(request, strategy=strategy, drill=drill)
        try:
            return Directive(
                seq=self._book.latest_seq + 1,  # a placeholder: the store numbers it
                issued_at=self._now(),
                issued_by=user,
                **{f.name: getattr(checked, f.name) for f in dataclasses.fields(checked)},
            )
        except (MessageError, InvalidName) as error:
            raise Invalid(str(error)) from None

    def _drill_flag(self, request: DirectiveRequest) -> bool:
        """An All clear is a drill exactly when what it ends is: a drill must never end a
        real directive, nor a real All clear quietly end a drill (its record says DRILL)."""
        if request.action is not Action.ALL_CLEAR:
            return bool(request.drill)
        ending = {d.drill for d in self._in_force(request) if d.action in RANK}
        if len(ending) > 1:
            raise Conflict(
                "drill and real directives are both in force here: end the real "
                "ones and the drill separately (by building or room)"
            )
        derived = ending.pop() if ending else bool(request.drill)
        if request.drill is not None and request.drill != derived:
            kind = "a drill" if derived else "real directives"
            raise Conflict(f"{kind} in force here: this All clear must say drill={derived}")
        return derived

    def _in_force(self, request: DirectiveRequest) -> list[Directive]:
        probe = Directive(
            seq=1,
            issued_at=0,
            scope=request.scope,
            target=request.target,
            action=Action.HOLD,
            drill=False,
            issued_by="-",
        )
        return [d for room in self.rooms_in(probe) if (d := self.effective(room)) is not None]

    def release(self, room_id: str, *, user: str) -> Directive:
        """Release one room from Lockdown: never a broadcast (SRP)."""
        current = self.effective(self._presence.room(room_id))
        if current is None or current.action is not Action.LOCKDOWN:
            state = "no directive" if current is None else current.action.value
            raise Conflict(f"room {room_id} is not in Lockdown (it has {state})")
        release = Directive(
            seq=1,  # numbered, dated and signed with every other directive
            issued_at=self._now(),
            issued_by=user,
            scope=ScopeKind.ROOM,
            target=room_id,
            action=Action.RELEASE,
            drill=current.drill,
        )
        return self._sign_and_publish(release, user)

    def _check_scope(self, request: DirectiveRequest) -> None:
        if request.scope is ScopeKind.ROOM:
            self._presence.room(request.target)
        elif (
            request.scope is ScopeKind.BUILDING
            and request.target not in self._presence.inventory.buildings
        ):
            raise NotFound(f"unknown building {request.target!r}; see the site inventory")

    def _sign_and_publish(self, checked: Directive, user: str) -> Directive:
        numbered = dataclasses.replace(checked, seq=self._store.next_seq(), issued_at=self._now())
        directive = sign_directive(numbered, self._key)
        self._store.add_directive(directive)
        self._store.audit(
            at=directive.issued_at,
            user=user,
            action=f"issue {directive.action}",
            detail=self.describe(directive),
        )
        self._book.offer(directive)
        self._remember(directive)
        self._publish(directive)
        log.warning("DIRECTIVE %s", self.describe(directive))
        self._bus.publish(Change.DIRECTIVE, directive=self.describe(directive))
        # After the publish, so the fan-out never waits on it.
        self._store.save_presence(directive.seq, self._presence.roll_call())
        return directive

    def describe(self, directive: Directive) -> dict[str, Any]:
        """The directive as JSON-able fields, with its term in the site's words."""
        wording = self.vocabulary[directive.action]
        body = {f.name: getattr(directive, f.name) for f in dataclasses.fields(directive)}
        body.pop("sig")
        return body | {
            "term": wording.term,
            "scope": directive.scope.value,
            "action": directive.action.value,
        }

    def adopt(self, directive: Directive) -> None:
        """A directive of ours found on the broker that the store does not have (a hub
        restored from an older backup): keep numbering above it, and show it as current."""
        if self._store.raise_seq(directive.seq):
            log.error(
                "the store was behind the broker (seq %d): numbering continues above it; "
                "was the hub's database restored from a backup?",
                directive.seq,
            )
        if self._book.offer(directive) is Offer.APPLIED:
            self._store.add_directive(directive)
            self._bus.publish(Change.DIRECTIVE, directive=self.describe(directive))

    def issued(self, seq: int) -> Directive | None:
        """The directive numbered ``seq``, if this hub issued (or adopted) it."""
        directive = self._recent.get(seq)
        if directive is None:
            directive = self._store.directive(seq) if seq > 0 else None
            if directive is not None:
                self._remember(directive)
        return directive

    def _remember(self, directive: Directive) -> None:
        self._recent[directive.seq] = directive
        if len(self._recent) > RECENT:
            del self._recent[min(self._recent)]

    def rooms_in(self, directive: Directive) -> list[Room]:
        rooms = self._presence.inventory.rooms.values()
        if directive.scope is ScopeKind.SITE:
            return list(rooms)
        if directive.scope is ScopeKind.BUILDING:
            return [r for r in rooms if r.building == directive.target]
        return [r for r in rooms if r.id == directive.target]

    def effective_after(self, seq: int) -> DirectiveBook:
        """The per-scope book as it stood just after directive ``seq`` (for reports).

        Built forward from the nearest earlier snapshot, so a report of the last hundred
        directives reads the record once, not a hundred times.
        """
        if seq in self._history:
            return self._history[seq]
        start = max((s for s in self._history if s < seq), default=0)
        book = DirectiveBook(dict(self._history[start].by_scope) if start else {})
        for directive in self._store.directives(since_seq=start, limit=seq - start):
            book.offer(directive)
        if len(self._history) > HISTORY_BOOKS:
            self._history.clear()
        self._history[seq] = book
        return book
