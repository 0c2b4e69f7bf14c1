"""The weather poller: one task in the hub's TaskGroup, fetching the feed every ``poll_s``.

Nothing it meets (a feed that is down, slow, huge or garbage) leaves this task: each
failure is logged, shown to the office as the source's health, and retried with back-off.
It never issues anything: it keeps the alerts in force, records the first sight of each
in the audit log, and tells live views on the bus; the office decides.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

import httpx

from hub.bus import Bus, Change
from hub.store import HubStore
from hub.weather.config import FeedFormat, Proposal, WeatherConfig
from hub.weather.feeds import FeedError, WeatherAlert, in_force, parse_feed
from transport.backoff import Backoff

log = logging.getLogger(__name__)

SYSTEM_USER = "weather"
"""Who the audit log names for what the poller saw (no person did it)."""
_REMEMBER_S = 7 * 86_400.0
"""How far back the audit log is read at start: longer than any NWS warning lasts."""
_ACCEPT = {
    FeedFormat.NWS_JSON: "application/geo+json, application/json",
    FeedFormat.CAP_ATOM: "application/atom+xml, application/cap+xml, application/xml",
}


@dataclass(frozen=True, kw_only=True)
class Banner:
    """One alert in force for the school and what it proposes (None: not in the table)."""

    alert: WeatherAlert
    proposal: Proposal | None


@dataclass(frozen=True, kw_only=True)
class SourceHealth:
    state: str
    """``ok``, ``failing`` (the last poll failed), ``stale`` (no good poll for too long),
    or ``starting`` (none yet)."""
    last_ok_at: float | None
    last_error: str
    failures: int

    @property
    def trouble(self) -> str:
        """Plain words for the office when the feed is failing or stale; "" when it is fine."""
        if self.state not in ("failing", "stale"):
            return ""
        since = "no good poll yet" if self.last_ok_at is None else "no good poll lately"
        error = f": {self.last_error}" if self.last_error else ""
        return f"weather feed {self.state.upper()} ({since}{error})"


class WeatherPoller:
    def __init__(
        self,
        config: WeatherConfig,
        *,
        store: HubStore,
        bus: Bus,
        clock: Callable[[], float] = time.time,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.config = config
        self._store, self._bus, self._now = store, bus, clock
        self._transport = transport
        self._alerts: list[WeatherAlert] = []
        self._seen: set[str] = set()
        self._dismissed: set[str] = set()
        self._last_ok_at: float | None = None
        self._last_error = ""
        self._failures = 0
        self._poke = asyncio.Event()
        self._remember()
        self._backoff = Backoff(initial_s=min(5.0, config.poll_s), maximum_s=10 * config.poll_s)

    def _remember(self) -> None:
        """What the audit log says was seen and dismissed lately: a restarted hub neither
        records an alert as new again nor puts a dismissed banner back up."""
        since = self._now() - _REMEMBER_S
        for entry in self._store.audit_search(text="weather alert", since=since, limit=5_000):
            alert_id = entry["detail"].get("id")
            if entry["action"] == "weather alert seen" and isinstance(alert_id, str):
                self._seen.add(alert_id)
            elif entry["action"] == "weather alert dismissed" and isinstance(alert_id, str):
                self._dismissed.add(alert_id)

    async def run(self) -> None:
        async with httpx.AsyncClient(
            verify=True,
            timeout=self.config.timeout_s,
            follow_redirects=False,
            transport=self._transport,
            headers={
                # api.weather.gov asks every client to name itself.
                "User-Agent": "Roomcast school hub (https://github.com/roomcast)",
                "Accept": _ACCEPT[self.config.format],
            },
        ) as client:
            while True:
                delay = await self.poll_once(client)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._poke.wait(), delay)
                self._poke.clear()

    def poll_now(self) -> None:
        """Poll without waiting out the interval (the office's "check now", the tests)."""
        self._poke.set()

    async def poll_once(self, client: httpx.AsyncClient) -> float:
        """One fetch; the delay before the next (the poll interval, or a back-off)."""
        try:
            body = await self._fetch(client)
            alerts = parse_feed(body, self.config.format)
        except (httpx.HTTPError, FeedError) as error:
            self._failed(f"{type(error).__name__}: {error}"[:300])
            return max(self._backoff.next_delay(), 1.0)
        except Exception as error:  # a bug here must not end the hub's TaskGroup
            log.exception("weather feed %s: unexpected failure", self.config.url)
            self._failed(f"unexpected {type(error).__name__}: {error}"[:300])
            return max(self._backoff.next_delay(), 1.0)
        self._backoff.reset()
        self._succeeded(alerts)
        return self.config.poll_s

    async def _fetch(self, client: httpx.AsyncClient) -> bytes:
        limit = self.config.max_bytes
        async with client.stream("GET", self.config.url) as response:
            if response.status_code != 200:
                raise FeedError(f"HTTP {response.status_code} from the feed")
            declared = response.headers.get("content-length", "")
            if declared.isdigit() and int(declared) > limit:
                raise FeedError(f"the feed is {declared} bytes, over the {limit} allowed")
            chunks, size = [], 0
            async for chunk in response.aiter_bytes():
                size += len(chunk)
                if size > limit:
                    raise FeedError(f"the feed is over the {limit} bytes allowed")
                chunks.append(chunk)
        return b"".join(chunks)

    def _failed(self, problem: str) -> None:
        self._failures += 1
        changed = problem != self._last_error
        self._last_error = problem
        log.warning("weather feed %s: %s (failure %d)", self.config.url, problem, self._failures)
        if changed or self._failures == 1:
            self._bus.publish(Change.WEATHER)

    def _succeeded(self, alerts: list[WeatherAlert]) -> None:
        was_failing = self._failures > 0 or self._last_ok_at is None
        if self._failures:
            log.info("weather feed %s: back after %d failures", self.config.url, self._failures)
        self._failures, self._last_error, self._last_ok_at = 0, "", self._now()
        current = in_force(alerts, self.config.zones, self._now())
        before = {a.id for a in self._alerts}
        self._alerts = current
        for alert in current:
            self._first_sight(alert)
        if was_failing or before != {a.id for a in current}:
            self._bus.publish(Change.WEATHER)

    def _first_sight(self, alert: WeatherAlert) -> None:
        if alert.id in self._seen:
            return
        self._seen.add(alert.id)
        proposal = self.config.events.get(alert.event)
        log.warning("WEATHER ALERT in force: %s (%s)", alert.headline, alert.event)
        self._store.audit(
            at=self._now(),
            user=SYSTEM_USER,
            action="weather alert seen",
            detail={
                "id": alert.id,
                "event": alert.event,
                "headline": alert.headline,
                "expires": alert.expires,
                "proposes": None if proposal is None else proposal.action,
            },
        )

    def banners(self) -> list[Banner]:
        """The alerts in force now (expired ones drop out between polls), not dismissed."""
        now = self._now()
        return [
            Banner(alert=a, proposal=self.config.events.get(a.event))
            for a in self._alerts
            if a.id not in self._dismissed and (a.expires is None or a.expires > now)
        ]

    def dismiss(self, alert_id: str, *, user: str) -> bool:
        """Hide one banner for everyone, recorded with who; False if it is not in force."""
        alert = next((a for a in self._alerts if a.id == alert_id), None)
        if alert is None or alert_id in self._dismissed:
            return False
        self._dismissed.add(alert_id)
        self._store.audit(
            at=self._now(),
            user=user,
            action="weather alert dismissed",
            detail={"id": alert.id, "event": alert.event, "headline": alert.headline},
        )
        self._bus.publish(Change.WEATHER)
        return True

    def health(self) -> SourceHealth:
        now = self._now()
        if self._last_ok_at is None:
            state = "failing" if self._failures else "starting"
        elif self._failures:
            state = "failing"
        elif now - self._last_ok_at > self.config.stale_after_s:
            state = "stale"
        else:
            state = "ok"
        return SourceHealth(
            state=state,
            last_ok_at=self._last_ok_at,
            last_error=self._last_error,
            failures=self._failures,
        )
