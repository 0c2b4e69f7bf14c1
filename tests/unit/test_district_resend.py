"""When the district sends a request again, on a fake clock and a real SQLite record: the
policy (backoff after a copy not acknowledged, the answer bound after one handed over, at
once when the school's bridge came back, never while it is down, never after the limit),
each copy counted in the record, two senders never both sending one copy, and a school
that never answered marked as such."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from district.board import DistrictBoard
from district.resend import Resender, ResendPolicy, SchoolLink
from district.store import NOT_SENT, DistrictStore
from protocol.codec import encode
from protocol.district import RequestOutcome
from protocol.topics import DistrictChannel, Topics
from tests.unit import test_district_board as board_tests
from tests.unit.conftest import FakeClock
from tests.unit.factories import T0
from tests.unit.test_district_requests import recorded
from transport.endpoint import BrokerEndpoint
from transport.link import Link

store = board_tests.store  # the fixture: a DistrictStore on a real SQLite file
POLICY = ResendPolicy(retry_s=1.0, answer_s=10.0, backoff=2.0, max_wait_s=60.0, limit_s=300.0)
UP = SchoolLink(bridge_up=True)


def row(**changes: Any) -> dict[str, Any]:
    fields = {"sent_at": T0, "last_attempt_at": T0, "attempts": 1, "acked": None}
    return fields | changes


def test_a_copy_handed_over_waits_for_the_answer_and_one_not_acknowledged_is_retried_soon() -> None:
    assert POLICY.next_at(row(), UP) == T0 + 10  # handed over, ack not known: the answer bound
    assert POLICY.next_at(row(acked=1), UP) == T0 + 10
    assert POLICY.next_at(row(acked=0), UP) == T0 + 1  # no PUBACK, or not sent: soon
    # Backing off with each copy, up to the ceiling.
    waits = [POLICY.wait_after(n, acked=False) for n in range(1, 9)]
    assert waits == [1, 2, 4, 8, 16, 32, 60, 60]
    assert [POLICY.wait_after(n, acked=True) for n in (1, 2, 3, 4)] == [10, 20, 40, 60]
    # The limit is counted from the first send, not from the last copy.
    assert not POLICY.gives_up(row(last_attempt_at=T0 + 299), T0 + 299.9)
    assert POLICY.gives_up(row(last_attempt_at=T0 + 299), T0 + 300)


def test_nothing_is_sent_while_the_bridge_is_down_and_at_once_when_it_came_back() -> None:
    down = SchoolLink(bridge_up=False, bridge_down_at=T0 + 1, summary_at=T0 + 0.5)
    assert POLICY.next_at(row(), down) is None
    # Its will's "0" came after its "1" (a NATS node lost), but a summary crossed since.
    late_will = SchoolLink(bridge_up=False, bridge_down_at=T0 + 2, summary_at=T0 + 3)
    assert POLICY.next_at(row(), late_will) == T0 + 3
    # A "0" the resender did not see arrive (it started after): not held, the usual wait.
    assert POLICY.next_at(row(), SchoolLink(bridge_up=False)) == T0 + 10
    assert POLICY.next_at(row(), SchoolLink(bridge_up=None)) == T0 + 10  # never heard: try
    # Up again after the last copy, but no summary across it yet: the subscription may not
    # be in place, so the usual wait.
    back = SchoolLink(bridge_up=True, bridge_up_at=T0 + 3, summary_at=T0 + 1)
    assert POLICY.next_at(row(), back) == T0 + 10
    # A summary crossed after the "1": the copy before was likely dropped; send now.
    crossed = SchoolLink(bridge_up=True, bridge_up_at=T0 + 3, summary_at=T0 + 4)
    assert POLICY.next_at(row(), crossed) == T0 + 4
    # A bridge that came up before the last copy changes nothing.
    assert POLICY.next_at(row(last_attempt_at=T0 + 5), crossed) == T0 + 15


def test_two_senders_sharing_the_record_never_both_send_one_copy(store: DistrictStore) -> None:
    recorded(store)
    first, second = store.unanswered(since=T0), store.unanswered(since=T0)
    assert [r["site"] for r in first] == ["lincoln", "adams"]
    assert store.claim_attempt("r-1", "lincoln", attempts=first[0]["attempts"], at=T0 + 10)
    assert not store.claim_attempt("r-1", "lincoln", attempts=second[0]["attempts"], at=T0 + 10)
    store.note_attempt("r-1", "lincoln", handed_over=True, acked=True, error=None)
    lincoln = store.request("r-1")["schools"]["lincoln"]  # type: ignore[index]
    assert (lincoln["attempts"], lincoln["last_attempt_at"], lincoln["acked"]) == (
        2, T0 + 10, True,
    )  # fmt: skip
    assert store.unanswered(since=T0 + 1) == []  # only the requests sent since


@pytest.fixture
def board(store: DistrictStore, clock: FakeClock) -> DistrictBoard:
    return DistrictBoard(store=store, schools=["lincoln", "adams"], clock=clock)


def offline_link() -> Link:
    """A real link that never ran: every publish is refused at once, as with the link down."""
    return Link(BrokerEndpoint(host="127.0.0.1", port=1), client_id="t", will=None)


def resender(store: DistrictStore, board: DistrictBoard, clock: FakeClock, link: Link) -> Resender:
    return Resender(
        link=link, store=store, key=Ed25519PrivateKey.generate(), district="metro",
        board=board, clock=clock, policy=POLICY,
    )  # fmt: skip


def test_each_copy_is_counted_until_the_school_answers_or_the_limit_marks_it_loudly(
    store: DistrictStore, board: DistrictBoard, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    recorded(store)
    store.mark_unsent("r-1", ["lincoln", "adams"])  # the link was down at the first send
    sender = resender(store, board, clock, offline_link())
    # Adams answers (issued) before any copy is due: it is never sent again.
    decided = RequestOutcome(request_id="r-1", at=T0, issued=True, seq=3)
    issued = board_tests.summary(site="adams", requests=(decided,))
    board.on_message(Topics("adams").district(DistrictChannel.SUMMARY), encode(issued))
    assert asyncio.run(sender.send_due()) == T0 + 1
    clock.advance(1)
    asyncio.run(sender.send_due())
    lincoln = store.request("r-1")["schools"]["lincoln"]  # type: ignore[index]
    assert (lincoln["attempts"], lincoln["acked"], lincoln["sent"]) == (2, False, False)
    assert lincoln["last_error"] == NOT_SENT and lincoln["last_attempt_at"] == T0 + 1
    assert store.request("r-1")["schools"]["adams"]["attempts"] == 1  # type: ignore[index]
    # Not due again until the backoff says (2 s after the second copy).
    assert asyncio.run(sender.send_due()) == T0 + 3
    copies = 2
    while clock.now < T0 + 300:
        next_due = asyncio.run(sender.send_due())
        copies = store.request("r-1")["schools"]["lincoln"]["attempts"]  # type: ignore[index]
        clock.now = min(next_due or T0 + 300, T0 + 300)
    assert copies == 10  # at 0, 1, 3, 7, 15, 31, 63, 123, 183, 243 s; the next is past 300
    asyncio.run(sender.send_due())
    lincoln = store.request("r-1")["schools"]["lincoln"]  # type: ignore[index]
    assert lincoln["gave_up"] and lincoln["state"] == "no answer"
    assert lincoln["last_error"].startswith("NO ANSWER from the school after 10 copies")
    assert "DISTRICT REQUEST r-1 to lincoln: NO ANSWER" in caplog.text
    assert asyncio.run(sender.send_due()) is None  # nothing more to send


def test_a_bridge_counts_as_back_only_after_it_was_seen_down(
    store: DistrictStore, board: DistrictBoard, clock: FakeClock
) -> None:
    sender = resender(store, board, clock, offline_link())
    asyncio.run(_watched(sender, board, clock))
    assert sender.school_link("adams") == SchoolLink(bridge_up=True)  # first heard: "1"
    back = sender.school_link("lincoln")
    assert (back.bridge_up, back.bridge_down_at, back.bridge_up_at) == (True, T0, T0 + 2)


async def _watched(sender: Resender, board: DistrictBoard, clock: FakeClock) -> None:
    """The resender's loop running while bridges speak: Adams "1" (a retained one, for
    all the district knows); Lincoln "0", then "1" two seconds later."""
    running = asyncio.create_task(sender.run(idle_s=0.01))
    await asyncio.sleep(0)  # let it start watching the board
    try:
        for site, payload in (("adams", b"1"), ("lincoln", b"0")):
            board.on_message(Topics(site).district(DistrictChannel.BRIDGE), payload)
        clock.advance(2)
        board.on_message(Topics("lincoln").district(DistrictChannel.BRIDGE), b"1")
    finally:
        running.cancel()
        await asyncio.gather(running, return_exceptions=True)


def test_a_record_kept_before_resending_existed_gains_the_copies_columns(tmp_path: Path) -> None:
    """A district.db written by the version before (no attempts columns) opens and reads."""
    path = tmp_path / "old.db"
    with sqlite3.connect(path) as old:
        old.executescript(
            "CREATE TABLE request_schools (request_id TEXT NOT NULL, site TEXT NOT NULL, "
            "position INTEGER NOT NULL, sent INTEGER NOT NULL, state TEXT NOT NULL, "
            "seq INTEGER, reason TEXT, confirmed INTEGER NOT NULL DEFAULT 0, "
            "total INTEGER NOT NULL DEFAULT 0, pending_rooms TEXT NOT NULL DEFAULT '[]', "
            "in_force INTEGER NOT NULL DEFAULT 0, updated_at REAL, school_time REAL, "
            "summary_seq INTEGER, PRIMARY KEY (request_id, site));"
        )
    opened = DistrictStore(path)
    try:
        recorded(opened)
        lincoln = opened.request("r-1")["schools"]["lincoln"]  # type: ignore[index]
        assert (lincoln["attempts"], lincoln["acked"], lincoln["gave_up"]) == (1, None, False)
    finally:
        opened.close()
