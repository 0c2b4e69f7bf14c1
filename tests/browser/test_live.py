"""A stalled hub is never shown as live: the hub as its own process, paused with SIGSTOP.

A stopped process keeps its sockets: connections are accepted by the kernel and then
nothing answers, no error, no close. That is the failure the console used to miss. The
board, the issue form and the kiosk must each say within seconds that they are not live,
with the age counting up, and recover by themselves after SIGCONT, showing the panic alert
pressed during the pause.
"""

from __future__ import annotations

import os
import re
import signal
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from playwright.async_api import Browser, Page, expect

from provisioning import add_user
from roomcast import control
from tests.browser.conftest import Console
from tests.fault.harness import Rooms, School, wait_until

pytestmark = [pytest.mark.browser, pytest.mark.integration]

PAUSE_S = 12
"""Longer than the banner's threshold (5 s) plus the age's tolerance (5 s)."""
PAUSE_S_DIGIT = PAUSE_S - 10
OFFICE_PASSWORD = "correct horse battery staple"
PAGES = ("/board", "/issue", "/kiosk")


@pytest.fixture
def school(tmp_path: Path) -> Iterator[tuple[School, Rooms]]:
    school = School(tmp_path, rooms=4)
    school.broker.start()
    rooms = Rooms(school, "rooms", [device.config for device in school.site.devices])
    try:
        school.start_hub()
        rooms.start()
        wait_until(
            lambda: all(r["online"] for r in school.api.get("/api/status")["rooms"]),
            within_s=20,
            what="every room online",
        )
        yield school, rooms
    finally:
        if school.hub is not None:
            os.kill(school.hub.pid, signal.SIGCONT)  # never leave a stopped hub behind
        school.stop_all([rooms])


@pytest.fixture
async def consoles(browser: Browser, school: tuple[School, Rooms]) -> AsyncIterator[list[Console]]:
    """One browser context per page, as on three office screens (each its own login)."""
    hub = school[0]
    # Office staff (no second factor by default): three logins in one 30 s step would
    # each need a new admin code, and the hub takes a code once.
    add_user(hub.site.layout.root, "office-screens", "office", OFFICE_PASSWORD)
    opened = []
    for path in PAGES:
        context = await browser.new_context(viewport={"width": 1280, "height": 800})
        console = Console(context, await context.new_page(), hub.hub_url)
        await console.login("office-screens", OFFICE_PASSWORD)
        await console.goto(path)
        opened.append(console)
    yield opened
    for console in opened:
        await console.context.close()
    for console in opened:
        # A stalled hub makes fetches time out; the page must catch every one of them.
        assert [e for e in console.errors if "Failed to load resource" not in e] == []


async def banner_age(page: Page) -> int:
    text = await page.locator("#conn-text").text_content() or ""
    found = re.search(r"no word from the hub for (\d+) s", text)
    assert found, f"the not-live banner says {text!r}"
    return int(found.group(1))


async def test_a_stalled_hub_shows_on_every_page_and_recovers(
    school: tuple[School, Rooms], consoles: list[Console], screenshots: Path
) -> None:
    hub, rooms = school
    assert hub.hub is not None
    for console in consoles:
        await expect(console.page.locator("#conn")).to_be_hidden()
    os.kill(hub.hub.pid, signal.SIGSTOP)
    stopped = time.monotonic()
    # The press reaches the broker; the hub reads it when it runs again.
    await control.call(rooms.socket, {"cmd": "press", "room": "101"})
    for console in consoles:
        page = console.page
        await expect(page.locator("#conn")).to_be_visible(timeout=8_000)
        await expect(page.locator("body")).to_have_class(re.compile(r"\bstale\b"))
        age = await banner_age(page)
        assert abs(age - (time.monotonic() - stopped)) <= 5, "the banner's age is wrong"
    board = consoles[0].page
    await expect(board.locator('[data-action="take-control"]')).to_be_disabled()
    # The pause lasts until the banner itself says so: the age counts up to PAUSE_S.
    await expect(board.locator("#conn-text")).to_contain_text(
        re.compile(rf"for (1[{PAUSE_S_DIGIT}-9]|[2-9]\d) s"), timeout=15_000
    )
    await board.screenshot(path=screenshots / "not-live.png")
    os.kill(hub.hub.pid, signal.SIGCONT)

    for console in consoles:
        page = console.page
        await expect(page.locator("#conn-text")).to_contain_text("Live again", timeout=15_000)
        await expect(page.locator("body")).not_to_have_class(re.compile(r"\bstale\b"))
        strip = page.locator('#strip .strip-alert[data-alert-room="101"]')
        await expect(strip).to_contain_text("PANIC ALERT: room 101")
    await expect(consoles[0].page.locator('[data-action="take-control"]')).to_be_enabled()
    async with httpx.AsyncClient(timeout=5) as client:
        assert (await client.get(f"{hub.hub_url}/api/health")).json()["ok"]
