"""The effective-directive rule, shared by hub and device so both compute the same answer.

Directives are retained per scope (the site, a building, a room). A room's effective
directive is the newest (highest ``seq``) among the scopes that cover it. So a room-level
release of a site Lockdown works, and a later site-wide directive supersedes it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum

from protocol.messages import Directive
from protocol.topics import ScopeKind

ScopeKey = tuple[ScopeKind, str]


class Offer(Enum):
    """What happened to a directive offered to a :class:`DirectiveBook`."""

    APPLIED = "applied"
    DUPLICATE = "duplicate"
    """The same seq again: a retained message re-delivered on reconnect. Harmless."""
    STALE = "stale"
    """An older seq than this scope already has: a replay, or a late retained message."""


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

    def effective(self, *, room: str, building: str) -> Directive | None:
        """The newest directive among the site, the room's building, and the room."""
        candidates = (
            self.by_scope.get((ScopeKind.SITE, "")),
            self.by_scope.get((ScopeKind.BUILDING, building)),
            self.by_scope.get((ScopeKind.ROOM, room)),
        )
        present = [d for d in candidates if d is not None]
        return max(present, key=lambda d: d.seq, default=None)

    @property
    def latest_seq(self) -> int:
        return max((d.seq for d in self.by_scope.values()), default=0)
