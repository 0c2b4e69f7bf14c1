"""Serial outputs driven by the current directive: USB relays (strobes, sounders) and signs.

Each output implements :class:`hardware.interfaces.Outputs`: ``apply(action, drill, text)``
states what the room's directive is now, and the output makes its device show exactly
that, whatever it showed before and however often the cable came out in between (see
:mod:`hardware.serial_link`). Actions are plain strings ("lockdown", "all_clear", ...):
``hardware`` does not import the protocol's vocabulary.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from types import TracebackType
from typing import TYPE_CHECKING, Self

from hardware.config import HardwareConfig, RelayConfig, SignConfig
from hardware.interfaces import FaultHandler, Outputs
from hardware.serial_frames import alpha_safe_text, alpha_text_packet, relay_state_frames
from hardware.serial_link import RetryPolicy, SerialLink

log = logging.getLogger(__name__)

DRILL_PREFIX = "DRILL: "

_USB_FIX = (
    "check the USB cable and that {port} exists (ls -l /dev/serial/by-id/); the "
    "service user needs the dialout group"
)


class _Closing:
    """Context-manager support shared by the outputs: ``with open_outputs(...) as out:``."""

    def close(self) -> None:
        raise NotImplementedError

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.close()


class RelayBoard(_Closing):
    """An LCUS-type USB relay module; channels follow ``hardware.relay.actions``.

    Nothing is sent until the first :meth:`apply`: a service restarting in the middle of
    a Lockdown must not blink the strobe off while it catches up.
    """

    def __init__(
        self, config: RelayConfig, *, on_fault: FaultHandler, retry: RetryPolicy | None = None
    ) -> None:
        self.config = config
        self.channels_on: frozenset[int] | None = None
        self._link = SerialLink(
            part=config.part,
            port=config.port,
            baudrate=config.baudrate,
            on_fault=on_fault,
            fix=_USB_FIX.format(port=config.port),
            refresh_s=config.refresh_s,
            frame_gap_s=config.frame_gap_s,
            retry=retry,
        )

    def apply(self, action: str, drill: bool, text: str = "") -> None:
        """Switch on the channels mapped to ``action`` (drill map first), all others off."""
        self.channels_on = self.config.channels_on(action, drill)
        log.info(
            "%s: %s%s -> channels on %s",
            self.config.part,
            action,
            " (drill)" if drill else "",
            sorted(self.channels_on),
        )
        self._link.send_state(relay_state_frames(self.config.channels, self.channels_on))

    @property
    def connected(self) -> bool:
        """Whether the board is plugged in and holds the current state."""
        return self._link.connected

    def close(self) -> None:
        """Stop driving the board; relays stay as they are."""
        self._link.close()


def sign_text(text: str, drill: bool, max_chars: int) -> str:
    """What a sign shows for a directive: ASCII, one line, and DRILL whenever it is one.

    Every message during a drill must say so, even if the text the service passed in
    does not (or says it past the sign's length limit).
    """
    shown = alpha_safe_text(text, max_chars)
    if drill and "DRILL" not in shown.upper():
        shown = alpha_safe_text(DRILL_PREFIX + text, max_chars)
    return shown


class AlphaSign(_Closing):
    """An LED message sign on the Alpha protocol, showing the directive's text."""

    def __init__(
        self, config: SignConfig, *, on_fault: FaultHandler, retry: RetryPolicy | None = None
    ) -> None:
        self.config = config
        self.text: str | None = None
        self._link = SerialLink(
            part=config.part,
            port=config.port,
            baudrate=config.baudrate,
            on_fault=on_fault,
            fix=_USB_FIX.format(port=config.port),
            refresh_s=config.refresh_s,
            retry=retry,
        )

    def apply(self, action: str, drill: bool, text: str) -> None:
        """Show ``text`` (DRILL-marked in a drill) in the colour mapped to ``action``."""
        self.text = sign_text(text, drill, self.config.max_chars)
        packet = alpha_text_packet(
            self.text,
            address=self.config.address,
            file_label=self.config.file_label,
            position=self.config.position,
            mode=self.config.mode,
            colour=self.config.colours.get(action),
        )
        self._link.send_state([packet])

    @property
    def connected(self) -> bool:
        """Whether the sign's port is open and holds the current text."""
        return self._link.connected

    def close(self) -> None:
        """Stop driving the sign; it keeps showing its last text."""
        self._link.close()


class SerialOutputs(_Closing):
    """All of a node's serial outputs behind one :class:`~hardware.interfaces.Outputs`."""

    def __init__(self, outputs: Sequence[Outputs]) -> None:
        self.outputs = tuple(outputs)

    def apply(self, action: str, drill: bool, text: str) -> None:
        """Tell every output the current directive; returns at once (writes are threaded)."""
        for output in self.outputs:
            output.apply(action, drill, text)

    def close(self) -> None:
        """Close every output."""
        for output in self.outputs:
            output.close()


def open_outputs(
    config: HardwareConfig, *, on_fault: FaultHandler, retry: RetryPolicy | None = None
) -> SerialOutputs:
    """The relay board and signs of ``hardware.relay`` / ``hardware.signs``.

    Never raises for a missing device: an unplugged strobe must not stop the node from
    showing directives, so it becomes a fault report and a retry loop instead.
    """
    outputs: list[Outputs] = []
    if config.relay is not None:
        outputs.append(RelayBoard(config.relay, on_fault=on_fault, retry=retry))
    outputs += [AlphaSign(sign, on_fault=on_fault, retry=retry) for sign in config.signs]
    return SerialOutputs(outputs)


if TYPE_CHECKING:  # mypy proves the drivers fit the protocols the service types against

    def _fits(outputs: SerialOutputs, relay: RelayBoard, sign: AlphaSign) -> list[Outputs]:
        return [outputs, relay, sign]
