"""The kiosk on a wall: a 55" 1080p screen read from 5 m (the arithmetic is in console.css).

State words must be at least 16 arcminutes there: 51 CSS px of font at 1920x1080. The page
fills the screen without scrolling, marks REAL and DRILL on every tile, and stays readable
at 120 rooms (grouped by building, the summary first at full size).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.async_api import Page, expect

from hub.directives import DirectiveRequest
from hub.service import HubService
from protocol.messages import EventKind
from protocol.srp import Action
from provisioning.throwaway import ThrowawaySite, create_throwaway_site
from roomcast.broker import free_port
from tests.browser.conftest import OpenConsole, short_lapse
from tests.conftest import Node

pytestmark = [pytest.mark.browser, pytest.mark.integration]

MIN_WORD_PX = 51.0
"""16 arcmin at 5 m on a 55" 1080p panel, as CSS px of a bold sans (see console.css)."""
WALL = {"width": 1920, "height": 1080}


@pytest.fixture
def site(tmp_path: Path, request: pytest.FixtureRequest) -> ThrowawaySite:
    rooms = int(getattr(request, "param", 24))
    return short_lapse(
        create_throwaway_site(
            tmp_path / "site", rooms=rooms, broker_port=free_port(), heartbeat_s=1.0
        )
    )


async def font_px(page: Page, selector: str) -> list[float]:
    sizes = await page.eval_on_selector_all(
        selector, "els => els.map((e) => parseFloat(getComputedStyle(e).fontSize))"
    )
    assert sizes, f"nothing matches {selector}"
    return [float(size) for size in sizes]


async def fills_the_screen_without_scrolling(page: Page) -> None:
    height = await page.evaluate("document.documentElement.scrollHeight")
    assert height <= WALL["height"], f"the kiosk scrolls: {height} px high"
    bottom = await page.evaluate(
        "Math.max(...[...document.querySelectorAll('.ktile')]"
        ".map((t) => t.getBoundingClientRect().bottom))"
    )
    assert bottom >= 0.9 * WALL["height"], f"the tiles end at {bottom} px: the screen is not used"


async def test_the_kiosk_reads_from_five_metres(
    hub: HubService,
    site: ThrowawaySite,
    nodes: list[Node],
    open_console: OpenConsole,
    screenshots: Path,
) -> None:
    wall = await open_console(**WALL)
    page = wall.page
    await wall.login_as_admin(site)
    await wall.goto("/kiosk")
    await page.get_by_role("button", name="Start the wall screen with alarm sound").click()
    hub.engine.directives.issue(
        DirectiveRequest(action=Action.LOCKDOWN, drill=False), user="office"
    )
    await expect(page.locator(".ktile.act-lockdown.ack-acked")).to_have_count(24)
    nodes[7].service.activate(EventKind.PANIC)
    await expect(page.locator(".ktile.alarm")).to_have_count(1)
    await expect(page.locator(".ktile .kmark.real-tag")).to_have_count(24)
    await expect(page.locator(".kiosk-now .real-tag")).to_have_text("REAL")
    await expect(page.locator(".kiosk-latest .real-tag")).to_have_text("REAL")
    await expect(page.locator(".kbuilding h2")).to_have_count(2)
    for selector in (".ktile .kroom", ".ktile .kstate", ".kiosk-now .badge", ".strip-what strong"):
        small = [px for px in await font_px(page, selector) if px < MIN_WORD_PX]
        assert small == [], f"{selector} below 16 arcmin at 5 m: {small}"
    await page.screenshot(path=screenshots / "kiosk.png")
    await fills_the_screen_without_scrolling(page)

    hub.engine.directives.issue(DirectiveRequest(action=Action.ALL_CLEAR), user="office")
    hub.engine.directives.issue(DirectiveRequest(action=Action.HOLD, drill=True), user="office")
    await expect(page.locator(".ktile.act-hold .kmark.drill-tag")).to_have_count(24)


@pytest.mark.parametrize("site", [120], indirect=True)
async def test_the_kiosk_at_120_rooms(
    hub: HubService, site: ThrowawaySite, open_console: OpenConsole, screenshots: Path
) -> None:
    """No room process runs here: the hub sees 120 offline rooms, the worst wall to read."""
    wall = await open_console(**WALL)
    page = wall.page
    await wall.login_as_admin(site)
    hub.engine.directives.issue(DirectiveRequest(action=Action.SECURE, drill=True), user="office")
    await wall.goto("/kiosk")
    await page.get_by_role("button", name="Start the wall screen with alarm sound").click()
    await expect(page.locator(".ktile")).to_have_count(120)
    await expect(page.locator(".ktile .kmark.drill-tag")).to_have_count(120)
    await expect(page.locator(".kbuilding h2")).to_have_count(2)
    for selector in (".kiosk-now .badge", ".kiosk-needs"):
        small = [px for px in await font_px(page, selector) if px < MIN_WORD_PX]
        assert small == [], f"{selector} below 16 arcmin at 5 m: {small}"
    await page.screenshot(path=screenshots / "kiosk-120.png")
    await fills_the_screen_without_scrolling(page)
