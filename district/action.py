"""What a district asks of schools: one directive's fields, the schools named one by one
and/or a named group, and the district user who asks. Signed once per school."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from protocol.district import DistrictRequest
from protocol.signing import sign
from protocol.srp import Action
from protocol.topics import ScopeKind


@dataclass(frozen=True, kw_only=True)
class DistrictAction:
    """What the district asks of the schools it names (a directive's fields).

    ``schools`` and ``group`` add up (a group plus a school or two near it); there is no
    "every school" shortcut: a district alerts only the schools involved."""

    action: Action
    drill: bool
    schools: tuple[str, ...] = ()
    group: str | None = None
    issued_by: str
    scope: ScopeKind = ScopeKind.SITE
    target: str = ""
    details: dict[str, str | None] = field(default_factory=dict)
    """location, hazard, strategy, note: as a directive has them."""

    def signed(
        self,
        key: Ed25519PrivateKey,
        *,
        district: str,
        sites: Iterable[str],
        now: float,
        request_id: str | None = None,
    ) -> list[DistrictRequest]:
        """One signed request per school, all with one id (one district action)."""
        request_id = request_id or new_request_id(now)
        get = self.details.get
        made = []
        for site in sites:
            request = DistrictRequest(
                request_id=request_id, district=district, site=site, issued_at=now,
                action=self.action, scope=self.scope, target=self.target, drill=self.drill,
                location=get("location"), hazard=get("hazard"), strategy=get("strategy"),
                note=get("note"), issued_by=self.issued_by,
            )  # fmt: skip
            made.append(sign(request, key))
        return made


def new_request_id(now: float) -> str:
    return f"r-{int(now)}-{uuid.uuid4().hex[:8]}"
