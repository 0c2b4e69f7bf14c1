"""A district action, from the district's side: a preview confirmed in plain words, one
signed request per school, recorded, and what each school did, read back in its summary.

The district never reaches a device: each school hub checks the request and issues its
own directive (hub.district_requests). So the only truth about a request is what the
school says in its summary: ``issued`` with its directive's number, or ``refused`` and
why, then its rooms confirmed of total and the rooms still pending. The district's
record (district.store, kept by district.record from each summary) says so per school,
and "no answer" for a school that said nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from district.action import DistrictAction, new_request_id
from district.board import DistrictBoard
from district.preview import Preview, PreviewError, preview
from district.resend import Resender, ResendPolicy
from district.store import CONFIRMED, NO_ANSWER, REFUSED, DistrictStore
from protocol.codec import encode
from protocol.topics import Topics
from transport.link import Link

RECHECK_S = 1.0
"""How often following a request reads the record even when no summary came."""

__all__ = ["DistrictAction", "Preview", "PreviewError", "carry_out", "preview", "send"]


def send(
    confirmed: Preview,
    *,
    link: Link,
    key: Ed25519PrivateKey,
    store: DistrictStore,
    district: str,
    clock: Callable[[], float] = time.time,
    request_id: str | None = None,
) -> str:
    """Sign and publish one request per school of the preview the user confirmed, record
    it (first, fsynced: a request that reached a school is always in the record; then
    the schools it could not be handed over for), and return the request id (``request_id``
    if given: the console derives it from the confirmation, district.console.confirmation)."""
    action, now = confirmed.action, clock()
    request_id = request_id or new_request_id(now)
    requests = action.signed(
        key, district=district, sites=confirmed.schools, now=now, request_id=request_id
    )
    store.add_request(
        {
            "id": request_id, "sent_at": now, "issued_by": action.issued_by,
            "action": action.action.value, "scope": action.scope.value,
            "target": action.target, "drill": action.drill, "group": action.group,
            "details": {k: v for k, v in action.details.items() if v is not None},
        },
        confirmed.schools,
    )  # fmt: skip
    unsent = [
        r.site
        for r in requests
        if not link.publish(Topics(r.site).district_request(r.request_id), encode(r))
    ]
    if unsent:
        store.mark_unsent(request_id, unsent)
    return request_id


def settled(outcome: Mapping[str, Any]) -> bool:
    """Nothing more to wait for at this school: refused, every room confirmed, or the
    directive no longer in force anywhere (ended, or held everywhere by a higher one)."""
    state = outcome["state"]
    return state in (REFUSED, CONFIRMED) or (state == "issued" and not outcome["in_force"])


async def carry_out(
    action: DistrictAction,
    *,
    link: Link,
    board: DistrictBoard,
    store: DistrictStore,
    key: Ed25519PrivateKey,
    district: str,
    confirm: Callable[[str], bool],
    groups: Mapping[str, Sequence[str]] = {},
    wait_s: float = 60.0,
    clock: Callable[[], float] = time.time,
    policy: ResendPolicy | None = None,
    on_sent: Callable[[Preview, str], None] | None = None,
) -> dict[str, Any]:
    """Preview and confirm, send, and follow one district action in the record, sending
    it again to each school that has not answered (district.resend); the result as one
    JSON-able object, ``ok`` only if every school confirmed it in every room. ``on_sent``
    hears of the send (what was confirmed, the request id) before the following starts:
    the command line audits it there."""
    try:
        shown = preview(action, board, groups=groups)
    except PreviewError as error:
        return {"ok": False, "error": str(error)}
    if not confirm(shown.words):
        return {"ok": False, "cancelled": True}
    request_id = send(shown, link=link, key=key, store=store, district=district, clock=clock)
    if on_sent is not None:
        on_sent(shown, request_id)
    resender = Resender(
        link=link, store=store, key=key, district=district, board=board, clock=clock,
        policy=policy, only=request_id,
    )  # fmt: skip
    resending = asyncio.create_task(resender.run())
    try:
        record = await follow(board, store, request_id, wait_s)
    finally:
        resending.cancel()
        await asyncio.gather(resending, return_exceptions=True)
    schools = record["schools"]
    unsent = [site for site, o in schools.items() if not o["sent"]]
    silent = [site for site, o in schools.items() if o["state"] == NO_ANSWER]
    result = {
        "ok": all(o["state"] == CONFIRMED for o in schools.values()),
        "request_id": request_id,
        "drill": action.drill,
        "schools": schools,
    }
    if silent:
        result["no_answer"] = silent
    return result | ({"error": f"link lost; not sent to {unsent}"} if unsent else {})


async def follow(
    board: DistrictBoard, store: DistrictStore, request_id: str, wait_s: float
) -> dict[str, Any]:
    """The request's record once every school it was sent to settled, or ``wait_s``."""
    changed = asyncio.Event()
    board.watchers.add(changed.set)

    def record() -> dict[str, Any]:
        found = store.request(request_id)
        if found is None:
            raise KeyError(f"no request {request_id!r} in the district's record")
        return found

    def finished(found: dict[str, Any]) -> bool:
        # A school not answering yet is still being sent copies (district.resend).
        return all(settled(o) or o["gave_up"] for o in found["schools"].values())

    try:
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(wait_s):
                while not finished(record()):
                    changed.clear()
                    # Woken by a summary, and now and then for what the resender wrote.
                    with contextlib.suppress(TimeoutError):
                        async with asyncio.timeout(RECHECK_S):
                            await changed.wait()
    finally:
        board.watchers.discard(changed.set)
    return record()
