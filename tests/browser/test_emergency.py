"""The console in an emergency (issue #12), in a real headless Chromium against a real hub,
broker and rooms: a panic alert on every page, sound that works, control that never blocks
an emergency, and the path from an open alert to a REAL site Lockdown.

Every wait is on a page condition (Playwright's ``expect`` with a bound), never a sleep.
"""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest
from playwright.async_api import Page, expect

from hub.directives import DirectiveRequest
from hub.service import HubService
from protocol.messages import EventKind
from protocol.srp import Action
from provisioning import add_user
from provisioning.throwaway import ThrowawaySite
from tests.browser.conftest import ROOMS, Console, OpenConsole
from tests.conftest import Node

pytestmark = [pytest.mark.browser, pytest.mark.integration]

PASSWORD = "correct horse battery staple"
PAGES = [
    "/board",
    "/issue",
    "/issue/confirm?action=hold&drill=drill&scope=site",
    "/alerts",
    "/devices",
    "/drills",
    "/audit",
    "/kiosk",
]


async def beeps(page: Page) -> int:
    """The page's audio hook: how many alarm sounds it has played."""
    return int(await page.evaluate("window.roomcastBeeps || 0"))


async def strip_shows(page: Page, room: str) -> None:
    strip = page.locator(f'#strip .strip-alert[data-alert-room="{room}"]')
    await expect(strip).to_contain_text(f"PANIC ALERT: room {room}")
    await expect(page).to_have_title(re.compile(r"^\(ALERT\) "))
    await expect(page.locator("#announce")).to_contain_text(f"Panic alert in room {room}")
    await expect(page.locator("#announce")).to_have_attribute("role", "alert")
    await expect(page.locator("#favicon")).to_have_attribute("href", re.compile("b00020"))


async def test_a_panic_alert_reaches_every_page(
    hub: HubService, site: ThrowawaySite, nodes: list[Node], open_console: OpenConsole
) -> None:
    """Pressed while the user is on any page: the strip, the title, the icon and the
    announcement appear there; Acknowledge in the strip ends it and focus stays put."""
    console = await open_console()
    page = console.page
    await console.login_as_admin(site)
    for index, path in enumerate(PAGES):
        await console.goto(path)
        await expect(page.locator("#strip .strip-alert")).to_have_count(0)
        room = nodes[index].service.config.room
        nodes[index].service.activate(EventKind.PANIC)
        await strip_shows(page, room)
        await page.locator('#strip [data-action="ack-alert"]').click()
        await expect(page.locator("#strip .strip-alert")).to_have_count(0)
        await expect(page).not_to_have_title(re.compile(r"^\(ALERT\) "))
        focused = await page.evaluate("document.activeElement.tagName")
        assert focused != "BODY", f"focus fell to <body> after Acknowledge on {path}"


async def test_sound_the_first_click_turns_on_and_survives_a_reload(
    hub: HubService, site: ThrowawaySite, nodes: list[Node], open_console: OpenConsole
) -> None:
    console = await open_console()
    page = console.page
    await console.login_as_admin(site)
    sound = page.locator('header [data-action="sound"]')
    await expect(sound).to_have_attribute("aria-pressed", "false")  # no gesture on this page
    await sound.click()  # the first gesture on the page, and on the sound control
    await expect(sound).to_have_attribute("aria-pressed", "true")
    assert await beeps(page) == 1, "turning sound on plays the alarm once, at once"
    await sound.click()
    await expect(sound).to_have_attribute("aria-pressed", "false")
    await page.reload()
    await expect(sound.locator(".sound-state")).to_have_text("off")  # the choice was kept
    await sound.click()
    await expect(sound).to_have_attribute("aria-pressed", "true")
    await page.reload()
    await expect(sound.locator(".sound-state")).to_have_text(re.compile("^(on|blocked)"))

    # A fresh page has had no gesture: the browser blocks audio; an alert says so, loudly.
    nodes[0].service.activate(EventKind.PANIC)
    blocked = page.locator("#sound-blocked")
    await expect(blocked).to_be_visible()
    before = await beeps(page)
    await blocked.get_by_role("button", name="Turn alarm sound on").click()
    await expect(blocked).to_be_hidden()
    assert await beeps(page) == before + 1
    await expect(sound).to_have_attribute("aria-pressed", "true")


async def test_the_kiosk_asks_for_its_gesture_and_keeps_sound(
    hub: HubService, site: ThrowawaySite, nodes: list[Node], open_console: OpenConsole
) -> None:
    wall = await open_console(width=1920, height=1080)
    await wall.login_as_admin(site)
    await wall.goto("/kiosk")
    start = wall.page.locator("#kiosk-start")
    await expect(start).to_be_visible()
    await start.get_by_role("button").click()
    await expect(start).to_be_hidden()
    assert await beeps(wall.page) == 1
    hub.engine.directives.issue(
        DirectiveRequest(action=Action.LOCKDOWN, drill=True), user="office"
    )  # live refreshes, no page load
    await expect(wall.page.locator(".ktile.act-lockdown.ack-acked")).to_have_count(ROOMS)
    nodes[4].service.activate(EventKind.PANIC)
    await expect(wall.page.locator("#strip .strip-alert")).to_contain_text("room 105")
    await wall.page.wait_for_function("window.roomcastBeeps > 1")  # the alarm, after refreshes


