"""Resending district requests a school has not answered, until it does or a limit passes.

A district directive must reach every school named, and the only proof is the school's
summary (district.record). A copy can be lost on the way: not handed to the broker (the
district's link was down), handed over but never acknowledged (for some seconds after a
NATS node dies, a QoS 1 publish waits for JetStream to elect new stream leaders), or
acknowledged and dropped (sent before the school's bridge had subscribed: MQTT keeps
nothing for a subscriber that does not exist yet). So each school that has not answered
gets the same request again: the same ``request_id``, signed again with a fresh
``issued_at``. The school decides an id once (its replay guard) and refuses a copy more
than 60 s old (protocol.district ``REQUEST_TOLERANCE_S``), so a copy that arrives late
can change nothing, and one fresh copy is enough.

When (:class:`ResendPolicy`, a pure function of the record and the clock): soon after a
copy not acknowledged, backing off; ``answer_s`` after one acknowledged, backing off; at
once when the school's bridge came up after the last copy and a summary came across it
(the copy before was most likely dropped); never while its bridge says it is down
(unless a summary came across it since: a will's "0" may reach the district after the
"1" when a NATS node is lost); and never after ``limit_s``: the school is then marked
as never having answered, loudly (the record's ``gave_up``, the log), not dropped. Every
copy is counted in the record (``attempts``, ``last_attempt_at``, ``acked``,
``last_error``). Two senders sharing the record (the district service and ``roomcast
district request`` following) claim each copy in the store first, so they never both
send it.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from district.action import DistrictAction
from district.board import DistrictBoard
from district.store import NOT_SENT, DistrictStore
from protocol.codec import encode
from protocol.srp import Action
from protocol.topics import ScopeKind, Topics
from transport.link import Link

log = logging.getLogger(__name__)


@dataclass(frozen=True, kw_only=True)
class ResendPolicy:
    retry_s: float = 1.0
    """After a copy the broker did not acknowledge (or that was not sent): first wait."""
    answer_s: float = 10.0
    """After a copy handed over or acknowledged: how long the school has to answer."""
    backoff: float = 2.0
    max_wait_s: float = 60.0
    limit_s: float = 300.0
    """From the first send: after this, no more copies; the school never answered."""
    puback_s: float = 10.0
    """How long one copy waits for the broker's acknowledgement."""

    def wait_after(self, attempts: int, acked: bool | None) -> float:
        """Seconds from the last copy (the ``attempts``-th) to the next one."""
        first = self.retry_s if acked is False else self.answer_s
        return min(first * self.backoff ** max(attempts - 1, 0), self.max_wait_s)

    def next_at(self, row: Mapping[str, Any], link: SchoolLink) -> float | None:
        """When the next copy of this (unanswered) row is due; None while the school's
        bridge is down (a copy then would only wait in its queue and go stale)."""
        last = float(row["last_attempt_at"] or row["sent_at"])
        acked = None if row["acked"] is None else bool(row["acked"])
        due = last + self.wait_after(int(row["attempts"]), acked)
        summary_at, back_at = link.summary_at, link.bridge_up_at
        if link.bridge_up is False and link.bridge_down_at is not None:
            if summary_at is None or summary_at <= link.bridge_down_at:
                return None  # said "0" and nothing came across it since
            # A summary crossed after the "0": the bridge is back, whatever the order its
            # "1" and its will (a NATS node lost) reached the district in.
            back_at = link.bridge_down_at
        # The bridge (re)subscribed after the last copy, so that copy was likely dropped:
        # send again once a summary crossed after it came back, which proves the
        # subscription is in place (a broker handles one connection's packets in order).
        if back_at is not None and summary_at is not None and summary_at >= back_at > last:
            due = min(due, summary_at)
        return due

    def gives_up(self, row: Mapping[str, Any], now: float) -> bool:
        return now - float(row["sent_at"]) >= self.limit_s


@dataclass(frozen=True, slots=True)
class SchoolLink:
    """What the district knows of a school's bridge, by the district's clock."""

    bridge_up: bool | None = None
    bridge_up_at: float | None = None
    """When the district last saw the bridge say "1" after a "0" (None: not seen)."""
    summary_at: float | None = None
    bridge_down_at: float | None = None
    """When the district last saw the bridge say "0" (None: not seen since it watched)."""


