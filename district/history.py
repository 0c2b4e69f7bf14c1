"""What changed at a school, told from one summary to the next: the district's timeline.

A bridge that was down sends, when it returns, what its school published meanwhile (the
school's broker queues it: ``cleansession false``), so the timeline shows what happened
while the school was cut off, in the school's order, each line with the school's clock.
"""

from __future__ import annotations

from protocol.district import DistrictSummary, SummaryDirective
from protocol.srp import Vocabulary

_WORDS = Vocabulary()


def _directive(d: SummaryDirective) -> str:
    where = "the school" if not d.target else f"{d.scope.value} {d.target}"
    drill = "DRILL " if d.drill else ""
    source = f" (district request {d.request})" if d.request else " (the school's own)"
    return f"{drill}{_WORDS[d.action].term} #{d.seq} for {where}{source}"


def changes(old: DistrictSummary | None, new: DistrictSummary) -> list[str]:
    """Plain lines for what differs: directives begun or ended, alerts opened or closed,
    rooms going offline or back, district requests decided."""
    before = {} if old is None else {d.seq: d for d in old.directives}
    after = {d.seq: d for d in new.directives}
    lines = [f"in force: {_directive(d)}" for seq, d in sorted(after.items()) if seq not in before]
    lines += [
        f"no longer in force: {_directive(d)}" for s, d in sorted(before.items()) if s not in after
    ]
    was_alerts, was_offline = (0, 0) if old is None else (old.alerts, old.offline)
    if new.alerts != was_alerts:
        rooms = ", ".join(new.alert_rooms) or "none"
        lines.append(f"open panic alerts: {was_alerts} -> {new.alerts} (rooms: {rooms})")
    if new.offline != was_offline:
        lines.append(f"rooms offline: {was_offline} -> {new.offline}")
    decided = set() if old is None else {o.request_id for o in old.requests}
    for outcome in reversed(new.requests):
        if outcome.request_id not in decided:
            what = f"issued as #{outcome.seq}" if outcome.issued else f"refused: {outcome.reason}"
            lines.append(f"district request {outcome.request_id} {what}")
    return lines
