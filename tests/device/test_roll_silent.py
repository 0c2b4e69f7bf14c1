"""The roll is silent: a node's report names the directive on its screen, and changes
nothing the room (or anyone at the door window) can see.

No broker here, as in ``test_service_parts.py``: :class:`Feed` plays the hub.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

import device.service
from device.screen import ScreenView
from device.service import TICK_SECONDS, DeviceService
from device.view import screen_view
from hardware.simulated import PngDisplay, SimulatedIndicator, SimulatedInputs
from protocol.messages import EventKind
from protocol.srp import Action
from tests.device.helpers import Feed, node_config, running, until

pytestmark = pytest.mark.filterwarnings(
    "ignore:Image.Image.getdata is deprecated:DeprecationWarning:luma"
)


@pytest.mark.parametrize(
    ("action", "details"),
    [(Action.LOCKDOWN, {}), (Action.EVACUATE, {"location": "Flag pole"})],
)
async def test_a_roll_report_changes_nothing_on_the_display(
    tmp_path: Path,
    hub_key: Ed25519PrivateKey,
    monkeypatch: pytest.MonkeyPatch,
    action: Action,
    details: dict[str, str],
) -> None:
    views: list[ScreenView] = []

    def seen(*args: object, **kwargs: object) -> ScreenView:
        view = screen_view(*args, **kwargs)  # type: ignore[arg-type]
        views.append(view)
        return view

    monkeypatch.setattr(device.service, "screen_view", seen)
    started = time.time()  # a clock standing still: a new minute would be a real change
    display = PngDisplay(tmp_path / "screen.png", size=(128, 64))
    service = DeviceService(
        node_config(tmp_path, hub_key),
        display=display,
        inputs=SimulatedInputs(),
        indicator=SimulatedIndicator(),
        wall_clock=lambda: started,
    )
    feed = Feed(service, hub_key)
    async with running(service):
        shown = feed.directive(action, drill=True, **details)
        await until(lambda: service.shown_seq == shown.seq, what="the directive's screen")
        before, drawn, viewed = display.last_frame, display.frames_shown, len(views)
        for kind in (EventKind.ALL_ACCOUNTED, EventKind.STAFF_ASSIST):
            report = service.activate(kind)
            assert report is not None and report.seq == shown.seq  # the roll of this one
            feed.receipt(report.event_id)
        # Proving that nothing changes needs a bounded wait: a full screen tick and more.
        await asyncio.sleep(TICK_SECONDS * 1.5)
    assert len(views) > viewed  # the screen loop did look again after the reports
    assert all(view == views[viewed - 1] for view in views[viewed:])
    assert display.frames_shown == drawn
    assert before is not None and display.last_frame is not None
    assert before.tobytes() == display.last_frame.tobytes()


async def test_a_press_with_no_directive_in_force_names_none(
    tmp_path: Path, hub_key: Ed25519PrivateKey
) -> None:
    service = DeviceService(
        node_config(tmp_path, hub_key),
        display=PngDisplay(tmp_path / "screen.png", size=(128, 64)),
        inputs=SimulatedInputs(),
        indicator=SimulatedIndicator(),
    )
    feed = Feed(service, hub_key)
    async with running(service):
        before = service.activate(EventKind.ALL_ACCOUNTED)
        feed.directive(Action.HOLD)
        ended = feed.directive(Action.ALL_CLEAR)
        await until(lambda: service.effective == ended, what="the All clear")
        after = service.activate(EventKind.STAFF_ASSIST)
        panic = service.activate(EventKind.PANIC)
    assert before is not None and before.seq is None
    assert after is not None and after.seq is None
    assert panic is not None and panic.seq is None
