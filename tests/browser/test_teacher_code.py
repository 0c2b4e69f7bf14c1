"""The teacher's login page at a site that requires a second factor for teachers, in a real
headless Chromium at phone size: a teacher IT enrolled is asked for the code (the field
appears and takes the focus, with what to type) and gets in with it; one without a second
factor is told what they and IT do, and stays on the login page. No axe-core violation."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from playwright.async_api import expect

from protocol.factors import current_code
from provisioning.second_factor import enrol
from provisioning.staff import import_staff
from provisioning.throwaway import ThrowawaySite, create_throwaway_site
from provisioning.users import set_password
from roomcast.broker import free_port
from tests.browser.conftest import ROOMS, OpenConsole, axe_violations

pytestmark = [pytest.mark.browser, pytest.mark.integration]

PASSWORD = "correct horse battery staple"
ENROLLED, NOT_YET = "ana@school.example", "ben@school.example"


@pytest.fixture
def site(tmp_path: Path) -> ThrowawaySite:
    """Teachers need a second factor here; IT enrolled ana, not ben."""
    made = create_throwaway_site(
        tmp_path / "site", rooms=ROOMS, broker_port=free_port(), heartbeat_s=1.0
    )
    config = json.loads(made.hub.config.read_text())
    made.hub.config.write_text(json.dumps(config | {"totp_required_for": ["admin", "teacher"]}))
    staff = tmp_path / "staff.csv"
    staff.write_text(
        f"name,email,rooms\nAna Lima,{ENROLLED},101\nBen Ode,{NOT_YET},102\n", encoding="utf-8"
    )
    import_staff(made.layout.root, staff)
    for teacher in (ENROLLED, NOT_YET):
        set_password(made.layout.root, teacher, PASSWORD)
    (tmp_path / "secret").write_text(enrol(made.layout.root, ENROLLED).secret)
    return made


async def test_the_page_asks_for_the_code_or_says_what_to_do(
    site: ThrowawaySite, open_console: OpenConsole, tmp_path: Path
) -> None:
    phone = await open_console(width=390, height=844, axe=True)
    page = phone.page
    phone.expect_refusals(401, 403)  # the hub's "which code?" and "set one up first"
    await page.goto(f"{phone.base}/teacher/login")
    await page.get_by_label("User name").fill(NOT_YET)
    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_role("button", name="Log in").click()
    said = page.locator("#login-error")
    await expect(said).to_contain_text(f"ask IT to run `roomcast provision user totp {NOT_YET}`")
    assert page.url == f"{phone.base}/teacher/login"

    await page.get_by_label("User name").fill(ENROLLED)
    await page.get_by_role("button", name="Log in").click()
    code = page.get_by_label("Code from your authenticator app")
    await expect(code).to_be_visible()
    await expect(code).to_be_focused()
    await expect(said).to_contain_text("needs a second-factor code")
    assert await axe_violations(page) == []
    await code.fill(current_code((tmp_path / "secret").read_text(), time.time()))
    await page.get_by_role("button", name="Log in").click()
    await page.wait_for_url(f"{phone.base}/teacher")
    await expect(page.locator("#term")).to_have_text("STANDBY")
