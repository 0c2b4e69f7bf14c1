"""The roll on the board in a real Chromium: the totals right under the directive, each
room's report on its tile, the evacuated rooms not yet accounted for listed first, live as
reports arrive, and no WCAG 2.1 A/AA violation (axe-core) at a desktop and a phone size."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.async_api import expect

from hub.directives import DirectiveRequest
from hub.service import HubService
from protocol.messages import Roll
from protocol.srp import Action
from provisioning.throwaway import ThrowawaySite
from tests.browser.conftest import ROOMS, OpenConsole, axe_violations
from tests.conftest import Node, eventually

pytestmark = [pytest.mark.browser, pytest.mark.integration]


async def test_the_board_shows_the_roll_under_the_directive_and_passes_axe(
    hub: HubService,
    site: ThrowawaySite,
    nodes: list[Node],
    open_console: OpenConsole,
    screenshots: Path,
) -> None:
    evacuate = hub.engine.directives.issue(
        DirectiveRequest(action=Action.EVACUATE, drill=True, location="Flag pole"), user="office"
    )
    await eventually(lambda: all(n.service.acked_seq == evacuate.seq for n in nodes), hub, *nodes)
    rooms = [n.service.config.room for n in nodes]
    nodes[0].inputs.activate("all-accounted")
    nodes[1].inputs.activate("staff-assist")
    # A person's headcount (the teacher's page will send the same report with a user id).
    hub.engine.roll.report(
        rooms[2], evacuate.seq, Roll(missing=2, extra=0, injured=1, help=False), user="office"
    )
    await eventually(lambda: len(hub.engine.roll.campus().entries) == 3, hub, what="3 reports")

    console = await open_console(width=1280, height=800, axe=True)
    await console.login_as_admin(site)
    page = console.page
    totals = page.locator("[data-roll-totals]")
    await expect(totals.locator('[data-roll="reported"]')).to_have_text(
        f"Roll: 3 / {ROOMS} rooms reported"
    )
    await expect(totals.locator('[data-roll="missing"]')).to_have_text("2 students missing")
    await expect(totals.locator('[data-roll="injured"]')).to_have_text("1 injured")
    await expect(totals.locator('[data-roll="help"]')).to_have_text("1 room needing help")
    # Right under the directive: the line after the latest directive's.
    latest = "document.querySelector('.summary .latest')"
    assert await page.evaluate(f"{latest}.nextElementSibling.matches('[data-roll-totals]')")
    await expect(page.locator(f'[data-roll-room="{rooms[0]}"]')).to_contain_text(
        "Roll: All accounted"
    )
    await expect(page.locator(f'[data-roll-room="{rooms[1]}"]')).to_contain_text("NEEDS HELP")
    await expect(page.locator(f'[data-roll-room="{rooms[2]}"]')).to_contain_text(
        "2 missing, 1 injured"
    )
    # After an Evacuate the rooms not reported come first, above the buildings.
    unreported = page.locator(".unreported-group")
    await expect(unreported.locator("h2")).to_have_text(
        f"Evacuated, not yet accounted for ({ROOMS - 3})"
    )
    first_group = await page.evaluate(
        "document.querySelector('main section.group').classList.contains('unreported-group')"
    )
    assert first_group
    await expect(unreported.locator(f'[data-room="{rooms[3]}"]')).to_be_visible()
    await page.screenshot(path=str(screenshots / "board-roll.png"), full_page=True)
    problems = [f"1280x800: {v}" for v in await axe_violations(page)]

    # Live: a report moves the room out of the group and the totals on, without a reload.
    nodes[3].inputs.activate("all-accounted")
    await expect(totals.locator('[data-roll="reported"]')).to_have_text(
        f"Roll: 4 / {ROOMS} rooms reported"
    )
    await expect(unreported.locator(f'[data-room="{rooms[3]}"]')).to_have_count(0)

    await page.set_viewport_size({"width": 390, "height": 844})
    await expect(totals).to_be_visible()
    problems += [f"390x844: {v}" for v in await axe_violations(page)]

    # The wall screen: the count, and the evacuated rooms not yet accounted for.
    await console.goto("/kiosk")
    await expect(page.locator("[data-roll-totals]")).to_have_text(f"Roll 4 / {ROOMS}")
    needs = page.locator(".kiosk-needs")
    await expect(needs.nth(0)).to_have_text(f"NEED HELP: {rooms[1]}")
    await expect(needs.nth(1)).to_contain_text(f"NOT ACCOUNTED FOR: {rooms[4]}, ")
    problems += [f"kiosk: {v}" for v in await axe_violations(page)]

    # The drill's debrief: the roll's timeline, and the rooms that never reported.
    hub.engine.directives.issue(DirectiveRequest(action=Action.ALL_CLEAR), user="office")
    await console.goto(f"/drills/{evacuate.seq}")
    timeline = page.locator("[data-roll-timeline] tbody tr")
    await expect(timeline).to_have_count(4)
    await expect(timeline.nth(0)).to_contain_text("EVACUATE")
    await expect(page.locator("[data-roll-last]")).to_contain_text(f"{ROOMS - 4} not reported")
    problems += [f"drill report: {v}" for v in await axe_violations(page)]
    assert problems == []
