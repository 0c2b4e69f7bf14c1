"""What the console asks of a district action: its preview (counts, warnings, the plain
words), sending it exactly as previewed, and the record of what each school did.

The confirmation page shows the preview in one HTTP request and the send comes in the
next: the page posts back the preview's ``token`` (a digest of what would be sent: the
action's fields and the schools resolved), and the send recomputes the preview and is
refused if the token differs (a school added to a group, another drill flag, ...).
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from district.board import DistrictBoard
from district.requests import DistrictAction, confirmation, outcome
from protocol.codec import encode
from protocol.messages import MessageError
from protocol.topics import Topics
from transport.link import Link


class PreviewError(ValueError):
    """An action that cannot be sent as asked: no school, an unknown one, a bad field."""


@dataclass(frozen=True)
class SchoolPreview:
    site: str
    rooms: int | None
    reachable: bool
    in_force: list[str]
    warnings: tuple[str, ...]


@dataclass(frozen=True)
class Preview:
    action: DistrictAction
    words: str
    schools: tuple[str, ...]
    rooms: int
    unknown_rooms: tuple[str, ...]
    unreachable: tuple[str, ...]
    per_school: tuple[SchoolPreview, ...]
    warnings: tuple[str, ...]
    token: str


def preview(action: DistrictAction, board: DistrictBoard) -> Preview:
    """What sending ``action`` would do, from the latest summaries the board has."""
    unknown = [s for s in action.schools if s not in board.schools]
    if unknown:
        raise PreviewError(f"not schools of this district: {', '.join(unknown)}")
    schools = tuple(dict.fromkeys(action.schools))
    if not schools:
        raise PreviewError("name at least one school (tick it, or pick a group)")
    try:  # the directive each school would issue must itself be valid
        action.requests(Ed25519PrivateKey.generate(), district="check", now=time.time())
    except MessageError as error:
        raise PreviewError(str(error)) from None
    views = {v["site"]: v for v in board.view()}
    per_school = tuple(_school(views[site]) for site in schools)
    rooms = sum(s.rooms or 0 for s in per_school)
    digest = hashlib.sha256(
        json.dumps(
            [action.action.value, action.drill, action.scope.value, action.target,
             sorted(action.details.items()), schools],
            default=str,
        ).encode()
    ).hexdigest()[:32]  # fmt: skip
    return Preview(
        action=action,
        words=confirmation(action, board),
        schools=schools,
        rooms=rooms,
        unknown_rooms=tuple(s.site for s in per_school if s.rooms is None),
        unreachable=tuple(s.site for s in per_school if not s.reachable),
        per_school=per_school,
        warnings=tuple(f"{s.site}: {w}" for s in per_school for w in s.warnings),
        token=digest,
    )


def _school(view: dict[str, Any]) -> SchoolPreview:
    summary = view["summary"]
    warnings = []
    if not view["reachable"]:
        warnings.append("unreachable now: it may not get this until its link returns")
    if summary is None:
        warnings.append("no summary yet: its rooms are not counted")
    in_force = [] if summary is None else [d["action"] for d in summary["directives"]]
    return SchoolPreview(
        site=view["site"],
        rooms=None if summary is None else summary["rooms"],
        reachable=view["reachable"],
        in_force=in_force,
        warnings=tuple(warnings),
    )


@dataclass
class Sender:
    """Sends a previewed action and keeps the record of what was sent (until the service
    stops); what each school did is read from its summaries (district.requests.outcome)."""

    link: Link
    board: DistrictBoard
    key: Ed25519PrivateKey
    district: str
    clock: Callable[[], float] = time.time
    sent: dict[str, dict[str, Any]] = field(default_factory=dict)

    def send(self, p: Preview) -> str:
        requests = p.action.requests(self.key, district=self.district, now=self.clock())
        request_id = requests[0].request_id
        handed = {
            r.site: self.link.publish(Topics(r.site).district_request(request_id), encode(r))
            for r in requests
        }
        a = p.action
        self.sent[request_id] = {
            "id": request_id, "sent_at": self.clock(), "issued_by": a.issued_by,
            "action": a.action.value, "scope": a.scope.value, "target": a.target,
            "drill": a.drill, "details": dict(a.details), "group": None, "sent": handed,
        }  # fmt: skip
        return request_id

    def requests(self, limit: int = 50) -> list[dict[str, Any]]:
        newest = sorted(self.sent.values(), key=lambda r: r["sent_at"], reverse=True)
        return [r for found in newest[:limit] if (r := self.request(found["id"])) is not None]

    def request(self, request_id: str) -> dict[str, Any] | None:
        record = self.sent.get(request_id)
        if record is None:
            return None
        schools = {}
        for site, handed in record["sent"].items():
            school = self.board.schools.get(site)
            said = outcome(None if school is None else school.summary, request_id)
            schools[site] = _state(said, sent=handed)
        return {k: v for k, v in record.items() if k != "sent"} | {"schools": schools}


def _state(said: dict[str, Any] | None, *, sent: bool) -> dict[str, Any]:
    base = {"sent": sent, "seq": None, "reason": None, "confirmed": 0, "total": 0}
    if said is None:
        return base | {"state": "no answer", "pending_rooms": [], "in_force": False}
    if not said["issued"]:
        return base | {"state": "refused", "reason": said["reason"], "pending_rooms": [],
                       "in_force": False}  # fmt: skip
    done = said["confirmed"] == said["total"]
    return base | {
        "state": "confirmed" if done else "issued", "seq": said["seq"],
        "confirmed": said["confirmed"], "total": said["total"], "pending_rooms": [],
        "in_force": True,
    }  # fmt: skip
