"""What the office sees of the relay: each record's hand-offs, each destination's health, and
``roomcast relay test``.

The web side is given a :class:`HandOffs` through :class:`hub.parts.HubParts` (the service
builds it beside the relay); it reads the relay's tables by indexed lookups only (an outbox
row by ``(destination, key)``, a row's newest attempt by ``(outbox_id, id)``, a destination's
oldest undelivered row by the partial ``relay_pending`` index), so a page load never scans
the attempts.

**The failing rule.** A destination is *failing* when its oldest undelivered message has
been tried ``FAILING_AFTER_ATTEMPTS`` times without a 2xx, or has waited more than
``FAILING_AFTER_S`` (a slow or stuck receiver is trouble as much as a refusing one).
Delivery is in order, one at a time, so every failure since the last 2xx belongs to that
oldest message: its attempts are the run of failures, its first attempt is "since when".
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from hub.bus import Bus, Change
from hub.relay.cap import relay_test_alert
from hub.relay.config import OFFLINE_KIND, DestinationSettings, RelayConfig
from hub.relay.messages import relay_test_message
from hub.relay.store import Attempt, Outbox, RelayStore

log = logging.getLogger(__name__)

FAILING_AFTER_S = 60.0
FAILING_AFTER_ATTEMPTS = 3
TEST_WAIT_S = 8.0
"""How long ``relay test`` waits for the test message's first attempt (under the command
line's 10 s request timeout)."""


def _clock(at: float | None, pattern: str = "%H:%M:%S") -> str:
    return "" if at is None else time.strftime(pattern, time.localtime(at))


@dataclass(frozen=True)
class Destination:
    name: str
    kind: str
    """webhook, email or CAP."""
    drills: bool
    staff_assist: bool
    offline_during_lockdown: bool = False

    @property
    def label(self) -> str:
        """``police-dispatch`` -> ``Police dispatch (webhook)``: what the office reads."""
        words = self.name.replace("-", " ").replace("_", " ")
        return f"{words[:1].upper()}{words[1:]} ({self.kind})"

    def takes(self, *, kind: str, drill: bool) -> bool:
        """The relay's own filter (hub/relay/relay.py ``_takes``), for the confirmation."""
        if drill and not self.drills:
            return False
        if kind == OFFLINE_KIND:
            return self.offline_during_lockdown
        return kind != "staff_assist" or self.staff_assist


def destinations_of(config: RelayConfig) -> list[Destination]:
    """Every configured destination, in the file's order."""
    kinds: list[tuple[DestinationSettings, str]] = [(hook, "webhook") for hook in config.webhooks]
    kinds += [(mail, "email") for mail in config.emails]
    kinds += [(cap, "CAP") for cap in config.caps]
    return [
        Destination(d.name, kind, d.drills, d.staff_assist, d.offline_during_lockdown)
        for d, kind in kinds
    ]


def _delivery(where: Destination, row: Outbox | None, last: Attempt | None) -> dict[str, Any]:
    found: dict[str, Any] = {
        "destination": where.name,
        "label": where.label,
        "attempts": 0 if row is None else row.attempts,
        "delivered_at": None if row is None else row.delivered_at,
        "duration_ms": None,
        "last_result": None if last is None else last.result,
        "last_at": None if last is None else last.at,
    }
    if row is None:
        return found | {"state": "not_queued", "words": f"{where.label}: not sent here"}
    if row.delivered_at is not None:
        took = None if last is None else round(last.duration_ms)
        words = f"{where.label}: delivered {_clock(row.delivered_at)}"
        words += "" if took is None else f", {took} ms"
        return found | {"state": "delivered", "duration_ms": took, "words": words}
    if last is None:
        return found | {"state": "queued", "words": f"{where.label}: queued, not yet tried"}
    tries = f" ({row.attempts} attempt{'s' if row.attempts != 1 else ''})"
    words = f"{where.label}: failed, retrying: {last.result}{tries}"
    return found | {"state": "retrying", "words": words}


