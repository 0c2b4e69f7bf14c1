"""The effective-directive rule, shared by hub and device so both compute the same answer.

Directives are retained per scope (the site, a building, a room); within a scope the
newest replaces the older. A room is covered by three scopes, and across them:

- an All clear ends every older directive that covers the room;
- a room-level release ends an older Lockdown (Lockdown is released room by room);
- of the directives still in force, the highest in the SRP precedence wins (Lockdown over
  Evacuate over Shelter over Secure over Hold), the newer among equals.

So a site-wide Hold issued while a room is in Lockdown does not unlock that room, a
room-level release of a site Lockdown works, and a later site-wide Lockdown overrides the
release. Within one scope the hub refuses to replace a Lockdown with anything but an
All clear (see ``lockdown_blocks``), since the broker keeps only the newest per scope.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum

from protocol.inventory import Room
from protocol.messages import Directive
from protocol.srp import PRECEDENCE, Action
from protocol.topics import ScopeKind

ScopeKey = tuple[ScopeKind, str]

RANK = {action: len(PRECEDENCE) - index for index, action in enumerate(PRECEDENCE)}
"""Lockdown 5 ... Hold 1; All clear and release are not in force, they end things."""


class Offer(Enum):
    """What happened to a directive offered to a :class:`DirectiveBook`."""

    APPLIED = "applied"
    DUPLICATE = "duplicate"
    """The same seq again: a retained message re-delivered on reconnect. Harmless."""
    STALE = "stale"
    """An older seq than this scope already has: a replay, or a late retained message."""


def _ended(directive: Directive, covering: list[Directive]) -> bool:
    for later in covering:
        if later.seq <= directive.seq:
            continue
        if later.action is Action.ALL_CLEAR:
            return True
        if later.action is Action.RELEASE and directive.action is Action.LOCKDOWN:
            return True
    return False


def combine(covering: list[Directive]) -> Directive | None:
    """The directive a room shows, from the newest directive of each scope covering it."""
    in_force = [d for d in covering if d.action in RANK and not _ended(d, covering)]
    if in_force:
        return max(in_force, key=lambda d: (RANK[d.action], d.seq))
    return max(covering, key=lambda d: d.seq, default=None)


def lockdown_blocks(current: Directive | None, action: Action) -> bool:
    """Whether issuing ``action`` at a scope whose newest directive is ``current`` would
    silently replace a Lockdown: only another Lockdown or an All clear may."""
    return (
        current is not None
        and current.action is Action.LOCKDOWN
        and action not in (Action.LOCKDOWN, Action.ALL_CLEAR)
    )


def covers(directive: Directive, room: Room) -> bool:
    """Whether ``directive`` was addressed to ``room`` (its site, building or itself)."""
    if directive.scope is ScopeKind.SITE:
        return True
    if directive.scope is ScopeKind.BUILDING:
        return directive.target == room.building
    return directive.target == room.id


@dataclass
class DirectiveBook:
    """The newest directive per scope, and the rule that picks a room's effective one."""

    by_scope: dict[ScopeKey, Directive] = field(default_factory=dict)

    def offer(self, directive: Directive) -> Offer:
        key = (directive.scope, directive.target)
        current = self.by_scope.get(key)
        if current is not None and directive.seq <= current.seq:
            if directive.seq == current.seq and directive == current:
                return Offer.DUPLICATE
            return Offer.STALE
        self.by_scope[key] = directive
        return Offer.APPLIED

    def covering(self, *, room: str, building: str) -> list[Directive]:
        """The newest directive of each scope that covers the room (at most three)."""
        candidates = (
            self.by_scope.get((ScopeKind.SITE, "")),
            self.by_scope.get((ScopeKind.BUILDING, building)),
            self.by_scope.get((ScopeKind.ROOM, room)),
        )
        return [d for d in candidates if d is not None]

    def effective(self, *, room: str, building: str) -> Directive | None:
        return combine(self.covering(room=room, building=building))

    @property
    def latest_seq(self) -> int:
        return max((d.seq for d in self.by_scope.values()), default=0)