async def two_office_consoles(site: ThrowawaySite, open_console: OpenConsole) -> list[Console]:
    consoles = []
    for name in ("alice", "bob"):
        add_user(site.layout.root, name, "office", PASSWORD)
        console = await open_console()
        await console.login(name, PASSWORD)
        consoles.append(console)
    return consoles


async def test_a_closed_browser_does_not_keep_control(
    hub: HubService, site: ThrowawaySite, nodes: list[Node], open_console: OpenConsole
) -> None:
    alice, bob = await two_office_consoles(site, open_console)
    await alice.page.get_by_role("button", name="Take control").click()
    await expect(bob.page.locator('[data-control="other"]')).to_contain_text("alice has control")
    await alice.context.close()  # the browser is closed; alice never logged out
    await expect(bob.page.locator('[data-control="free"]')).to_be_visible()
    lapsed = [e for e in hub.store.audit_log() if e["action"] == "control lapsed (console gone)"]
    assert [e["user"] for e in lapsed] == ["alice"]


async def test_a_takeover_during_the_confirmation_then_take_over_and_issue(
    hub: HubService, site: ThrowawaySite, nodes: list[Node], open_console: OpenConsole
) -> None:
    alice, bob = await two_office_consoles(site, open_console)
    await bob.page.get_by_role("button", name="Take control").click()
    await bob.goto("/issue/confirm?action=lockdown&drill=real&scope=site")
    issue = bob.page.locator("#confirm-issue")
    await expect(bob.page.locator("#confirm-h")).to_be_focused()  # not <body>
    await expect(issue).to_have_text(f"Issue REAL LOCKDOWN to {ROOMS} rooms")

    await alice.page.get_by_role("button", name="Take over control…").click()
    await alice.page.get_by_label("Reason (required)").fill("Bob stepped away")
    await alice.page.get_by_role("button", name="Take over control", exact=True).click()
    # Bob's page says so at once, and its button now offers the one step that works.
    await expect(issue).to_have_text(f"Take over control and issue REAL LOCKDOWN to {ROOMS} rooms…")
    await expect(issue).to_be_enabled()
    await issue.click()
    await bob.page.get_by_label("Reason (required)").fill("Intruder reported by room 101")
    await bob.page.get_by_role("button", name="Take over and issue").click()
    await bob.page.wait_for_url("**/board?issued=*")
    await expect(bob.page.locator('[data-control="mine"]')).to_be_visible()
    (directive,) = hub.store.directives()
    assert (directive.action, directive.drill, directive.issued_by) == (
        Action.LOCKDOWN,
        False,
        "bob",
    )
    log = sorted(hub.store.audit_log(), key=lambda e: e["at"])
    takeovers = [e for e in log if e["action"] == "take over control"]
    assert [(e["user"], e["detail"]["reason"]) for e in takeovers] == [
        ("alice", "Bob stepped away"),
        ("bob", "Intruder reported by room 101"),
    ]


async def test_from_an_open_panic_alert_to_a_real_site_lockdown(
    hub: HubService,
    site: ThrowawaySite,
    nodes: list[Node],
    open_console: OpenConsole,
    screenshots: Path,
) -> None:
    """The measured path (docs/console/README.md): the alert strip on the page the user is
    on, then the REAL confirmation naming the room, then every display confirmed."""
    console = await open_console()
    page = console.page
    await console.login_as_admin(site)
    await console.goto("/issue")
    nodes[1].service.activate(EventKind.PANIC)
    await strip_shows(page, "102")
    await page.screenshot(path=screenshots / "alert-strip-issue.png")

    loads = 0

    def count_load(_: object) -> None:
        nonlocal loads
        loads += 1

    page.on("load", count_load)
    started, actions = time.monotonic(), 0
    await page.get_by_role("link", name="Lockdown the site (REAL)…").click()
    actions += 1
    await expect(page.locator("#from-alert")).to_contain_text("panic alert in room 102")
    await page.get_by_role("button", name=f"Issue REAL LOCKDOWN to {ROOMS} rooms").click()
    actions += 1
    confirmed = page.locator('.tile[data-action-now="lockdown"][data-ack="acked"]')
    await expect(confirmed).to_have_count(ROOMS)
    seconds = time.monotonic() - started
    await expect(page.locator(".latest .real-tag")).to_have_text("REAL")
    await expect(page.locator(".chip.state")).to_have_text(f"LOCKDOWN REAL \u00d7 {ROOMS}")
    print(
        f"\npanic alert -> REAL site Lockdown confirmed by {ROOMS} displays: "
        f"{actions} actions, {loads} page loads, {seconds:.2f} s"
    )
    assert actions == 2
    assert loads == 2