class HandOffs:
    """The relay's record as the console, the API and the CLI read it."""

    def __init__(
        self,
        config: RelayConfig,
        store: RelayStore,
        *,
        site_id: str,
        bus: Bus,
        wake: Callable[[str], None],
        watchers: set[Callable[[], None]],
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.config, self.store, self._site_id = config, store, site_id
        self._bus, self._wake, self._watchers, self._now = bus, wake, watchers, clock
        self.destinations = destinations_of(config)
        self._seen: tuple[tuple[str, str], ...] = ()
        watchers.add(self._attempted)

    def reload(self, config: RelayConfig) -> None:
        """relay.toml was re-read (SIGHUP): list, and test, what it now names."""
        self.config, self.destinations = config, destinations_of(config)
        self._attempted()  # a destination removed or added changes the board

    def reaching(self, *, kind: str, drill: bool) -> list[Destination]:
        """Which destinations a message of ``kind`` (drill or not) will be handed to."""
        return [d for d in self.destinations if d.takes(kind=kind, drill=drill)]

    def deliveries(self, keys: Sequence[str]) -> dict[str, list[dict[str, Any]]]:
        """Per record key (``event:<id>``, ``directive:<seq>``): one entry per destination."""
        rows = {(r.destination, r.key): r for d in self.destinations
                for r in self.store.outbox_of(d.name, keys)}  # fmt: skip
        last = self.store.last_attempts([r.id for r in rows.values()])
        found: dict[str, list[dict[str, Any]]] = {}
        for key in keys:
            found[key] = []
            for where in self.destinations:
                row = rows.get((where.name, key))
                found[key].append(_delivery(where, row, None if row is None else last.get(row.id)))
        return found

    def health(self) -> list[dict[str, Any]]:
        """Each destination: ``ok`` (nothing waits), ``sending`` or ``failing`` (see above)."""
        return [self._health_of(where) for where in self.destinations]

    def failing(self) -> list[dict[str, Any]]:
        return [h for h in self.health() if h["state"] == "failing"]

    def _health_of(self, where: Destination) -> dict[str, Any]:
        head, waiting = self.store.head(where.name)
        state: dict[str, Any] = {"destination": where.name, "label": where.label}
        if head is None:
            return state | {"state": "ok", "waiting": 0, "since": None, "last_result": None}
        last = self.store.last_attempts([head.id]).get(head.id)
        since = self.store.first_attempt_at(head.id) or head.queued_at
        waited = self._now() - head.queued_at
        failing = head.attempts >= FAILING_AFTER_ATTEMPTS or waited > FAILING_AFTER_S
        result = "not yet tried" if last is None else last.result
        words = f"{where.label}: {result} since {_clock(since, '%H:%M')}"
        words += f" ({waiting} message{'s' if waiting != 1 else ''} waiting)"
        return state | {
            "state": "failing" if failing else "sending",
            "waiting": waiting,
            "since": since,
            "last_result": result,
            "attempts": head.attempts,
            "words": words,
        }

    def _attempted(self) -> None:
        """After every attempt: tell live views only when a destination's state changed
        (a receiver refusing every 50 ms must not re-render every console that often)."""
        try:
            seen = tuple((h["destination"], f"{h['state']}:{h['waiting']}") for h in self.health())
        except Exception:  # a view's trouble must never hold up a sender (it calls this)
            log.exception("relay: reading the hand-offs' state failed")
            return
        if seen != self._seen:
            self._seen = seen
            self._bus.publish(Change.HANDOFF)

    async def test(
        self, names: Sequence[str], *, within_s: float = TEST_WAIT_S
    ) -> list[dict[str, Any]]:
        """Queue a Test message to each of ``names`` and wait (bounded) for its first try."""
        known = {d.name: d for d in self.destinations}
        wanted = [known[name] for name in names]
        keys = {}
        for where in wanted:
            key = f"test:{secrets.token_hex(6)}"
            at = self._now()
            self.store.enqueue_direct(where.name, key, self._test_body(where, key, at), at=at)
            keys[where.name] = key
            self._wake(where.name)
        await self._until_tried(list(keys.items()), within_s)
        return [self._test_result(where, keys[where.name]) for where in wanted]

    def _test_body(self, where: Destination, key: str, at: float) -> bytes:
        """The webhook's JSON of kind ``test``; for CAP, an alert of status Test in the
        destination's own scope."""
        site = self.config.site
        if where.kind != "CAP":
            return relay_test_message(key, at, site_id=self._site_id, site=site)
        (cap,) = [c for c in self.config.caps if c.name == where.name]
        return relay_test_alert(key, at, site_id=self._site_id, site=site).render(cap.audience)

    def _tried(self, pairs: list[tuple[str, str]]) -> bool:
        return all(
            row.attempts > 0 for name, key in pairs for row in self.store.outbox_of(name, [key])
        )

    async def _until_tried(self, pairs: list[tuple[str, str]], within_s: float) -> None:
        changed = asyncio.Event()
        self._watchers.add(changed.set)
        try:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(within_s):
                    while not self._tried(pairs):
                        await changed.wait()
                        changed.clear()
        finally:
            self._watchers.discard(changed.set)

    def _test_result(self, where: Destination, key: str) -> dict[str, Any]:
        (delivery,) = [d for d in self.deliveries([key])[key] if d["destination"] == where.name]
        result = delivery | {"key": key}
        if delivery["state"] == "queued":
            head, waiting = self.store.head(where.name)
            ahead = max(0, waiting - 1)
            why = "" if head is None or head.key == key else f", behind {ahead} undelivered"
            result["words"] = f"{where.label}: not tried yet{why}"
        return result
