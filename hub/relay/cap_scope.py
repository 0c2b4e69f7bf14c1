"""CAP's ``scope``: who may see an alert, as a destination or the feed configures it."""

from __future__ import annotations

import enum
from dataclasses import dataclass


class CapScope(enum.Enum):
    RESTRICTED = "Restricted"
    PRIVATE = "Private"


@dataclass(frozen=True, kw_only=True)
class CapAudience:
    """Restricted to whom ``restriction`` says (the default: a school's alerts are not
    for the public), or Private to the receivers named in ``addresses``."""

    scope: CapScope = CapScope.RESTRICTED
    restriction: str = "School safety staff, law enforcement and dispatch"
    addresses: tuple[str, ...] = ()
