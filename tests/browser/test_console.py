"""The console end to end in a real headless Chromium, against a real hub, broker and rooms.

Every wait is on a page condition (Playwright's ``expect`` with a bound), never a sleep.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.async_api import Page, expect

from hub.directives import DirectiveRequest
from hub.service import HubService
from protocol.messages import EventKind
from protocol.srp import Action
from provisioning import add_user
from provisioning.throwaway import ThrowawaySite
from tests.browser.conftest import ROOMS, OpenConsole
from tests.conftest import Node

pytestmark = [pytest.mark.browser, pytest.mark.integration]

PASSWORD = "correct horse battery staple"


async def issue(page: Page, action_term: str, *, drill: bool) -> None:
    """Fill the issue form and go to its confirmation step."""
    await page.get_by_role("link", name="Issue", exact=True).click()
    await page.get_by_label(action_term, exact=True).check()
    await page.get_by_role("radio", name=re.compile("^DRILL" if drill else "^REAL")).check()
    await page.get_by_role("button", name="Review before issuing…").click()
    await expect(page.locator("#mode")).to_contain_text("DRILL" if drill else "REAL EMERGENCY")


async def test_a_lockdown_drill_from_the_console(
    hub: HubService,
    site: ThrowawaySite,
    nodes: list[Node],
    open_console: OpenConsole,
    screenshots: Path,
) -> None:
    """Log in, drill Lockdown, watch the acks, release a room, a panic press, All clear,
    then the drill's report: the whole front-office path in one browser."""
    console = await open_console()
    page = console.page
    await console.login_as_admin(site)
    await expect(page.locator(".tile")).to_have_count(ROOMS)
    await expect(page.locator(".group h2")).to_have_text(["Building main", "Building north"])

    await issue(page, "LOCKDOWN", drill=True)
    await expect(page.locator("#what")).to_contain_text(f"{ROOMS} classroom displays")
    await page.screenshot(path=screenshots / "confirm.png", full_page=True)
    await page.get_by_role("button", name=f"Issue DRILL LOCKDOWN to {ROOMS} rooms").click()
    await page.wait_for_url("**/board?issued=*")
    acked = page.locator('.tile[data-action-now="lockdown"][data-ack="acked"]')
    await expect(acked).to_have_count(ROOMS)  # the simulated rooms' displays confirmed, live
    await expect(page.locator(".tile .drill-tag")).to_have_count(ROOMS)

    await release_room(page, "101")
    await panic_appears(page, nodes[1], "102")
    await page.screenshot(path=screenshots / "board.png", full_page=True)
    await page.locator('.alarm-group [data-action="ack-alert"]').click()
    await expect(page.locator(".alarm-group")).to_have_count(0)

    await all_clear_for_the_rest(page)
    await drill_report(page)
    await page.screenshot(path=screenshots / "drill-report.png", full_page=True)
    await page.emulate_media(media="print")
    await expect(page.locator("header.top")).to_be_hidden()  # the print stylesheet applies


async def release_room(page: Page, room: str) -> None:
    """Release is two clicks on the same button: arm, then confirm."""
    release = page.locator(f'[data-action="release"][data-room="{room}"]')
    await release.click()
    await expect(release).to_have_text(f"Confirm: release room {room}")
    await release.click()
    released = f'.tile[data-room="{room}"][data-action-now="release"][data-ack="acked"]'
    await expect(page.locator(released)).to_have_count(1)
    await expect(page.locator(f"#room-{room}")).to_be_focused()  # the room, not <body>


async def panic_appears(page: Page, node: Node, room: str) -> None:
    node.service.activate(EventKind.PANIC)
    alarm = page.locator(f'.alarm-group .tile[data-room="{room}"]')
    await expect(alarm).to_be_visible()
    await expect(alarm.locator(".alert-line")).to_contain_text("PANIC ALERT")
    await expect(page.locator("#announce")).to_contain_text(f"Panic alert in room {room}")
    await expect(page).to_have_title("(ALERT) Board · Roomcast demo")
    await expect(page.locator("#strip .strip-alert")).to_contain_text(f"room {room}")
    beeps = await page.evaluate("window.roomcastBeeps || 0")
    assert beeps >= 1, "the page made no sound for the alert"


