"""The district's record of each request it sent, kept up to date from the summaries.

The only truth about a request is what the school says (district.requests): its summary
lists the latest requests it decided (issued as its directive ``seq``, or refused and
why) and, per directive in force, the request it came from, rooms confirmed of total and
the rooms still pending. Each summary the board believes updates that school's rows and
only that school's: a summary arrives on its own school's namespace and names its own
site (district.board), so no school can touch another's outcome.
"""

from __future__ import annotations

import json
from typing import Any

from district.store import CONFIRMED, ISSUED, REFUSED, DistrictStore
from protocol.district import DistrictSummary, SummaryDirective


def note_summary(store: DistrictStore, summary: DistrictSummary, *, at: float) -> None:
    """Update the outcomes of the requests ``summary`` mentions (and of those whose
    directive it no longer lists in force) for ``summary.site``."""
    decided = {o.request_id: o for o in summary.requests}
    listed = {
        d.request: d for d in (*summary.directives, *summary.all_clears) if d.request is not None
    }
    rows = store.outcomes_of(summary.site, decided.keys() | listed.keys())
    stamp = {"updated_at": at, "school_time": summary.time}
    changes: dict[str, dict[str, Any]] = {}
    for request_id, row in rows.items():
        outcome = decided.get(request_id)
        if outcome is not None and not outcome.issued:
            changes[request_id] = stamp | {"state": REFUSED, "reason": outcome.reason}
            continue
        seq = outcome.seq if outcome is not None else row["seq"]
        shown = listed.get(request_id) or next(
            (
                d
                for d in (*summary.directives, *summary.all_clears)
                if seq is not None and d.seq == seq
            ),
            None,
        )
        if shown is not None:
            changes[request_id] = stamp | {"seq": shown.seq} | _numbers(shown)
        elif outcome is not None or row["in_force"]:
            # Decided but listed nowhere: ended, or overridden in every room by a higher
            # directive. A shortened summary may just have left it out: keep what we knew.
            gone = {} if summary.shortened else {"in_force": 0, "pending_rooms": "[]"}
            state = row["state"] if row["state"] in (ISSUED, CONFIRMED) else ISSUED
            changes[request_id] = stamp | {"seq": seq, "state": state} | gone
    # Conditional on (epoch, seq): another writer may have noted a later summary already.
    store.set_outcomes(summary.site, changes, epoch=summary.epoch, seq=summary.seq)


def _numbers(directive: SummaryDirective) -> dict[str, Any]:
    done = directive.confirmed == directive.total and not directive.pending_rooms
    return {
        "state": CONFIRMED if done else ISSUED,
        "confirmed": directive.confirmed,
        "total": directive.total,
        "pending_rooms": json.dumps(list(directive.pending_rooms)),
        "in_force": 1,
    }
