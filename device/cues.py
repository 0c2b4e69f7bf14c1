"""What the room perceives besides the screen (its cues): the status LED, the buzzer, relays
and signs.

Kept apart from the service so the rules sit in one place:

* Relays and signs follow the effective directive: every change is applied, and only a
  change (the outputs themselves re-send their state to survive unplugging). A sign's
  text says ``LINK LOST`` (or ``HUB OFFLINE``) while the hub cannot be heard, as the
  screen does: a sign must not show a stale directive as if it were current. Relays do
  not change with the link: a strobe keeps following the last directive it was given.
* A completed press is confirmed on the LED at once ("accepted": white blink), and again
  when the hub's receipt arrives ("delivered": steady green), so a teacher knows the
  alert left the room and then that the office has it.
* **Never during a Lockdown** (drill or real): no LED confirmation, no beep, no identify
  blink. A blink then steady green after a press tells an intruder in the hall that the
  room is occupied, the "we're OK" card the SRP forbids. When a Lockdown becomes
  effective, any confirmation still showing ends at once and the LED goes to its
  Lockdown resting state. The press itself still reaches the hub and the office.
* The buzzer confirms only where sound is safe: never in a Lockdown, and never for a
  panic press unless the site turned ``panic_chirp`` on. Alyssa's Law asks for a
  *silent* alarm: an intruder in the room must not hear that the teacher pressed.

Everything here runs on the event loop; the drivers return at once (gpiozero blinks on
its own thread, serial outputs write on theirs).
"""

from __future__ import annotations

import asyncio
import logging
from contextlib import suppress
from dataclasses import dataclass

from device.screen import LinkState
from device.view import indicator, output_text
from hardware.interfaces import RGB, Indicator, Outputs, Sounder
from protocol.messages import Directive, EventKind
from protocol.srp import Action, Vocabulary

log = logging.getLogger(__name__)

PERSON_KINDS = frozenset(
    {EventKind.PANIC, EventKind.CANCEL, EventKind.STAFF_ASSIST, EventKind.ALL_ACCOUNTED}
)
"""Events a person caused by pressing a button: the ones that get feedback."""


@dataclass(frozen=True)
class Feedback:
    """One LED confirmation: colour and pattern, held for ``seconds``; then beeps."""

    colour: RGB
    pattern: str
    seconds: float
    chirps: int


ACCEPTED = Feedback((1.0, 1.0, 1.0), "blink", 10.0, 1)
"""The press was stored and is on its way (blinks until the receipt, at most 10 s)."""
DELIVERED = Feedback((0.0, 1.0, 0.0), "steady", 3.0, 2)
"""The hub has it: a different colour and rhythm, and two beeps where sound is safe."""


IDENTIFY = Feedback((0.0, 0.4, 1.0), "blink", 15.0, 0)
"""Asked for by IT (a signed command): blink so a technician can find this node."""


def lockdown_in_force(directive: Directive | None) -> bool:
    return directive is not None and directive.action is Action.LOCKDOWN


def sign_line(directive: Directive, link: LinkState, vocabulary: Vocabulary) -> str:
    """What a message sign shows: the directive, marked when the hub cannot be heard."""
    text = output_text(directive, vocabulary)
    return text if link is LinkState.OK else f"{link.value}: {text}"


def may_chirp(kind: EventKind, directive: Directive | None, *, panic_chirp: bool) -> bool:
    """Whether a confirmation beep is safe: never in a Lockdown; a panic only if allowed."""
    if lockdown_in_force(directive):
        return False
    return kind is not EventKind.PANIC or panic_chirp


class RoomCues:
    """The LED, buzzer and directive-following outputs of one classroom node."""

    def __init__(
        self,
        indicator: Indicator,
        sounder: Sounder | None,
        outputs: Outputs | None,
        vocabulary: Vocabulary,
        *,
        panic_chirp: bool = False,
    ) -> None:
        self._indicator = indicator
        self._sounder = sounder
        self._outputs = outputs
        self._vocabulary = vocabulary
        self._panic_chirp = panic_chirp
        self._applied: tuple[str, bool, str] | None = None
        self._state: tuple[RGB, str] | None = None
        self._feedback: asyncio.TimerHandle | None = None
        self._lockdown = False
        """A Lockdown is in force (as of the last directive this was told about)."""

    def follow(self, directive: Directive | None, link: LinkState) -> None:
        """Tell relays and signs the room's directive and link state, if they changed.

        Called when a directive is applied and on every screen tick (the link state
        changes without a directive). A Lockdown taking effect ends any confirmation
        on the LED at once. Nothing is sent to the outputs before the first directive:
        a node restarting with none known must not switch off a strobe another source
        may still hold on.
        """
        self._lockdown = lockdown_in_force(directive)
        if self._lockdown and self._feedback is not None:
            self.show_state(directive, link)
        if directive is None or self._outputs is None:
            return
        wanted = (
            directive.action.value,
            directive.drill,
            sign_line(directive, link, self._vocabulary),
        )
        if wanted != self._applied:
            self._applied = wanted
            self._outputs.apply(*wanted)

    def show_state(self, directive: Directive | None, link: LinkState) -> None:
        """The LED's resting state (directive colour, drill blink, link pulse).

        In a Lockdown the resting state is all the LED ever shows: a confirmation still
        running is cut short.
        """
        self._lockdown = lockdown_in_force(directive)
        if self._lockdown:
            self._end_feedback()
        self._state = indicator(directive, link, self._vocabulary)
        if self._feedback is None:
            self._indicator.show(*self._state)

    def accepted(self, kind: EventKind, directive: Directive | None) -> None:
        """A press completed and its event is in the outbox."""
        self._confirm(ACCEPTED, kind, directive)

    def delivered(self, kind: EventKind, directive: Directive | None) -> None:
        """The hub's receipt for a person's event arrived."""
        self._confirm(DELIVERED, kind, directive)

    def identify(self) -> bool:
        """Blink for a technician; silent. Never in a Lockdown (it shows a light):
        False when refused."""
        if self._lockdown:
            log.info("identify refused: a Lockdown is in force")
            return False
        self._hold(IDENTIFY)
        return True

    @property
    def confirming(self) -> bool:
        """Whether the LED is showing a confirmation instead of the resting state."""
        return self._feedback is not None

    def _confirm(self, feedback: Feedback, kind: EventKind, directive: Directive | None) -> None:
        if kind not in PERSON_KINDS:
            return
        if self._lockdown or lockdown_in_force(directive):
            # Nothing visible or audible: the event still goes to the hub and the office.
            log.debug("%s not confirmed: a Lockdown is in force", kind.value)
            return
        self._hold(feedback)
        if self._sounder is not None and may_chirp(kind, directive, panic_chirp=self._panic_chirp):
            self._sounder.chirp(feedback.chirps)
        else:
            log.debug("%s confirmed silently", kind.value)

    def _end_feedback(self) -> None:
        if self._feedback is not None:
            self._feedback.cancel()
            self._feedback = None

    def _hold(self, feedback: Feedback) -> None:
        """Show ``feedback`` instead of the resting state for its time."""
        self._end_feedback()
        self._indicator.show(feedback.colour, feedback.pattern)
        with suppress(RuntimeError):  # no loop (a script pressing): the next redraw rests it
            loop = asyncio.get_running_loop()
            self._feedback = loop.call_later(feedback.seconds, self._rest)

    def _rest(self) -> None:
        self._feedback = None
        if self._state is not None:
            self._indicator.show(*self._state)
