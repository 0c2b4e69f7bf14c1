"""The roll in a drill's debrief: every report in time order, and how long the rooms took.

For each directive of the drill that asks something of the rooms (not an All clear or a
release), the rooms that had to account for their people are those in its scope that showed
it (a room a newer directive reached first, ``superseded``, never could). A room's time is
from the directive's issue to its *first* report for it (a later one corrects the count,
not the speed); the directive's is its last room's, and only once every room has reported.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from hub.engine import Engine
from hub.roll import RollEntry
from protocol.messages import Directive
from protocol.srp import is_idle


def roll_debrief(
    engine: Engine,
    directives: Sequence[Directive],
    results: Sequence[dict[str, float | str | None]],
    *,
    started_at: float,
    superseded: str,
) -> dict[str, Any]:
    """``timeline``: every report, oldest first; ``directives``: seq -> that directive's
    roll (``None`` for one that asks nothing); ``last_report_s``: the drill's first
    directive's time to its last room's report (None until every room has reported)."""
    by_seq = {d.seq: d for d in directives}
    entries = engine.roll.reports(by_seq)
    per_directive: dict[int, dict[str, Any] | None] = {}
    for directive, result in zip(directives, results, strict=True):
        if is_idle(directive.action):
            per_directive[directive.seq] = None
            continue
        due = sorted(room for room, value in result.items() if value != superseded)
        per_directive[directive.seq] = _directive_roll(directive, due, entries)
    first = per_directive.get(directives[0].seq) if directives else None
    vocabulary = engine.directives.vocabulary
    return {
        "timeline": [
            entry.as_dict()
            | {
                "offset_s": round(entry.at - started_at, 1),
                "after_issue_s": round(entry.at - by_seq[entry.seq].issued_at, 1),
                "term": vocabulary[by_seq[entry.seq].action].term,
            }
            for entry in entries
        ],
        "directives": per_directive,
        "last_report_s": None if first is None else first["last_report_s"],
        "unreported": [] if first is None else first["unreported"],
    }


def _directive_roll(
    directive: Directive, due: list[str], entries: Sequence[RollEntry]
) -> dict[str, Any]:
    first_report: dict[str, float] = {}
    for entry in entries:
        if entry.seq == directive.seq and entry.room in due:
            first_report.setdefault(entry.room, entry.at - directive.issued_at)
    unreported = [room for room in due if room not in first_report]
    last = max(first_report.values(), default=None)
    return {
        "due": len(due),
        "reported": len(first_report),
        "unreported": unreported,
        "last_report_s": None if unreported or last is None else round(last, 1),
        "rooms": {room: round(s, 1) for room, s in first_report.items()},
    }
