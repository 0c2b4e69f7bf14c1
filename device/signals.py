"""What the room perceives besides the screen: the status LED, the buzzer, relays and signs.

Kept apart from the service so the rules sit in one place:

* Relays and signs follow the effective directive: every change is applied, and only a
  change (the outputs themselves re-send their state to survive unplugging).
* A completed press is confirmed on the LED at once ("accepted": white blink), and again
  when the hub's receipt arrives ("delivered": steady green), so a teacher knows the
  alert left the room and then that the office has it.
* The buzzer confirms only where sound is safe: never while a Lockdown (drill or real)
  is in force, and never for a panic press unless the site turned ``panic_chirp`` on.
  Alyssa's Law asks for a *silent* alarm: an intruder in the room must not hear that
  the teacher pressed the button.

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


def may_chirp(kind: EventKind, directive: Directive | None, *, panic_chirp: bool) -> bool:
    """Whether a confirmation beep is safe: never in a Lockdown; a panic only if allowed."""
    if lockdown_in_force(directive):
        return False
    return kind is not EventKind.PANIC or panic_chirp


class RoomSignals:
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

    def follow(self, directive: Directive | None) -> None:
        """Tell relays and signs the room's directive, if it changed.

        Nothing is sent before the first directive: a node restarting with none known
        must not switch off a strobe another source may still hold on.
        """
        if directive is None or self._outputs is None:
            return
        wanted = (
            directive.action.value,
            directive.drill,
            output_text(directive, self._vocabulary),
        )
        if wanted != self._applied:
            self._applied = wanted
            self._outputs.apply(*wanted)

    def show_state(self, directive: Directive | None, link: LinkState) -> None:
        """The LED's resting state (directive colour, drill blink, link pulse)."""
        self._state = indicator(directive, link, self._vocabulary)
        if self._feedback is None:
            self._indicator.show(*self._state)

    def accepted(self, kind: EventKind, directive: Directive | None) -> None:
        """A press completed and its event is in the outbox."""
        self._confirm(ACCEPTED, kind, directive)

    def delivered(self, kind: EventKind, directive: Directive | None) -> None:
        """The hub's receipt for a person's event arrived."""
        self._confirm(DELIVERED, kind, directive)

    def identify(self) -> None:
        """Blink for a technician; silent, and never during a Lockdown (it shows a light)."""
        self._hold(IDENTIFY)

    @property
    def confirming(self) -> bool:
        """Whether the LED is showing a confirmation instead of the resting state."""
        return self._feedback is not None

    def _confirm(self, feedback: Feedback, kind: EventKind, directive: Directive | None) -> None:
        if kind not in PERSON_KINDS:
            return
        self._hold(feedback)
        if self._sounder is not None and may_chirp(kind, directive, panic_chirp=self._panic_chirp):
            self._sounder.chirp(feedback.chirps)
        else:
            log.debug("%s confirmed silently", kind.value)

    def _hold(self, feedback: Feedback) -> None:
        """Show ``feedback`` instead of the resting state for its time."""
        if self._feedback is not None:
            self._feedback.cancel()
            self._feedback = None
        self._indicator.show(feedback.colour, feedback.pattern)
        with suppress(RuntimeError):  # no loop (a script pressing): the next redraw rests it
            loop = asyncio.get_running_loop()
            self._feedback = loop.call_later(feedback.seconds, self._rest)

    def _rest(self) -> None:
        self._feedback = None
        if self._state is not None:
            self._indicator.show(*self._state)
