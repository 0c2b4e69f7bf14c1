"""The teacher's page in a real headless Chromium at phone size (390x844): the room's
directive in the display's words, DRILL, the roll, a press-and-hold panic with its
countdown (let go early: nothing sent), its cancel, the link lost with the age of the last
contact, large text, and no axe-core violation in any of those states."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from playwright.async_api import Page, Route, expect

from hub.directives import DirectiveRequest
from hub.queries import open_alerts
from hub.service import HubService
from protocol.srp import Action
from provisioning.staff import import_staff
from provisioning.throwaway import ThrowawaySite, create_throwaway_site
from provisioning.users import set_password
from roomcast.broker import free_port
from tests.browser.conftest import ROOMS, OpenConsole, axe_violations
from tests.conftest import eventually

pytestmark = [pytest.mark.browser, pytest.mark.integration]

PASSWORD = "correct horse battery staple"
TEACHER = "ana@school.example"
PHONE = {"width": 390, "height": 844}
HOLD_S = 1.5


@pytest.fixture
def site(tmp_path: Path) -> ThrowawaySite:
    """A site whose page holds for 1.5 s (the default is 3 s), with one teacher of 101."""
    made = create_throwaway_site(
        tmp_path / "site", rooms=ROOMS, broker_port=free_port(), heartbeat_s=1.0
    )
    config = json.loads(made.hub.config.read_text())
    config["teacher"] = {"hold_s": HOLD_S, "cancel_window_s": 30}
    made.hub.config.write_text(json.dumps(config))
    staff = tmp_path / "staff.csv"
    staff.write_text(f"name,email,rooms\nAna Lima,{TEACHER},101;102\n", encoding="utf-8")
    import_staff(made.layout.root, staff)
    set_password(made.layout.root, TEACHER, PASSWORD)
    return made


async def log_in(page: Page, base: str) -> None:
    await page.goto(f"{base}/teacher")
    await page.wait_for_url(f"{base}/teacher/login")
    await page.get_by_label("User name").fill(TEACHER)
    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_role("button", name="Log in").click()
    await page.wait_for_url(f"{base}/teacher")


async def no_violations(page: Page, where: str, problems: list[str]) -> None:
    problems += [f"{where}: {v}" for v in await axe_violations(page)]


async def test_the_page_shows_the_directive_and_takes_the_roll(
    hub: HubService, open_console: OpenConsole, screenshots: Path
) -> None:
    phone = await open_console(**PHONE, axe=True)
    page, problems = phone.page, []
    await log_in(page, phone.base)
    await expect(page.locator("#term")).to_have_text("STANDBY")
    await expect(page.locator("#panic-help")).to_contain_text("Press and hold for 1.5 seconds")
    await no_violations(page, "calm", problems)
    directive = hub.engine.directives.issue(
        DirectiveRequest(action=Action.LOCKDOWN, drill=True), user="office"
    )
    await expect(page.locator("#term")).to_have_text("LOCKDOWN")
    await expect(page.locator("#lines")).to_have_text("Locks, lights, out of sight.")
    await expect(page.locator("#drill")).to_be_visible()
    await expect(page.locator("#roll-said")).to_have_text("Not reported yet.")
    await no_violations(page, "drill lockdown", problems)
    await page.screenshot(path=screenshots / "teacher.png", full_page=True)
    await page.get_by_label("Missing").fill("2")
    await page.get_by_label("We need help").check()
    await page.get_by_role("button", name="Send roll report").click()
    await expect(page.locator("#roll-said")).to_have_text("Sent: 2 missing, NEEDS HELP")
    entry = hub.engine.roll.campus().entries["101"]
    assert (entry.seq, entry.roll.missing, entry.by.id) == (directive.seq, 2, TEACHER)
    # Large text (200 %): still one column, nothing cut off sideways.
    await page.add_style_tag(content="html { font-size: 200% !important; }")
    wide = await page.evaluate(
        """() => [...document.querySelectorAll("body *")]
            .filter((e) => e.getBoundingClientRect().right > innerWidth + 0.5)
            .map((e) => `${e.tagName}#${e.id}.${e.className}`)"""
    )
    assert wide == []
    await no_violations(page, "large text", problems)
    assert problems == []


async def test_a_held_press_raises_one_alert_and_can_be_cancelled(
    hub: HubService, site: ThrowawaySite, open_console: OpenConsole
) -> None:
    phone = await open_console(**PHONE, axe=True)
    page = phone.page
    await log_in(page, phone.base)
    button = page.get_by_role("button", name="Hold to send panic alert")
    await button.hover()
    # Let go before the countdown ends: nothing is sent.
    await page.mouse.down()
    await expect(page.locator("#panic-count")).to_contain_text("Keep holding: sending in")
    await page.mouse.up()
    await expect(page.locator("#panic-count")).to_have_text("Let go: nothing was sent.")
    # Held to the end: one panic alert at the hub, from this teacher and room.
    await page.mouse.down()
    await expect(page.locator("#panic-sent-text")).to_have_text(
        "Panic alert sent: the office has it.", timeout=HOLD_S * 1000 + 5000
    )
    await page.mouse.up()
    await eventually(lambda: bool(open_alerts(hub.store)), hub, what="the page's panic")
    alerts = open_alerts(hub.store)
    assert [(a["room"], a["device_id"]) for a in alerts] == [("101", f"page:{TEACHER}")]
    assert await axe_violations(page) == []
    # The office sees it as it sees a button's press: the strip, with where it came from.
    office = await open_console()
    await office.login_as_admin(site)
    strip = office.page.locator("#strip .strip-alert")
    await expect(strip).to_contain_text("PANIC ALERT: room 101")
    await expect(strip).to_contain_text(f"on the teacher's page by {TEACHER}")
    cancel = page.get_by_role("button", name="Cancel: false alarm")
    await expect(cancel).to_contain_text("s left")
    await cancel.click()
    await expect(page.locator("#panic-count")).to_contain_text("Panic alert cancelled")
    assert open_alerts(hub.store) == []
    await expect(strip).to_have_count(0)  # the office's strip follows the cancel live


async def test_the_page_says_at_once_when_it_loses_the_hub(
    hub: HubService, open_console: OpenConsole
) -> None:
    phone = await open_console(**PHONE, axe=True)
    page = phone.page
    await log_in(page, phone.base)
    await expect(page.locator("#contact-age")).to_have_text("now")
    banner = page.locator("#link-lost")
    await expect(banner).to_be_hidden()

    async def unreachable(route: Route) -> None:
        await route.abort("connectionrefused")

    await page.route("**/api/teacher/rooms/**", unreachable)
    await expect(banner).to_be_visible(timeout=4000)  # the next poll, a heartbeat away
    await expect(banner).to_have_attribute("role", "alert")
    await expect(banner).to_contain_text("NO CONTACT WITH THE HUB: last contact")
    await expect(banner).to_contain_text("s ago")
    await expect(page.locator("#contact-age")).to_contain_text("LOST, last")
    assert await axe_violations(page) == []
    await page.unroute("**/api/teacher/rooms/**")
    await expect(banner).to_be_hidden()
    await expect(page.locator("#contact-age")).to_have_text("now")
    # A press whose answer is lost: the page tries again with the same id, one alert.
    sent: list[str | None] = []
    retried = asyncio.Event()

    async def answer_lost_once(route: Route) -> None:
        sent.append(route.request.post_data)
        if len(sent) > 1:
            retried.set()
        if len(sent) == 1:
            await route.fetch()  # the hub has it ...
            await route.abort("connectionreset")  # ... and the phone never hears back
        else:
            await route.continue_()

    await page.route("**/panic", answer_lost_once)
    await page.get_by_role("button", name="Hold to send panic alert").focus()
    await page.keyboard.down("Space")  # held from the keyboard, as a screen reader user would
    await expect(page.locator("#panic-count")).to_contain_text("Keep holding")
    await expect(page.locator("#panic-sent-text")).to_have_text(
        "Panic alert sent: the office has it.", timeout=HOLD_S * 1000 + 5000
    )
    await page.keyboard.up("Space")
    async with asyncio.timeout(5):  # the retry, a second after the lost answer
        await retried.wait()
    await page.unroute("**/panic")
    assert len(set(sent)) == 1, sent  # the same press id every time
    assert [a["room"] for a in open_alerts(hub.store)] == ["101"]
    phone.errors[:] = [
        e
        for e in phone.errors
        if "ERR_CONNECTION_REFUSED" not in e and "ERR_CONNECTION_RESET" not in e
    ]
