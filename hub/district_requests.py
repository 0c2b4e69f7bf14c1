"""District requests at a school hub: untrusted input, checked, then the school's own act.

A request arrives on ``district-request/<id>`` across the school's bridge. It is held to
the same bounds as a device's message (strict decode, 4 KiB, typed errors), then checked
in this order: the topic names its id, the district's key signed it, it is from this
school's district and for this school, it was never decided before (SQLite), and it is
fresh by the hub's clock (``REQUEST_TOLERANCE_S``). The district sends a request again,
same id and signed anew, until the school answers in its summary (district.resend), so
the id is what is decided once: a copy of an id already decided is refused as replayed
and changes nothing (not the record, not the outcome the summary carries), and a stale
copy is refused without deciding the id, so that a fresh copy still can. Only then does
the hub issue its **own** signed directive through the engine, exactly as the office
would: SRP precedence and the Lockdown rule hold (a district Hold never ends a school's
Lockdown), and a district All clear ends only what the district started. Every decision
is logged, counted (the engine's ``rejected``) and audited with the district user and the
request id.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from hub.directives import DirectiveRequest
from hub.engine import Engine
from hub.errors import Refused
from hub.guard import LogThrottle
from hub.store import HubStore
from protocol.codec import DecodeError, decode
from protocol.district import REQUEST_TOLERANCE_S, DistrictRequest
from protocol.messages import Directive
from protocol.signing import BadSignature, PublicKey, verify
from protocol.srp import Action, is_idle
from protocol.topics import Topics

log = logging.getLogger(__name__)

UNVERIFIED = "district (unverified)"
"""The audit's user for a request whose signature did not hold: nobody is known."""


class DistrictDesk:
    """The handler the hub's link routes ``district-request/#`` to."""

    def __init__(
        self,
        *,
        district: str,
        key: PublicKey,
        topics: Topics,
        engine: Engine,
        store: HubStore,
        clock: Callable[[], float],
        tolerance_s: float = REQUEST_TOLERANCE_S,
    ) -> None:
        self._district, self._key, self._topics = district, key, topics
        self._engine, self._store, self._now = engine, store, clock
        self._tolerance_s = tolerance_s
        self._audit_throttle = LogThrottle()

    def on_request(self, topic: str, payload: bytes) -> Directive | None:
        """Check one request and issue the school's directive for it; None if refused."""
        try:
            request = decode(payload, DistrictRequest)
        except DecodeError as error:
            self._unverified("malformed", f"{topic}: {error.reason}")
            return None
        if topic != self._topics.district_request(request.request_id):
            self._unverified("topic mismatch", f"{request.request_id} arrived on {topic}")
            return None
        try:
            verify(request, self._key)
        except BadSignature:
            self._unverified(
                "bad signature", f"{request.request_id}: not signed by the district's key"
            )
            return None
        reason = self._check(request)
        if reason is not None:
            self._refuse(request, reason)
            return None
        stale = self._stale(request)
        if stale is not None:
            self._refuse(request, stale, decided=False)
            return None
        try:
            directive = self._issue(request)
        except Refused as error:
            self._refuse(request, f"refused by the school: {error}")
            return None
        self._store.add_district_request(request, at=self._now(), seq=directive.seq, reason=None)
        self._store.audit(
            at=self._now(),
            user=_user(request),
            action="district request issued",
            detail=_detail(request) | {"seq": directive.seq},
        )
        log.warning(
            "DISTRICT REQUEST %s from %s: issued directive #%d",
            request.request_id,
            _user(request),
            directive.seq,
        )
        return directive

    def _check(self, request: DistrictRequest) -> str | None:
        if request.district != self._district:
            return f"another district ({request.district}, this school is in {self._district})"
        if request.site != self._topics.site:
            return f"for another school ({request.site})"
        if self._store.knows_request(request.request_id):
            return "replayed (this request id was already decided)"
        return None

    def _stale(self, request: DistrictRequest) -> str | None:
        """A copy too old (queued while the bridge was down) or from a clock too far ahead.
        Not a decision on the request: a fresh copy of the same id is still decided."""
        age = self._now() - request.issued_at
        if abs(age) > self._tolerance_s:
            when = "old" if age > 0 else "ahead of the school's clock"
            return f"stale ({abs(age):.0f} s {when}; the limit is {self._tolerance_s:.0f} s)"
        return None

    def _issue(self, request: DistrictRequest) -> Directive:
        wanted = DirectiveRequest(
            action=request.action,
            scope=request.scope,
            target=request.target,
            drill=request.drill,
            location=request.location,
            hazard=request.hazard,
            strategy=request.strategy,
            note=request.note,
        )
        directives = self._engine.directives
        if request.action is Action.ALL_CLEAR:
            self._check_all_clear(directives.validate(wanted, user=_user(request)))
        return directives.issue(wanted, user=_user(request))

    def _check_all_clear(self, probe: Directive) -> None:
        """A district All clear ends what the district started, never the school's own."""
        directives = self._engine.directives
        in_force = {
            d.seq: d
            for room in directives.rooms_in(probe)
            if (d := directives.effective(room)) is not None and not is_idle(d.action)
        }
        from_district = self._store.requests_of(in_force)
        own = [d for seq, d in sorted(in_force.items()) if seq not in from_district]
        if own:
            first = own[0]
            term = directives.vocabulary[first.action].term
            raise _SchoolsOwn(
                f"the school's own {term} #{first.seq} is in force; the school ends it"
            )

    def _refuse(self, request: DistrictRequest, reason: str, *, decided: bool = True) -> None:
        """A verified request refused: counted, audited, and recorded as decided unless
        it is only a stale copy or its id already is (a replay leaves the first decision,
        and so the summary's outcome, as it was)."""
        kind = reason.split(" (")[0].split(":")[0]
        self._engine.rejected.record(f"district request {kind}", f"{request.request_id}: {reason}")
        if decided:
            self._store.add_district_request(request, at=self._now(), seq=None, reason=reason)
        if self._audit_throttle.should_log(f"{kind}:{request.request_id}", self._now()):
            self._store.audit(
                at=self._now(),
                user=_user(request),
                action="district request refused",
                detail=_detail(request) | {"reason": reason},
            )
        log.warning("DISTRICT REQUEST %s refused: %s", request.request_id, reason)

    def _unverified(self, kind: str, detail: str) -> None:
        """Refused before anyone is known: counted; audited once a minute per kind, since
        whoever can write the topic could otherwise fill the audit log."""
        self._engine.rejected.record(f"district request {kind}", detail)
        if self._audit_throttle.should_log(kind, self._now()):
            self._store.audit(
                at=self._now(),
                user=UNVERIFIED,
                action="district request refused",
                detail={"reason": kind, "detail": detail},
            )


class _SchoolsOwn(Refused):
    """A district All clear that would end a directive the school issued itself."""


def _user(request: DistrictRequest) -> str:
    return f"district:{request.issued_by}"


def _detail(request: DistrictRequest) -> dict[str, object]:
    return {
        "request_id": request.request_id,
        "district": request.district,
        "district_user": request.issued_by,
        "action": request.action.value,
        "scope": request.scope.value,
        "target": request.target,
        "drill": request.drill,
        "issued_at": request.issued_at,
    }
