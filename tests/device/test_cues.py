"""The room's LED and outputs on their own: nothing visible in a Lockdown, and a sign
that says when its directive may be stale."""

from __future__ import annotations

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from device.cues import ACCEPTED, IDENTIFY, RoomCues
from device.screen import LinkState
from device.view import indicator
from hardware.simulated import SimulatedIndicator, SimulatedOutputs, SimulatedSounder
from protocol.messages import Directive, EventKind
from protocol.signing import sign_directive
from protocol.srp import Action, Vocabulary
from protocol.topics import ScopeKind
from tests.device.helpers import T0

VOCABULARY = Vocabulary()


class Parts:
    def __init__(self) -> None:
        self.led = SimulatedIndicator()
        self.sounder = SimulatedSounder()
        self.outputs = SimulatedOutputs()
        self.signals = RoomCues(self.led, self.sounder, self.outputs, VOCABULARY)

    @property
    def showing(self) -> tuple[tuple[float, float, float], str]:
        return self.led.colour, self.led.pattern


def directive(action: Action, hub_key: Ed25519PrivateKey, *, drill: bool = False) -> Directive:
    unsigned = Directive(
        seq=1,
        issued_at=T0,
        scope=ScopeKind.SITE,
        action=action,
        drill=drill,
        issued_by="office",
    )
    return sign_directive(unsigned, hub_key)


async def test_a_lockdown_cuts_an_identify_blink_short(hub_key: Ed25519PrivateKey) -> None:
    room = Parts()
    room.signals.show_state(None, LinkState.OK)
    assert room.signals.identify()
    assert room.showing == (IDENTIFY.colour, IDENTIFY.pattern)
    lockdown = directive(Action.LOCKDOWN, hub_key)
    room.signals.follow(lockdown, LinkState.OK)
    assert not room.signals.confirming
    assert room.showing == indicator(lockdown, LinkState.OK, VOCABULARY)


async def test_no_identify_and_no_confirmation_in_a_lockdown(hub_key: Ed25519PrivateKey) -> None:
    room = Parts()
    lockdown = directive(Action.LOCKDOWN, hub_key, drill=True)
    room.signals.follow(lockdown, LinkState.OK)
    room.signals.show_state(lockdown, LinkState.OK)
    before = list(room.led.history)
    assert not room.signals.identify()
    room.signals.accepted(EventKind.ALL_ACCOUNTED, lockdown)
    room.signals.delivered(EventKind.ALL_ACCOUNTED, lockdown)
    assert not room.signals.confirming
    assert room.led.history == before
    assert room.sounder.chirps == []


async def test_confirmation_comes_back_once_the_lockdown_is_over(
    hub_key: Ed25519PrivateKey,
) -> None:
    room = Parts()
    room.signals.follow(directive(Action.LOCKDOWN, hub_key), LinkState.OK)
    clear = directive(Action.ALL_CLEAR, hub_key)
    room.signals.follow(clear, LinkState.OK)
    room.signals.accepted(EventKind.STAFF_ASSIST, clear)
    assert room.showing == (ACCEPTED.colour, ACCEPTED.pattern)
    assert room.sounder.chirps == [ACCEPTED.chirps]


def test_a_sign_says_when_the_hub_cannot_be_heard(hub_key: Ed25519PrivateKey) -> None:
    room = Parts()
    lockdown = directive(Action.LOCKDOWN, hub_key)
    text = "LOCKDOWN - Locks, lights, out of sight."
    for link in (LinkState.OK, LinkState.OK, LinkState.LINK_LOST, LinkState.HUB_OFFLINE):
        room.signals.follow(lockdown, link)
    room.signals.follow(lockdown, LinkState.OK)
    assert room.outputs.applied == [
        ("lockdown", False, text),  # once: an unchanged state is not sent again
        ("lockdown", False, f"LINK LOST: {text}"),
        ("lockdown", False, f"HUB OFFLINE: {text}"),
        ("lockdown", False, text),  # the link is back
    ]
    # The relays are told the same action and drill flag throughout: a strobe keeps
    # following the last directive whatever the link does.
    assert {(action, drill) for action, drill, _ in room.outputs.applied} == {("lockdown", False)}


def test_nothing_reaches_the_outputs_before_the_first_directive() -> None:
    room = Parts()
    for link in (LinkState.LINK_LOST, LinkState.OK, LinkState.HUB_OFFLINE):
        room.signals.follow(None, link)
    assert room.outputs.applied == []
