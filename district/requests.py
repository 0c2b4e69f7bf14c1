"""A district action, from the district's side: named schools, one confirmation in plain
words, one signed request per school, and what each school did, read back in its summary.

The district never reaches a device: each school hub checks the request and issues its
own directive (hub.district_requests). So the only truth about a request is what the
school says in its summary: ``issued`` with its directive's number, or ``refused`` and
why, then its rooms confirmed of total. A school that says nothing is reported as such.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from district.board import DistrictBoard
from protocol.codec import encode
from protocol.district import DistrictRequest, DistrictSummary
from protocol.signing import sign
from protocol.srp import Action, Vocabulary
from protocol.topics import ScopeKind, Topics
from transport.link import Link


@dataclass(frozen=True, kw_only=True)
class DistrictAction:
    """What the district asks of the schools it names (a directive's fields)."""

    action: Action
    drill: bool
    schools: tuple[str, ...]
    issued_by: str
    scope: ScopeKind = ScopeKind.SITE
    target: str = ""
    details: dict[str, str | None] = field(default_factory=dict)
    """location, hazard, strategy, note: as a directive has them."""

    def requests(
        self, key: Ed25519PrivateKey, *, district: str, now: float
    ) -> list[DistrictRequest]:
        """One signed request per school, all with one id (one district action)."""
        request_id = f"r-{int(now)}-{uuid.uuid4().hex[:8]}"
        get = self.details.get
        made = []
        for site in self.schools:
            request = DistrictRequest(
                request_id=request_id, district=district, site=site, issued_at=now,
                action=self.action, scope=self.scope, target=self.target, drill=self.drill,
                location=get("location"), hazard=get("hazard"), strategy=get("strategy"),
                note=get("note"), issued_by=self.issued_by,
            )  # fmt: skip
            made.append(sign(request, key))
        return made


def confirmation(action: DistrictAction, board: DistrictBoard) -> str:
    """The words the district user confirms: drill or real first, every school by name."""
    term = Vocabulary()[action.action].term
    where = "" if action.scope is ScopeKind.SITE else f" ({action.scope.value} {action.target})"
    kind = "DRILL" if action.drill else "REAL - NOT A DRILL"
    lines = [f"{kind}: {term}{where} for {len(action.schools)} school(s):"]
    total = 0
    for site in action.schools:
        summary = board.schools[site].summary
        rooms = "rooms unknown (no summary yet)" if summary is None else f"{summary.rooms} rooms"
        total += 0 if summary is None else summary.rooms
        lines.append(f"  {site}: {rooms}")
    lines.append(f"{total} rooms in all. Every other school is left alone.")
    return "\n".join(lines)


def outcome(summary: DistrictSummary | None, request_id: str) -> dict[str, Any] | None:
    """What one school says of the request, or None while it says nothing."""
    if summary is None:
        return None
    decided = next((o for o in summary.requests if o.request_id == request_id), None)
    if decided is None:
        return None
    if not decided.issued:
        return {"issued": False, "reason": decided.reason, "confirmed": 0, "total": 0}
    shown = next((d for d in summary.directives if d.seq == decided.seq), None)
    confirmed, total = (0, 0) if shown is None else (shown.confirmed, shown.total)
    return {"issued": True, "seq": decided.seq, "confirmed": confirmed, "total": total}


async def carry_out(
    action: DistrictAction,
    *,
    link: Link,
    board: DistrictBoard,
    key: Ed25519PrivateKey,
    district: str,
    confirm: Callable[[str], bool],
    wait_s: float = 60.0,
    clock: Callable[[], float] = time.time,
) -> dict[str, Any]:
    """Confirm, send and follow one district action; the result as one JSON-able object,
    with ``ok`` only if every school issued it and every room in force confirmed it."""
    unknown = [s for s in action.schools if s not in board.schools]
    if unknown or not action.schools:
        return {"ok": False, "error": f"not schools of this district: {unknown or 'none named'}"}
    if not confirm(confirmation(action, board)):
        return {"ok": False, "cancelled": True}
    requests = action.requests(key, district=district, now=clock())
    request_id = requests[0].request_id
    unsent = [
        r.site
        for r in requests
        if not link.publish(Topics(r.site).district_request(r.request_id), encode(r))
    ]
    if unsent:
        return {"ok": False, "request_id": request_id, "error": f"link lost; not sent to {unsent}"}
    schools = await _follow(board, request_id, action.schools, wait_s)
    done = all(_confirmed(o) for o in schools.values())
    return {"ok": done, "request_id": request_id, "drill": action.drill, "schools": schools}


async def _follow(
    board: DistrictBoard, request_id: str, sites: tuple[str, ...], wait_s: float
) -> dict[str, dict[str, Any] | None]:
    changed = asyncio.Event()
    board.watchers.add(changed.set)

    def now_known() -> dict[str, dict[str, Any] | None]:
        return {s: outcome(board.schools[s].summary, request_id) for s in sites}

    def finished(found: dict[str, dict[str, Any] | None]) -> bool:
        return all(o is not None and (not o["issued"] or _confirmed(o)) for o in found.values())

    try:
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(wait_s):
                while not finished(now_known()):
                    changed.clear()
                    await changed.wait()
    finally:
        board.watchers.discard(changed.set)
    return now_known()


def _confirmed(found: dict[str, Any] | None) -> bool:
    return found is not None and bool(found["issued"]) and found["confirmed"] == found["total"]
