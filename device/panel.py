"""The display as the service drives it: paged frames, drawn off the loop, faults reported.

Rendering (12-18 ms for an 800x480 RGB frame here, ten times that on a Pi Zero) and the
frame write (a blocking I2C/SPI transfer) both run in one worker thread, so the event
loop, and with it the panic button's path to the hub, never waits for a frame. The
thread is the panel's own: a frame never queues behind the MQTT client's blocking
connect in the loop's default executor, and each frame wakes one thread, not a pool
whose idle threads wake and go back to sleep (21 futex calls per directive with
``asyncio.to_thread``, 9 with one thread). A panel that fails (unplugged, or never
found at start-up) is a fault, not a crash: the frame is retried on the next tick, the
fault is reported once, and nothing is acknowledged to the hub until a frame has really
been drawn, so the office sees that this room has not displayed the directive.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import Executor, ThreadPoolExecutor

from PIL import Image

from device.screen import ScreenView, render_pages
from device.view import brightness
from hardware.errors import HardwareError
from hardware.interfaces import Display, FaultHandler
from protocol.messages import Directive

PAGE_SECONDS = 4.0
"""How long each page of a long directive stays up."""
PART = "display"


class Pager:
    """Which page of the current view is due, and whether it is already on the panel."""

    def __init__(
        self,
        render: Callable[[ScreenView], list[Image.Image]],
        *,
        page_seconds: float = PAGE_SECONDS,
    ) -> None:
        self._render = render
        self._page_seconds = page_seconds
        self._view: ScreenView | None = None
        self._pages: list[Image.Image] = []
        self._page = 0
        self._since = 0.0
        self._drawn = False

    def due(self, view: ScreenView, now: float) -> bool:
        """Whether :meth:`frame` has one to draw: cheap, so it can be asked on the loop."""
        if view != self._view or not self._drawn:
            return True
        return len(self._pages) > 1 and now - self._since >= self._page_seconds

    def frame(self, view: ScreenView, now: float) -> Image.Image | None:
        """The frame to draw now, or None when the due page is already shown."""
        if view != self._view:
            self._view, self._pages = view, self._render(view)
            self._page, self._since, self._drawn = 0, now, False
        elif len(self._pages) > 1 and now - self._since >= self._page_seconds:
            self._page, self._since = (self._page + 1) % len(self._pages), now
            self._drawn = False
        return None if self._drawn else self._pages[self._page]

    def drawn(self) -> None:
        """The frame last returned is on the panel."""
        self._drawn = True


class Panel:
    """One display, with the sequence number of the directive it really shows.

    ``worker`` runs the frames; by default the panel starts a thread of its own on the
    first frame and stops it in :meth:`close`. Many services in one process (the
    simulator) pass one shared pool instead of a thread each.
    """

    def __init__(
        self, display: Display, *, on_fault: FaultHandler, worker: Executor | None = None
    ) -> None:
        self._display = display
        self._on_fault = on_fault
        self._pager = Pager(lambda view: render_pages(view, display.size, display.mode))
        self._worker = worker
        self._own_worker: ThreadPoolExecutor | None = None
        self.shown_seq = 0
        """Sequence of the directive on the panel (0: none); set once a frame is drawn."""

    def close(self) -> None:
        """Stop the panel's own thread, if it started one.

        A frame being drawn is finished first, as ``asyncio.run`` does for its default
        executor: whoever owns the display closes it next, and must not close it under
        a frame write.
        """
        if self._own_worker is not None:
            self._own_worker.shutdown(wait=True, cancel_futures=True)
            self._own_worker = None

    async def update(self, view: ScreenView, directive: Directive | None, now: float) -> bool:
        """Draw the due page of ``view`` if it is not on the panel; True if one was drawn.

        The page is rendered and written in a worker thread (one at a time: the caller
        awaits each update), never on the event loop; a tick with nothing to draw does
        not leave the loop at all.
        """
        if not self._pager.due(view, now):
            self._showing(directive)
            return False
        try:
            loop = asyncio.get_running_loop()
            drawn = await loop.run_in_executor(self._frames(), self._draw, view, directive, now)
        except HardwareError as error:
            self._on_fault(PART, str(error))
            return False
        if drawn:
            self._on_fault(PART, "")
        return drawn

    def _frames(self) -> Executor:
        if self._worker is not None:
            return self._worker
        if self._own_worker is None:
            self._own_worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="panel")
        return self._own_worker

    def _draw(self, view: ScreenView, directive: Directive | None, now: float) -> bool:
        """In the worker thread: render the due page, and write it if it is not shown."""
        frame = self._pager.frame(view, now)
        if frame is None:
            self._showing(directive)
            return False
        self._display.set_brightness(brightness(directive))
        self._display.show(frame)
        self._showing(directive)
        self._pager.drawn()
        return True

    def _showing(self, directive: Directive | None) -> None:
        # Also when the panel already shows this view: a newer directive that looks the
        # same (a second Hold) is on screen too, and the office must get its ack.
        self.shown_seq = directive.seq if directive else 0
