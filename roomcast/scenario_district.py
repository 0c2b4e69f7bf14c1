"""The district scenario, and one district directive measured room by room.

``district-secure``: a district Secure, as a DRILL (a demo must never look real), to the
first two schools; wait for every room; then a district All clear to the same two. ``ok``
only if every targeted room acknowledged both and no room of any other school changed
(its hub issued nothing and no screen of it showed a new directive).

A room's ``ack_ms`` runs from the district sending the request to that room's ack at its
hub (``hub_issued_ms``: to the school's hub issuing its own directive). The hub's report
gives each room's ack in ms after the hub issued its own directive, and the hub's
``issued_at`` and the district's send time are on the same machine's clock.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from typing import Any

from district.action import DistrictAction
from district.store import CONFIRMED, ISSUED
from hub.stats import summary
from protocol.srp import Action
from roomcast.demo_district_stack import RunningDistrict, SchoolRun
from roomcast.district_cli import run_request
from roomcast.handle import DemoError

DISTRICT_USER = "demo-safety-officer"
WAIT_S = 60.0


def send_directive(
    run: RunningDistrict,
    action: Action,
    targets: list[SchoolRun],
    *,
    drill: bool = True,
    node: str | None = None,
    after_send: Callable[[], None] | None = None,
) -> dict[str, Any]:
    """One district action to ``targets`` (as ``roomcast district request`` sends it);
    per school what it did and each room's ms from the send to its ack at its hub.
    ``after_send`` runs just after the requests are published (a node killed then)."""
    sent: dict[str, Any] = {}

    def confirm(words: str) -> bool:
        sent["words"], sent["at"] = words, time.time()
        if after_send is not None:
            threading.Timer(0.02, after_send).start()
        return True

    request = DistrictAction(
        action=action,
        drill=drill,
        schools=tuple(t.name for t in targets),
        issued_by=DISTRICT_USER,
        details={"note": "Roomcast demo"},
    )
    outcome = asyncio.run(
        run_request(run.built.layout.root, request, node=node, confirm=confirm, wait_s=WAIT_S)
    )
    schools = {
        t.name: _rooms_of(t, (outcome.get("schools") or {}).get(t.name), sent) for t in targets
    }
    return {
        "action": action.value,
        "drill": drill,
        "confirmation": sent.get("words"),
        "request_id": outcome.get("request_id"),
        # The rooms' acks at their hubs decide; the district's record (from the schools'
        # summaries) must agree, and is reported beside it.
        "ok": all(s["issued"] and s["acked"] == s["total"] > 0 for s in schools.values()),
        "district_record_ok": bool(outcome["ok"]),
        "schools": schools,
        "sent_at": sent.get("at"),
        "error": outcome.get("error"),
    }


def _rooms_of(
    school: SchoolRun, decided: dict[str, Any] | None, sent: dict[str, Any]
) -> dict[str, Any]:
    if decided is None or decided["state"] not in (ISSUED, CONFIRMED) or decided["seq"] is None:
        reason = "no answer" if decided is None else decided["reason"] or decided["state"]
        return {
            "issued": False, "reason": reason, "hub_issued_ms": None,
            "acked": 0, "total": 0, "ack_ms": summary([]),
        }  # fmt: skip
    report = school.hub.get(f"/api/directives/{decided['seq']}")
    issued_at = float(report["issued_at"])
    rooms = {
        room: None if ms is None else round((issued_at + ms / 1000 - sent["at"]) * 1000, 1)
        for room, ms in report["rooms"].items()
    }
    measured = [ms for ms in rooms.values() if ms is not None]
    return {
        "issued": True,
        "seq": decided["seq"],
        "hub_issued_ms": round((issued_at - sent["at"]) * 1000, 1),
        "acked": len(measured),
        "total": report["total"],
        "ack_ms": summary(measured),
        "rooms_ms": rooms,
    }


def _untouched(school: SchoolRun) -> dict[str, Any]:
    """What could show a change at a school nobody asked: its hub's directives and what
    each of its screens shows."""
    screens = {r: v["shown_seq"] for r, v in school_rooms(school).items()}
    return {"latest_seq": school.hub.get("/api/status")["latest_seq"], "shown": screens}


def school_rooms(school: SchoolRun) -> dict[str, Any]:
    from roomcast import control

    rooms: dict[str, Any] = control.call_sync(school.control_socket, {"cmd": "status"})["rooms"]
    return rooms


def district_secure(run: RunningDistrict) -> dict[str, Any]:
    if len(run.schools) < 3:
        raise DemoError("the district-secure scenario needs at least 3 schools (--schools 3)")
    targets, others = run.schools[:2], run.schools[2:]
    before = {s.name: _untouched(s) for s in others}
    secure = send_directive(run, Action.SECURE, targets)
    all_clear = send_directive(run, Action.ALL_CLEAR, targets)
    changed = [s.name for s in others if _untouched(s) != before[s.name]]
    directives = [_public(secure), _public(all_clear)]
    return {
        "ok": secure["ok"] and all_clear["ok"] and not changed,
        "scenario": "district-secure",
        "drill": True,
        "note": "a DRILL: every targeted screen says DRILL; nothing here is real",
        "targeted": [t.name for t in targets],
        "untouched": {s.name: s.name not in changed for s in others},
        "directives": directives,
        "schools": {
            t.name: {k: secure["schools"][t.name][k] for k in ("acked", "total", "ack_ms")}
            for t in targets
        },
    }


def _public(result: dict[str, Any]) -> dict[str, Any]:
    """A directive as the scenario reports it: per school counts and ms, not every room."""
    schools = {
        name: {k: v for k, v in school.items() if k != "rooms_ms"}
        for name, school in result["schools"].items()
    }
    keep = ("action", "drill", "ok", "district_record_ok", "request_id", "confirmation", "error")
    return {k: result[k] for k in keep} | {"schools": schools}
