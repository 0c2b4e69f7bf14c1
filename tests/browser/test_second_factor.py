"""The console's second factor in a real headless Chromium: a code after the password, the
enrolment page for an admin who has none yet (QR code and secret), and a recovery code."""

from __future__ import annotations

import re
from pathlib import Path

import pyotp
import pytest
from playwright.async_api import expect

from hub.service import HubService
from provisioning import add_user
from provisioning.throwaway import ThrowawaySite
from tests.browser.conftest import ROOMS, OpenConsole

pytestmark = [pytest.mark.browser, pytest.mark.integration]

PASSWORD = "correct horse battery staple"


async def test_an_admin_logs_in_with_the_code_from_the_app(
    hub: HubService, site: ThrowawaySite, open_console: OpenConsole
) -> None:
    console = await open_console()
    console.expect_refusals(401)  # the hub asks for the code, then refuses a wrong one
    page = console.page
    await console.goto("/login")
    await expect(page.get_by_label("Code")).to_be_hidden()  # nobody is asked up front
    await page.get_by_label("User name").fill(site.admin_user)
    await page.get_by_label("Password", exact=True).fill(site.admin_password)
    await page.get_by_role("button", name="Log in").click()
    code = page.get_by_label("Code")
    await expect(code).to_be_focused()
    await expect(page.locator("#login-error")).to_be_hidden()  # being asked is no error

    right = site.admin_code()
    await code.fill(f"{(int(right) + 1) % 10**6:06d}")
    await page.get_by_role("button", name="Log in").click()
    await expect(page.locator("#login-error")).to_have_text("wrong code")
    await code.fill(right)
    await page.get_by_role("button", name="Log in").click()
    await page.wait_for_url("**/board")
    await expect(page.locator(".tile")).to_have_count(ROOMS)


async def test_an_unenrolled_admin_enrols_by_qr_code_then_lands_on_the_board(
    hub: HubService, site: ThrowawaySite, open_console: OpenConsole, screenshots: Path
) -> None:
    add_user(site.layout.root, "ben", "admin", PASSWORD)  # promoted, say: no second factor yet
    console = await open_console()
    page = console.page
    await console.goto("/login")
    await page.get_by_label("User name").fill("ben")
    await page.get_by_label("Password", exact=True).fill(PASSWORD)
    await page.get_by_role("button", name="Log in").click()
    await page.wait_for_url("**/enrol")

    qr = page.get_by_role("img", name="QR code of the second-factor secret for ben")
    await expect(qr).to_be_visible()
    assert (await qr.get_attribute("src") or "").startswith("data:image/svg+xml")
    await console.goto("/board")  # the session is not usable before the code is confirmed
    await page.wait_for_url("**/login")
    await console.goto("/enrol")
    secret = (await page.locator("#secret").inner_text()).replace(" ", "")
    assert re.fullmatch(r"[A-Z2-7]{32}", secret)
    await page.screenshot(path=screenshots / "enrol.png", full_page=True)

    await page.get_by_label("Code the app shows now").fill(pyotp.TOTP(secret).now())
    await page.get_by_role("button", name="Confirm").click()
    codes = page.locator("#recovery-codes li")
    await expect(codes).to_have_count(10)
    await expect(page.get_by_role("link", name="Continue to the board")).to_be_focused()
    await page.get_by_role("link", name="Continue to the board").click()
    await page.wait_for_url("**/board")
    await expect(page.locator(".tile")).to_have_count(ROOMS)
    actions = [e["action"] for e in hub.store.audit_log() if e["user"] == "ben"]
    assert "second factor enrolled (console)" in actions


async def test_a_recovery_code_logs_in_once(
    hub: HubService, site: ThrowawaySite, open_console: OpenConsole
) -> None:
    recovery = site.admin_recovery_codes[0]
    first = await open_console()
    await first.login(site.admin_user, site.admin_password, recovery.upper())  # typed loosely
    await expect(first.page.locator(".tile")).to_have_count(ROOMS)

    second = await open_console()
    second.expect_refusals(401)
    page = second.page
    await second.goto("/login")
    await page.get_by_label("User name").fill(site.admin_user)
    await page.get_by_label("Password", exact=True).fill(site.admin_password)
    await page.get_by_role("button", name="Log in").click()
    await page.get_by_label("Code").fill(recovery)
    await page.get_by_role("button", name="Log in").click()
    await expect(page.locator("#login-error")).to_contain_text("code already used")
    used = [e for e in hub.store.audit_log() if e["action"] == "recovery code used"]
    assert [e["detail"]["recovery_codes_left"] for e in used] == [9]
