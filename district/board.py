"""Every school on one board: the latest of what each school's bridge carried out.

What arrives is untrusted input like a device's message at a hub: bounded, decoded
strictly, and believed only for the school whose namespace it came on (the district
broker lets each bridge publish only in its own). Reachability is judged on the district's
clock by when something last *arrived*, never by a school's timestamps, and only news
counts as contact: a live message, or a summary newer (epoch, seq) than the one already
known. A retained copy the broker replays because we (re)subscribed says what the school
said last, not that it is there now: a board just started (the command line's, or the
service after a restart) must not call a dead school reachable from its retained summary.
A school whose hub says it is offline (its will) is unreachable, whatever its bridge says.
"""

from __future__ import annotations

import dataclasses
import logging
from collections import Counter
from collections.abc import Callable, Iterable
from typing import Any

from district.history import changes
from district.record import note_summary
from district.store import DistrictStore
from protocol.codec import DecodeError, decode
from protocol.district import DistrictSummary
from protocol.messages import HubState
from protocol.topics import DistrictChannel, Topics, parse_school

log = logging.getLogger(__name__)

DEFAULT_HEARTBEAT_S = 10.0
"""A school's summary heartbeat until its first summary says its own."""
MISSED_BEATS = 2
"""A school is unreachable once no message came for this many summary heartbeats."""


@dataclasses.dataclass
class School:
    site: str
    summary: DistrictSummary | None = None
    summary_at: float | None = None
    hub_online: bool | None = None
    bridge_up: bool | None = None
    last_contact: float | None = None


