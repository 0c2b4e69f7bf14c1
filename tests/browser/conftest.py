"""A real headless Chromium (Debian's ``chromium``) driven by Playwright's Python client.

Playwright's own browser downloads are never used: the browser is the system one, so the
tests run where CI runs them (``apt-get install chromium``). A missing browser fails the
run, naming the package; it never skips.

Set ``ROOMCAST_SCREENSHOTS=docs/console`` to write the documentation's screenshots there;
otherwise they go to the test's temporary directory.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest
from playwright.async_api import (
    Browser,
    BrowserContext,
    Error,
    Page,
    async_playwright,
    expect,
)

from hub.service import HubService
from provisioning.throwaway import ThrowawaySite, create_throwaway_site
from roomcast.broker import free_port

CHROMIUM = os.environ.get("ROOMCAST_CHROMIUM", "/usr/bin/chromium")
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
MISSING = (
    f"Chromium is not installed at {CHROMIUM}: the console tests need a real browser. "
    "Install Debian's package `chromium` (apt-get install chromium)."
)
WAIT_MS = 10_000
"""Bound on every wait for something to appear on a page."""


ROOMS = 12
"""Two buildings (ten rooms in main, two in north): enough for the board's groups."""
CONTROL_LAPSE_S = 4.0
"""Short, so a test can see a closed browser's control lapse (the hub's default is 45 s);
longer than a page load, so navigating never drops control."""
AXE = Path(__file__).parent / "vendor" / "axe.min.js"


def short_lapse(site: ThrowawaySite) -> ThrowawaySite:
    config = json.loads(site.hub.config.read_text())
    config["console"] = {"control_lapse_s": CONTROL_LAPSE_S}
    site.hub.config.write_text(json.dumps(config))
    return site


@pytest.fixture
def site(tmp_path: Path) -> ThrowawaySite:
    """The shared site fixture, with more rooms: these tests look at a whole board."""
    return short_lapse(
        create_throwaway_site(
            tmp_path / "site", rooms=ROOMS, broker_port=free_port(), heartbeat_s=1.0
        )
    )


async def axe_violations(page: Page) -> list[str]:
    """axe-core's WCAG 2.0/2.1 A and AA rules on the page as it is now: what fails, readably."""
    if not await page.evaluate("typeof window.axe !== 'undefined'"):
        await page.add_script_tag(path=AXE)
    found = await page.evaluate(
        """async () => {
            const result = await axe.run(document, {
                runOnly: { type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"] },
            });
            return result.violations.map((v) =>
                `${v.id}: ${v.help} at ${v.nodes.map((n) => n.target.join(" ")).join(", ")}` +
                ` (${v.nodes[0].failureSummary})`);
        }"""
    )
    return [str(item) for item in found]


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    expect.set_options(timeout=WAIT_MS)
    if shutil.which(CHROMIUM) is None:
        pytest.fail(MISSING, pytrace=False)
    async with async_playwright() as playwright:
        try:
            launched = await playwright.chromium.launch(
                executable_path=CHROMIUM, headless=True, args=ARGS
            )
        except Error as error:
            pytest.fail(f"{MISSING}\n{error.message}", pytrace=False)
        try:
            yield launched
        finally:
            await launched.close()


class Console:
    """One browser context (its own cookies) on the hub's console, recording page errors."""

    def __init__(self, context: BrowserContext, page: Page, base: str) -> None:
        self.context, self.page, self.base = context, page, base
        self.errors: list[str] = []
        self.refusals: set[int] = set()
        """HTTP statuses this test provokes on purpose (a wrong code is a 401)."""
        page.on("pageerror", lambda error: self.errors.append(str(error)))
        page.on(
            "console",
            lambda message: self.errors.append(message.text) if message.type == "error" else None,
        )
        page.set_default_timeout(WAIT_MS)

    async def login(self, user: str, password: str, otp: str | None = None) -> None:
        """Log in from the login page; ``otp``: the second-factor code the hub then asks for."""
        await self.page.goto(f"{self.base}/login")
        await self.page.get_by_label("User name").fill(user)
        await self.page.get_by_label("Password", exact=True).fill(password)
        await self.page.get_by_role("button", name="Log in").click()
        if otp is not None:
            self.expect_refusals(401)  # the hub's "which code?" before the code is sent
            code = self.page.get_by_label("Code")
            await expect(code).to_be_visible()
            await expect(code).to_be_focused()
            await code.fill(otp)
            await self.page.get_by_role("button", name="Log in").click()
        await self.page.wait_for_url(f"{self.base}/board")

    async def login_as_admin(self, site: ThrowawaySite) -> None:
        await self.login(site.admin_user, site.admin_password, site.admin_code())

    def expect_refusals(self, *statuses: int) -> None:
        """The browser logs every 4xx reply as a console error; these ones are expected."""
        self.refusals.update(statuses)

    def unexpected_errors(self) -> list[str]:
        refused = tuple(f"the server responded with a status of {s} " for s in self.refusals)
        return [e for e in self.errors if not any(r in e for r in refused)]

    async def goto(self, path: str) -> None:
        await self.page.goto(f"{self.base}{path}")


OpenConsole = Callable[..., Awaitable[Console]]


@pytest.fixture
async def open_console(browser: Browser, hub: HubService) -> AsyncIterator[OpenConsole]:
    consoles: list[Console] = []

    async def open_one(*, width: int = 1280, height: int = 900, axe: bool = False) -> Console:
        # axe-core is injected as a script tag, which the console's CSP forbids (as it
        # should): only the accessibility tests' contexts bypass it.
        context = await browser.new_context(
            viewport={"width": width, "height": height}, bypass_csp=axe
        )
        console = Console(context, await context.new_page(), hub.api_url)
        consoles.append(console)
        return console

    yield open_one
    for console in consoles:
        await console.context.close()
    for console in consoles:
        # A CSP violation or a script error shows up here: the console must have none.
        assert console.unexpected_errors() == [], console.errors


@pytest.fixture
def screenshots(tmp_path: Path) -> Path:
    target = Path(os.environ.get("ROOMCAST_SCREENSHOTS", "") or tmp_path / "screenshots")
    target.mkdir(parents=True, exist_ok=True)
    return target
