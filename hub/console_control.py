"""Console control (UL 2572): one console session at a time controls the system.

The holder is a console *session* (a browser login), not a user name: two tabs of one login
share control, two logins of one user do not. Others are read-only: the hub refuses their
directives, releases and alert acknowledgements (a conflict) until the holder releases control
or someone takes it over with a recorded reason. A console that acts while nobody holds
control takes it on that first action, so an emergency never waits on an extra click.

Command-line sessions are not consoles: IT scripts and responders' terminals keep working
while a console holds control; each such action is audited as a command-line action during
console control, and consoles see it in the audit log and on the board.

Control lives in the store, so it survives a hub restart; it ends with the holder's session
(logout or expiry), and it *lapses* when the holder's console has gone away: every open
console page keeps the live event stream (``/api/stream``) connected, so a session with no
stream for ``lapse_s`` seconds (a closed browser, a laptop shut, a crashed tab) no longer
blocks anyone. Without this a closed browser kept control for the 12 hours of its session.
The hub counts from its own start for a holder it has not seen since then.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import sqlite3
import time
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from typing import Any, Protocol

from hub.bus import Change, Update
from hub.errors import Conflict, Invalid
from hub.store_people import PeopleRecords

MAX_REASON = 200
LAPSE_S = 45.0
"""Default: longer than a page load or a hub restart, far shorter than an emergency."""


class Actor(Protocol):
    """Who acts: a hub console user (hub.auth.Principal) or a district one
    (district.sessions): control needs only the session, its kind and the user's name."""

    @property
    def user(self) -> str: ...
    @property
    def kind(self) -> str: ...
    @property
    def session(self) -> str: ...


class Publisher(Protocol):
    """Where a change of control is announced to live pages (hub.bus.Bus)."""

    def publish(self, kind: Change, **data: Any) -> None: ...

    def subscribe(self) -> contextlib.AbstractContextManager[asyncio.Queue[Update]]: ...


@dataclass(frozen=True)
class Holder:
    user: str
    since: float
    session: str

    @property
    def clock(self) -> str:
        return time.strftime("%H:%M:%S", time.localtime(self.since))


class ConsoleControl:
    def __init__(
        self,
        store: PeopleRecords,
        bus: Publisher,
        *,
        clock: Callable[[], float] = time.time,
        lapse_s: float = LAPSE_S,
    ) -> None:
        self._store, self._bus, self._now = store, bus, clock
        self.lapse_s = lapse_s
        self._streams: dict[str, int] = {}
        """Open live streams per console session."""
        self._gone: dict[str, float] = {}
        """When each session's last stream closed."""
        self._started = clock()

    def holder(self) -> Holder | None:
        """The session holding control; control held by an ended or absent session is dropped."""
        row = self._store.control()
        if row is None:
            return None
        if self._store.session(row["session"], now=self._now()) is None:
            self._store.clear_control(row["session"])
            self._record(row["user"], "control released (session ended)", {})
            return None
        away = self.away_s(row["session"])
        if away > self.lapse_s:
            self._store.clear_control(row["session"])
            self._record(
                row["user"],
                "control lapsed (console gone)",
                {"no_live_console_for_s": round(away), "lapse_s": self.lapse_s},
            )
            return None
        return Holder(user=row["user"], since=row["since"], session=row["session"])

    def away_s(self, session: str) -> float:
        """How long ``session`` has had no live stream open (0 while it has one)."""
        if self._streams.get(session):
            return 0.0
        return self._now() - self._gone.get(session, self._started)

    @contextlib.contextmanager
    def watching(self, principal: Actor) -> Iterator[None]:
        """Hold this around a console's live stream: the console is present while it runs."""
        if principal.kind != "console":
            yield
            return
        session = principal.session
        self._streams[session] = self._streams.get(session, 0) + 1
        try:
            yield
        finally:
            self._streams[session] -= 1
            if not self._streams[session]:
                del self._streams[session]
                self._gone[session] = self._now()
                self._check_when_due()

    async def live(self, principal: Actor, *, heartbeat_s: float) -> AsyncIterator[str]:
        """A console's live stream as server-sent events: one ``data:`` line per change on
        the bus, and a ``heartbeat`` event every ``heartbeat_s`` so a page can tell a quiet
        server from a stalled one. The console is present for control while it runs."""
        with self.watching(principal), self._bus.subscribe() as queue:
            yield ": connected\n\n"
            while True:
                try:
                    async with asyncio.timeout(heartbeat_s):
                        update = await queue.get()
                except TimeoutError:
                    yield f"event: heartbeat\ndata: {json.dumps({'at': time.time()})}\n\n"
                    continue
                yield f"data: {json.dumps(update)}\n\n"

    def state(self, principal: Actor) -> dict[str, Any]:
        """What a console shows about control (never the session id)."""
        holder = self.holder()
        return {
            "held": holder is not None,
            "user": None if holder is None else holder.user,
            "since": None if holder is None else holder.since,
            "yours": holder is not None and holder.session == principal.session,
        }

    def _check_when_due(self) -> None:
        """Look again once a lapse is due, so other consoles hear of it at once (holder()
        publishes the change) rather than on their next poll."""
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # a stream closed outside the loop (the hub is shutting down)
            return
        loop.call_later(self.lapse_s + 0.25, self._recheck)

    def _recheck(self) -> None:
        try:
            self.holder()
        except sqlite3.ProgrammingError:  # the hub stopped and closed its store meanwhile
            return

    def take(self, principal: Actor, reason: str = "") -> Holder:
        """Take control; taking it from another session needs a reason, which is recorded."""
        if principal.kind != "console":
            raise Invalid("control belongs to console sessions; the command line needs none")
        reason = " ".join(reason.split())[:MAX_REASON]
        current = self.holder()
        if current is not None and current.session == principal.session:
            return current
        if current is not None and not reason:
            raise Conflict(
                "control is held by %(user)s (since %(since)s); to take over, "
                "give a reason (it is recorded)",
                user=current.user,
                since=current.clock,
            )
        holder = Holder(user=principal.user, since=self._now(), session=principal.session)
        self._store.set_control(session=holder.session, user=holder.user, since=holder.since)
        if current is None:
            self._record(principal.user, "take control", {"reason": reason} if reason else {})
        else:
            self._record(
                principal.user, "take over control", {"from": current.user, "reason": reason}
            )
        return holder

    def release(self, principal: Actor) -> None:
        current = self.holder()
        if current is None or current.session != principal.session:
            raise Conflict("this console does not have control, so it has none to release")
        self._store.clear_control(principal.session)
        self._record(principal.user, "release control", {})

    def forget(self, principal: Actor) -> None:
        """The session is ending (logout): control, if it had it, is released."""
        if self._store.clear_control(principal.session):
            self._record(principal.user, "release control (logout)", {})

    def authorize(self, principal: Actor, action: str) -> None:
        """Let ``principal`` change something; Conflict if another console has control."""
        current = self.holder()
        if principal.kind != "console":
            if current is not None:
                self._store.audit(
                    at=self._now(),
                    user=principal.user,
                    action="command-line action during console control",
                    detail={"request": action, "console": current.user},
                )
            return
        if current is None:
            self.take(principal, "first action while no console had control")
        elif current.session != principal.session:
            raise Conflict(
                "read-only: %(user)s has control of the console (since %(since)s). Ask them "
                "to release it, or take over control with a reason.",
                user=current.user,
                since=current.clock,
            )

    def _record(self, user: str, action: str, detail: dict[str, Any]) -> None:
        self._store.audit(at=self._now(), user=user, action=action, detail=detail)
        self._bus.publish(Change.CONTROL, action=action, user=user)
