"""Teacher's page press to the office console, measured beside the fixed button's.

A teacher is made from a staff list (as the office would: ``provision staff import``) for
the simulated rooms, logs in on the page over HTTP, and sends ``presses`` panic presses
``interval_s`` apart, each as the page does once its hold has run out: ``POST
/api/teacher/rooms/<room>/panic`` with an id of its own. Each is timed from the moment the
request is sent to its arrival on the console's live stream (the same stream, and the
same clock, as the button's ``console_ms``); the page's own round trip is ``post_ms``.
The hold itself (3 s by default) is the person's deliberate act and is not counted, as the
button's hold is not.
"""

from __future__ import annotations

import time
import uuid
from typing import Any

import httpx

from benchmarks.stack import Stack
from benchmarks.stats import summary
from benchmarks.stream import Arrival, Stream
from hub.bus import Change
from protocol.messages import EventKind
from provisioning.staff import import_staff
from provisioning.users import set_password

TEACHER = "bench-teacher"
PASSWORD = "bench teacher password"


def _teacher(stack: Stack, rooms: list[str]) -> httpx.Client:
    """A teacher of ``rooms``, logged in on the page (the hub re-reads the users file)."""
    sheet = stack.state_dir / "staff.csv"
    sheet.write_text(f"name,username,rooms\nBench Teacher,{TEACHER},{';'.join(rooms)}\n")
    import_staff(stack.site.layout.root, sheet)
    set_password(stack.site.layout.root, TEACHER, PASSWORD)
    client = httpx.Client(base_url=stack.hub_url, timeout=10.0)
    body = {"user": TEACHER, "password": PASSWORD, "kind": "page"}
    login = client.post("/api/login", json=body)
    login.raise_for_status()
    client.headers["X-CSRF-Token"] = login.json()["csrf"]
    return client


def page_panic(stack: Stack, stream: Stream, presses: int, interval_s: float) -> dict[str, Any]:
    rooms = stack.simulated_rooms[:10]
    chosen = [rooms[i % len(rooms)] for i in range(presses)]
    sent: dict[str, float] = {}
    posts: list[float] = []
    client = _teacher(stack, rooms)
    try:
        mark = stream.mark()
        for room in chosen:
            started = time.time()
            answer = client.post(
                f"/api/teacher/rooms/{room}/panic", json={"press_id": uuid.uuid4().hex}
            )
            posts.append((time.time() - started) * 1000)
            answer.raise_for_status()
            sent[str(answer.json()["event_id"])] = started
            time.sleep(interval_s)
    finally:
        client.close()

    def panics(arrivals: list[Arrival]) -> dict[str, float]:
        return {
            str(u["event_id"]): at
            for at, u in arrivals
            if u.get("kind") == Change.EVENT
            and u.get("event") == EventKind.PANIC
            and u["event_id"] in sent
        }

    arrived = panics(stream.wait_until(mark, lambda a: len(panics(a)) == len(sent), within_s=15))
    return {
        "presses": presses,
        "received": len(arrived),
        "not_seen": sorted(set(sent) - set(arrived)),
        "interval_ms": round(interval_s * 1000),
        "console_ms": summary([(at - sent[event]) * 1000 for event, at in arrived.items()]),
        "post_ms": summary(posts),
    }