class DistrictBoard:
    def __init__(
        self,
        *,
        store: DistrictStore,
        schools: Iterable[str],
        clock: Callable[[], float],
        record: DistrictStore | None = None,
    ) -> None:
        self._store, self._now = store, clock
        self._record = record or store
        """Where the outcomes of the requests sent are kept (district.record)."""
        self.rejected: Counter[str] = Counter()
        self.watchers: set[Callable[[], None]] = set()
        """Called after each message believed (live views; tests wait on it)."""
        self.schools = {site: School(site) for site in schools}
        for site, row in store.schools().items():
            if site in self.schools:
                self.schools[site] = _restored(site, row)

    def on_message(self, topic: str, payload: bytes) -> None:
        """One live message from the district broker (``protocol.topics.DISTRICT_VIEW``)."""
        self._receive(topic, payload, live=True)

    def on_retained(self, topic: str, payload: bytes) -> None:
        """One retained copy replayed on subscribe (transport.link's ``retained`` route):
        believed like a live one, but contact only if it is a newer summary."""
        self._receive(topic, payload, live=False)

    def _receive(self, topic: str, payload: bytes, *, live: bool) -> None:
        parsed = parse_school(topic)
        school = None if parsed is None else self.schools.get(parsed[0])
        if school is None:
            self._reject("unknown school", topic)
            return
        topics, now = Topics(school.site), self._now()
        contact = now if live else school.last_contact
        """The last contact as it stands after this message (store.save keeps it)."""
        try:
            if topic == topics.hub_state:
                state = decode(payload, HubState)
                school.hub_online = state.online
                self._store.save(school.site, at=contact, hub_online=int(state.online), hub_at=now)
            elif topic == topics.district(DistrictChannel.SUMMARY):
                summary = decode(payload, DistrictSummary)
                contact = self._summary(school, summary, payload, now, live=live)
            elif topic == topics.district(DistrictChannel.BRIDGE) and payload in (b"0", b"1"):
                school.bridge_up = payload == b"1"
                self._store.save(
                    school.site, at=contact, bridge_up=int(school.bridge_up), bridge_at=now
                )
            else:
                self._reject("unexpected topic or payload", topic)
                return
        except DecodeError as error:
            self._reject("malformed", f"{topic}: {error.reason}")
            return
        school.last_contact = contact
        for watcher in list(self.watchers):
            watcher()

    def _summary(
        self, school: School, summary: DistrictSummary, payload: bytes, now: float, *, live: bool
    ) -> float | None:
        """Believe ``summary`` unless it is older than the one known; the school's last
        contact after it: now if it came live or is newer than a summary known (a
        retained copy with nothing to compare it with tells nothing of when it was sent)."""
        if summary.site != school.site:
            raise DecodeError(f"a summary of {summary.site} on {school.site}'s topic")
        old = school.summary
        if old is not None and (summary.epoch, summary.seq) <= (old.epoch, old.seq):
            if live:  # a late or repeated copy, but the link carried it just now
                self._store.save(school.site, at=now)
                return now
            return school.last_contact  # a retained copy replayed: no news
        lines = changes(old, summary)
        if lines:
            self._store.add_history(
                school.site, lines, at=now, school_time=summary.time, seq=summary.seq
            )
        contact = now if live or old is not None else school.last_contact
        school.summary, school.summary_at = summary, now
        self._store.save(school.site, at=contact, summary=payload, summary_at=now)
        note_summary(self._record, summary, at=now)  # the outcomes of requests sent
        return contact

    def _reject(self, reason: str, detail: str) -> None:
        self.rejected[reason] += 1
        log.warning("rejected: %s: %s (%d so far)", reason, detail, self.rejected[reason])

    def history(self, site: str) -> list[dict[str, Any]] | None:
        """A school's timeline, newest first; None for a school not in the district."""
        return None if site not in self.schools else self._store.history(site)

    def view(self) -> list[dict[str, Any]]:
        """Every school as ``GET /api/schools`` shows it, by site id."""
        return [self._school_view(self.schools[site]) for site in sorted(self.schools)]

    def _school_view(self, school: School) -> dict[str, Any]:
        now, summary = self._now(), school.summary
        heartbeat = summary.heartbeat_s if summary is not None else DEFAULT_HEARTBEAT_S
        age = None if school.last_contact is None else max(now - school.last_contact, 0.0)
        summary_age = None if school.summary_at is None else max(now - school.summary_at, 0.0)
        why = _unreachable_because(school, age, MISSED_BEATS * heartbeat)
        return {
            "site": school.site,
            "reachable": why is None,
            "unreachable_because": why,
            "hub": _state(school.hub_online),
            "bridge": _state(school.bridge_up),
            "last_contact_age_s": None if age is None else round(age, 1),
            "summary_age_s": None if summary_age is None else round(summary_age, 1),
            "summary_stale": summary_age is not None and summary_age > MISSED_BEATS * heartbeat,
            "summary": None if summary is None else _summary_view(summary),
        }


def _unreachable_because(school: School, age: float | None, limit_s: float) -> str | None:
    """Why the district cannot count on reaching the school now; None: it can."""
    if school.hub_online is False:
        return "hub down"
    if school.bridge_up is False:
        return "bridge down"
    if age is None:
        return "no live message from it yet"
    if age > limit_s:
        return f"nothing new from it for over {limit_s:.0f} s"
    return None


def _state(flag: bool | None) -> str:
    return "unknown" if flag is None else "up" if flag else "down"


def _summary_view(summary: DistrictSummary) -> dict[str, Any]:
    body = dataclasses.asdict(summary)
    body["directives"] = [
        d | {"action": d["action"].value, "scope": d["scope"].value} for d in body["directives"]
    ]
    return body


def _restored(site: str, row: dict[str, Any]) -> School:
    summary = None
    if row["summary"] is not None:
        try:
            summary = decode(row["summary"], DistrictSummary)
        except DecodeError:
            summary = None
    return School(
        site=site,
        summary=summary,
        summary_at=row["summary_at"],
        hub_online=None if row["hub_online"] is None else bool(row["hub_online"]),
        bridge_up=None if row["bridge_up"] is None else bool(row["bridge_up"]),
        last_contact=row["last_contact"],
    )
