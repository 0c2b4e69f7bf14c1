"""A directive from the office reaches every classroom's screen and comes back as an ack."""

from __future__ import annotations

import pytest

from hub.directives import DirectiveRequest
from hub.queries import alerts, campus_status
from hub.service import HubService
from protocol.messages import EventKind
from protocol.srp import Action
from protocol.topics import ScopeKind
from tests.conftest import Node, eventually

pytestmark = pytest.mark.integration


async def test_lockdown_reaches_every_screen_and_is_acked(
    hub: HubService, nodes: list[Node]
) -> None:
    directive = hub.engine.directives.issue(
        DirectiveRequest(action=Action.LOCKDOWN, drill=True), user="t"
    )

    await eventually(lambda: all(n.service.acked_seq == directive.seq for n in nodes), *nodes)
    await eventually(
        lambda: hub.engine.acks.directive_report(directive)["acked"] == len(nodes), hub
    )

    report = hub.engine.acks.directive_report(directive)
    assert report["total"] == 3
    assert report["ack_ms"]["max"] is not None
    for node in nodes:
        assert node.service.shown_seq == directive.seq
        assert node.display.frames_shown >= 1
        assert node.indicator.pattern in ("blink", "pulse")  # a drill blinks


async def test_room_release_then_all_clear(hub: HubService, nodes: list[Node]) -> None:
    lockdown = hub.engine.directives.issue(DirectiveRequest(action=Action.LOCKDOWN), user="t")
    await eventually(lambda: all(n.service.acked_seq == lockdown.seq for n in nodes), *nodes)
    released_room = nodes[0].service.config.room

    release = hub.engine.directives.release(released_room, user="t")

    await eventually(lambda: nodes[0].service.acked_seq == release.seq, *nodes)
    assert [n.service.effective.action for n in nodes[1:]] == [Action.LOCKDOWN] * 2  # type: ignore[union-attr]
    status = campus_status(hub.engine, hub.store, connected=True)
    actions = {r["room"]: r["directive"]["action"] for r in status["rooms"]}
    assert actions[released_room] == "release"

    clear = hub.engine.directives.issue(DirectiveRequest(action=Action.ALL_CLEAR), user="t")
    await eventually(lambda: all(n.service.acked_seq == clear.seq for n in nodes), *nodes)
    assert all(n.service.effective.action is Action.ALL_CLEAR for n in nodes)  # type: ignore[union-attr]


async def test_room_scoped_directive_reaches_only_that_room(
    hub: HubService, nodes: list[Node]
) -> None:
    target = nodes[1].service.config.room
    directive = hub.engine.directives.issue(
        DirectiveRequest(action=Action.HOLD, scope=ScopeKind.ROOM, target=target), user="t"
    )
    await eventually(lambda: nodes[1].service.acked_seq == directive.seq, *nodes)
    assert nodes[0].service.effective is None
    assert nodes[2].service.effective is None


async def test_panic_reaches_hub_once_and_leaves_the_outbox(
    hub: HubService, nodes: list[Node]
) -> None:
    node = nodes[2]
    event = node.service.activate(EventKind.PANIC)
    assert event is not None

    await eventually(lambda: not node.service.pending_events(), node, what="receipt")
    found = [a for a in alerts(hub.store) if a["event_id"] == event.event_id]
    assert len(found) == 1
    assert found[0]["room"] == node.service.config.room
    assert found[0]["open"] is True


async def test_the_same_directive_again_is_shown_and_acked_again(
    hub: HubService, nodes: list[Node]
) -> None:
    """A repeated Hold looks the same on screen but is a new directive: every display must
    confirm it, or the office would wait on rooms that did see it."""
    first = hub.engine.directives.issue(DirectiveRequest(action=Action.HOLD), user="t")
    await eventually(lambda: all(n.service.acked_seq == first.seq for n in nodes), *nodes)

    again = hub.engine.directives.issue(DirectiveRequest(action=Action.HOLD), user="t")

    await eventually(
        lambda: all(n.service.acked_seq == again.seq for n in nodes),
        *nodes,
        within_s=5,
        what="acks of the repeated Hold",
    )