class Resender:
    """Sends again what schools have not answered, for as long as it runs."""

    def __init__(
        self,
        *,
        link: Link,
        store: DistrictStore,
        key: Ed25519PrivateKey,
        district: str,
        board: DistrictBoard,
        clock: Callable[[], float] = time.time,
        policy: ResendPolicy | None = None,
        only: str | None = None,
    ) -> None:
        """``only``: one request's copies (``roomcast district request`` following it)."""
        self._link, self._store, self._key = link, store, key
        self._only = only
        self._district, self._board, self._now = district, board, clock
        self.policy = policy or ResendPolicy()
        self._bridge_up_at: dict[str, float] = {}
        self._bridge_down_at: dict[str, float] = {}
        self._was_up = {site: school.bridge_up for site, school in board.schools.items()}
        self._changed = asyncio.Event()

    def school_link(self, site: str) -> SchoolLink:
        school = self._board.schools.get(site)
        if school is None:
            return SchoolLink()
        return SchoolLink(
            school.bridge_up,
            self._bridge_up_at.get(site),
            school.summary_at,
            self._bridge_down_at.get(site),
        )

    def _on_board(self) -> None:
        """Note each bridge that came back up, by the district's clock, and wake the loop.
        Only after a "0": a first "1" heard may be the retained one of a bridge up for
        long (a board just started), and then the usual ``answer_s`` covers a new one."""
        for site, school in self._board.schools.items():
            if school.bridge_up and self._was_up.get(site) is False:
                self._bridge_up_at[site] = self._now()
            elif school.bridge_up is False and self._was_up.get(site) is not False:
                self._bridge_down_at[site] = self._now()
            self._was_up[site] = school.bridge_up
        self._changed.set()

    async def run(self, *, idle_s: float = 5.0) -> None:
        """Until cancelled: each pass sends what is due, then sleeps until the next copy
        is due, the board changes (a bridge up, a summary), or ``idle_s`` (new requests)."""
        self._board.watchers.add(self._on_board)
        try:
            while True:
                next_due = await self.send_due()
                wait = idle_s if next_due is None else min(idle_s, next_due - self._now())
                self._changed.clear()
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(max(wait, 0.05)):
                        await self._changed.wait()
        finally:
            self._board.watchers.discard(self._on_board)

    async def send_due(self) -> float | None:
        """Send every copy due now (concurrently: one school's slow PUBACK does not hold
        another's); the time the next one is due, None if none is waiting."""
        now, policy = self._now(), self.policy
        due, next_due = [], None
        for row in self._store.unanswered(since=now - policy.limit_s - 1.0):
            if self._only is not None and row["request_id"] != self._only:
                continue
            if policy.gives_up(row, now):
                self._give_up(row)
                continue
            at = policy.next_at(row, self.school_link(row["site"]))
            if at is None:
                continue
            if at <= now:
                due.append(row)
            else:
                next_due = at if next_due is None else min(next_due, at)
        if due:
            await asyncio.gather(*(self._send_again(row) for row in due))
            return self._now()  # look again at once: what was sent has its next time now
        return next_due

    async def _send_again(self, row: dict[str, Any]) -> None:
        request_id, site, now = row["request_id"], row["site"], self._now()
        if not self._store.claim_attempt(request_id, site, attempts=row["attempts"], at=now):
            return  # another sender sent this copy, or the school answered meanwhile
        (request,) = _action_of(row).signed(
            self._key, district=self._district, sites=(site,), now=now, request_id=request_id
        )
        topic = Topics(site).district_request(request_id)
        handed_over = self._link.connected.is_set()
        acked = handed_over and await self._link.publish_confirmed(
            topic, encode(request), timeout_s=self.policy.puback_s
        )
        error = None
        if not handed_over:
            error = NOT_SENT
        elif not acked:
            error = f"not acknowledged by the district broker within {self.policy.puback_s:g} s"
        self._store.note_attempt(
            request_id, site, handed_over=handed_over, acked=acked, error=error
        )
        log.warning(
            "district request %s to %s: copy %d sent again (%s)",
            request_id,
            site,
            row["attempts"] + 1,
            error or "acknowledged by the district broker",
        )

    def _give_up(self, row: dict[str, Any]) -> None:
        error = (
            f"NO ANSWER from the school after {row['attempts']} copies in "
            f"{self.policy.limit_s:g} s; last: {row['last_error'] or 'no error sending'}"
        )
        if self._store.give_up(row["request_id"], row["site"], error=error):
            log.error("DISTRICT REQUEST %s to %s: %s", row["request_id"], row["site"], error)


def _action_of(row: Mapping[str, Any]) -> DistrictAction:
    """The action as recorded, to sign again: the same fields the user confirmed."""
    return DistrictAction(
        action=Action(row["action"]),
        drill=bool(row["drill"]),
        issued_by=row["issued_by"],
        scope=ScopeKind(row["scope"]),
        target=row["target"],
        details=json.loads(row["details"]),
    )
