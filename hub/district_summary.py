"""The school's summary for its district: what it has in force, who has it, what is wrong.

One retained message on ``district/summary`` (protocol.district ``DistrictSummary``),
published when its content changes, at most once a second, and every ``summary_s``
anyway, so the district can tell a quiet school from a lost one. A device's heartbeat
changes nothing in it and so publishes nothing. It is a query of the engine's state and
the store's open alerts, never a window over recent rows.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
from collections.abc import Callable

from hub.bus import Bus, Update
from hub.engine import Engine
from hub.store import HubStore
from protocol.codec import MAX_PAYLOAD, encode
from protocol.district import MAX_LISTED, DistrictSummary, SummaryDirective
from protocol.messages import Directive
from protocol.rules import RANK
from protocol.srp import is_idle

log = logging.getLogger(__name__)

MIN_GAP_S = 1.0
"""At most one summary a second: a fan-out brings one ack per room."""
OUTCOMES = 8
"""District requests whose outcome the summary carries."""

Send = Callable[[str, bytes], bool]


def build_summary(
    engine: Engine, store: HubStore, *, epoch: int, heartbeat_s: float, now: float, seq: int = 1
) -> DistrictSummary:
    """The summary as the school stands now (``seq`` is the caller's to number)."""
    inventory, presence = engine.presence.inventory, engine.presence
    groups: dict[int, tuple[Directive, list[int]]] = {}
    cleared: dict[int, tuple[Directive, list[int]]] = {}
    """Rooms whose latest directive is an All clear, by its seq (listed if the district
    asked for it)."""
    pending: dict[int, list[str]] = {}
    offline_rooms: list[str] = []
    for room in sorted(inventory.rooms.values(), key=lambda r: r.id):
        devices = inventory.devices_in(room.id)
        if not devices or not all(presence.devices[d].online for d in devices):
            offline_rooms.append(room.id)
        directive = engine.directives.effective(room)
        if directive is None:
            continue
        tally = cleared if is_idle(directive.action) else groups
        counts = tally.setdefault(directive.seq, (directive, [0, 0]))[1]
        counts[1] += 1
        if engine.acks.room_ack_ms(room, directive) is not None:
            counts[0] += 1
        else:
            pending.setdefault(directive.seq, []).append(room.id)
    requests = store.requests_of(groups | cleared)

    def listed(tally: dict[int, tuple[Directive, list[int]]]) -> list[SummaryDirective]:
        return [
            SummaryDirective(
                seq=d.seq,
                action=d.action,
                scope=d.scope,
                target=d.target,
                drill=d.drill,
                issued_at=d.issued_at,
                confirmed=confirmed,
                total=total,
                request=requests.get(d.seq),
                pending_rooms=tuple(pending.get(d.seq, ())[:MAX_LISTED]),
            )
            for d, (confirmed, total) in sorted(
                tally.values(), key=lambda g: (-RANK.get(g[0].action, 0), -g[0].seq)
            )
        ]

    directives = listed(groups)
    all_clears = [d for d in listed(cleared) if d.request is not None][:MAX_LISTED]
    open_alerts = store.open_panics()
    alert_rooms = sorted({row["room"] for row in open_alerts})
    alerts = len(open_alerts)
    summary = DistrictSummary(
        site=inventory.site,
        seq=seq,
        epoch=epoch,
        time=now,
        heartbeat_s=heartbeat_s,
        rooms=len(inventory.rooms),
        in_force=sum(total for _, (_, total) in groups.values()),
        confirmed=sum(confirmed for _, (confirmed, _) in groups.values()),
        directives=tuple(directives[:MAX_LISTED]),
        alerts=alerts,
        alert_rooms=tuple(alert_rooms[:MAX_LISTED]),
        offline=len(offline_rooms),
        offline_rooms=tuple(offline_rooms[:MAX_LISTED]),
        requests=tuple(store.district_outcomes(limit=OUTCOMES)),
        all_clears=tuple(all_clears),
        shortened=len(directives) > MAX_LISTED
        or max(len(alert_rooms), alerts) > MAX_LISTED
        or any(len(rooms) > MAX_LISTED for rooms in pending.values()),
    )
    return fit(summary)


def fit(summary: DistrictSummary) -> DistrictSummary:
    """Shorten the lists (never the counts) until the summary fits one payload: the
    longest list each time, a directive's ``pending_rooms`` among them."""
    lists = ("offline_rooms", "alert_rooms", "requests", "directives", "all_clears")
    while len(encode(summary)) > MAX_PAYLOAD:
        longest = max(lists, key=lambda name: len(getattr(summary, name)))
        most_pending = max(summary.directives, key=lambda d: len(d.pending_rooms), default=None)
        if most_pending is not None and len(most_pending.pending_rooms) > len(
            getattr(summary, longest)
        ):
            summary = dataclasses.replace(
                summary, shortened=True, directives=_halve_pending(summary, most_pending)
            )
            continue
        items = getattr(summary, longest)
        if not items:
            raise ValueError("a summary with no lists left does not fit: cannot happen")
        shorter = {longest: items[: len(items) // 2]}
        summary = dataclasses.replace(summary, shortened=True, **shorter)
    return summary


def _halve_pending(
    summary: DistrictSummary, chosen: SummaryDirective
) -> tuple[SummaryDirective, ...]:
    half = chosen.pending_rooms[: len(chosen.pending_rooms) // 2]
    return tuple(
        dataclasses.replace(d, pending_rooms=half) if d is chosen else d for d in summary.directives
    )


def _content(summary: DistrictSummary) -> DistrictSummary:
    """What is compared to decide whether anything changed: not the number, not the time,
    not the outcomes' own times (they do not move)."""
    return dataclasses.replace(summary, seq=1, time=0.0)


class DistrictSummaries:
    """Publishes the summary when it changes (at most once a second) and as a heartbeat."""

    def __init__(
        self,
        *,
        engine: Engine,
        store: HubStore,
        bus: Bus,
        topic: str,
        send: Send,
        epoch: int,
        heartbeat_s: float,
        clock: Callable[[], float],
    ) -> None:
        self._engine, self._store, self._bus = engine, store, bus
        self._topic, self._send, self._epoch = topic, send, epoch
        self.heartbeat_s, self._now = heartbeat_s, clock
        self._last: DistrictSummary | None = None
        self._sent_at = float("-inf")
        self._wake = asyncio.Event()
        self.published = 0

    @property
    def last(self) -> DistrictSummary | None:
        """The summary published last (None before the first)."""
        return self._last

    def resend(self) -> None:
        """The link is back: publish now, whatever changed (the broker may have lost it)."""
        self._sent_at = float("-inf")
        self._wake.set()

    async def run(self) -> None:
        with self._bus.subscribe() as changes:
            while True:
                try:
                    self.publish_if_due()
                except Exception:  # a summary must never stop the hub
                    log.exception("the district summary could not be built")
                await asyncio.sleep(MIN_GAP_S)
                due = self._sent_at + self.heartbeat_s - self._now()
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(max(due, 0.0)):
                        await self._changed(changes)

    async def _changed(self, changes: asyncio.Queue[Update]) -> None:
        """Until the bus reports a change or a resend is asked for."""
        waiters = [asyncio.ensure_future(changes.get()), asyncio.ensure_future(self._wake.wait())]
        try:
            await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for waiter in waiters:
                waiter.cancel()
        self._wake.clear()

    def publish_if_due(self) -> bool:
        """Publish if the content changed or the heartbeat is due; True if it did."""
        now = self._now()
        current = build_summary(
            self._engine, self._store, epoch=self._epoch, heartbeat_s=self.heartbeat_s, now=now
        )
        changed = self._last is None or _content(current) != _content(self._last)
        if not changed and now - self._sent_at < self.heartbeat_s:
            return False
        numbered = dataclasses.replace(current, seq=self._store.next_summary_seq())
        if self._send(self._topic, encode(numbered)):
            self._sent_at = now
            self.published += 1
        self._last = numbered
        return True