async def all_clear_for_the_rest(page: Page) -> None:
    await page.get_by_role("link", name="give the All clear for the rest…").click()
    await page.get_by_role("radio", name=re.compile("^DRILL")).check()
    await page.get_by_role("button", name="Review before issuing…").click()
    await expect(page.locator(".warnings")).to_contain_text(
        f"{ROOMS - 1} rooms still in Lockdown (102, 103,"
    )
    await page.get_by_role("button", name=f"Issue DRILL ALL CLEAR to {ROOMS} rooms").click()
    cleared = page.locator('.tile[data-action-now="all_clear"][data-ack="acked"]')
    await expect(cleared).to_have_count(ROOMS)


async def drill_report(page: Page) -> None:
    await page.get_by_role("link", name="Drills").click()
    await page.get_by_role("link", name="#1 Lockdown drill").click()
    heading = page.get_by_role("heading", name="Drill report: #1 Lockdown drill")
    await expect(heading).to_be_visible()
    await expect(page.locator(".drill-banner")).to_contain_text("ended by all clear")
    await expect(page.locator("svg.chart .bar")).to_have_count(ROOMS + 1 + ROOMS)
    await expect(page.locator("table").last).to_contain_text("PANIC ALERT")


async def test_only_one_console_controls_and_takeover_is_live(
    hub: HubService, site: ThrowawaySite, nodes: list[Node], open_console: OpenConsole
) -> None:
    for name in ("alice", "bob"):
        add_user(site.layout.root, name, "office", PASSWORD)
    alice, bob = await open_console(), await open_console()
    await alice.login("alice", PASSWORD)
    await bob.login("bob", PASSWORD)

    await alice.page.get_by_role("button", name="Take control").click()
    await expect(alice.page.locator('[data-control="mine"]')).to_be_visible()
    await expect(bob.page.locator('[data-control="other"]')).to_contain_text("alice has control")

    await bob.goto("/issue/confirm?action=hold&drill=drill&scope=site")
    issue_button = bob.page.locator("#confirm-issue")
    await expect(issue_button).to_have_text(
        f"Take over control and issue DRILL HOLD to {ROOMS} rooms…"
    )
    await expect(bob.page.locator("#confirm-locked")).to_be_visible()

    await bob.page.get_by_role("button", name="Take over control…").click()
    await bob.page.get_by_label("Reason (required)").fill("Alice is on the radio in the gym")
    await bob.page.get_by_role("button", name="Take over control", exact=True).click()
    await expect(bob.page.locator('[data-control="mine"]')).to_be_visible()
    await expect(bob.page.locator('[data-control="mine"]')).to_be_focused()  # not <body>
    await expect(alice.page.locator('[data-control="other"]')).to_contain_text("bob has control")
    await expect(issue_button).to_have_text(f"Issue DRILL HOLD to {ROOMS} rooms")  # live
    await issue_button.click()
    await bob.page.wait_for_url("**/board?issued=*")
    assert [d.issued_by for d in hub.store.directives()] == ["bob"]


async def test_phone_keyboard_and_kiosk(
    hub: HubService,
    site: ThrowawaySite,
    nodes: list[Node],
    open_console: OpenConsole,
) -> None:
    add_user(site.layout.root, "wall", "viewer", PASSWORD)
    phone = await open_console(width=390, height=844)
    page = phone.page
    await phone.goto("/login")
    await expect(page.get_by_label("User name")).to_be_focused()  # autofocus on load
    await page.keyboard.type("wall")
    await page.keyboard.press("Tab")
    await page.keyboard.type(PASSWORD)
    await page.keyboard.press("Enter")
    await page.wait_for_url("**/board")
    await expect(page.locator(".tile")).to_have_count(ROOMS)
    overflow = await page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, "the board scrolls sideways on a phone"
    await expect(page.get_by_role("link", name="Issue", exact=True)).to_have_count(0)  # viewer
    await page.keyboard.press("Tab")
    focused = await page.evaluate("document.activeElement.textContent")
    assert focused == "Skip to content"

    await phone.goto("/kiosk")
    await expect(page.locator(".ktile")).to_have_count(ROOMS)

    wall = await open_console(width=1920, height=1080)
    await wall.login("wall", PASSWORD)
    await wall.goto("/kiosk")
    hub.engine.directives.issue(
        DirectiveRequest(action=Action.SHELTER, hazard="tornado", drill=True), user="office"
    )
    await expect(wall.page.locator(".ktile.act-shelter.ack-acked")).to_have_count(ROOMS)
    nodes[2].service.activate(EventKind.PANIC)
    await expect(wall.page.locator("#strip .strip-alert")).to_contain_text("room 103")
