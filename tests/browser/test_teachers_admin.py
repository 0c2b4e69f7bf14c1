"""The console's Teachers page in a real headless Chromium: an admin adds a substitute
through the form, the page lists both the staff list's teacher and the one added here
with where each comes from, and the one added here is removed with its button (the staff
list's has none). No axe-core violation with both kinds of row."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.async_api import expect

from hub.service import HubService
from provisioning.staff import import_staff
from provisioning.throwaway import ThrowawaySite
from tests.browser.conftest import OpenConsole, axe_violations

pytestmark = [pytest.mark.browser, pytest.mark.integration]

ON_FILE, SUBSTITUTE = "ana@school.example", "sub@school.example"


async def test_add_list_and_remove_a_substitute(
    hub: HubService, site: ThrowawaySite, open_console: OpenConsole, tmp_path: Path
) -> None:
    staff = tmp_path / "staff.csv"
    staff.write_text(f"name,email,rooms\nAna Lima,{ON_FILE},101\n", encoding="utf-8")
    import_staff(site.layout.root, staff)
    console = await open_console(axe=True)
    page = console.page
    await console.login_as_admin(site)
    await console.goto("/teachers")
    await page.get_by_label("Name", exact=True).fill("Sam Sub")
    await page.get_by_label("User name or email").fill(SUBSTITUTE)
    await page.get_by_label("Rooms (separated by ;)").fill("102")
    await page.get_by_role("button", name="Add teacher").click()
    await expect(page.locator("#add-said")).to_have_text(f"{SUBSTITUTE} added.")
    qr = re.compile(r"^data:image/svg\+xml")
    await expect(page.locator("#new-link-qr")).to_have_attribute("src", qr)

    await page.reload()
    rows = page.locator("table.teachers tbody tr")
    await expect(rows).to_have_count(2)
    on_file, added = rows.filter(has_text=ON_FILE), rows.filter(has_text=SUBSTITUTE)
    await expect(on_file).to_contain_text("Staff list (users.json)")
    await expect(added).to_contain_text(f"Added here by {site.admin_user}")
    await expect(on_file.get_by_role("button", name=f"Remove {ON_FILE}")).to_have_count(0)
    assert await axe_violations(page) == []
    await added.get_by_role("button", name=f"Remove {SUBSTITUTE}").click()
    await expect(page.locator("#revoke-said")).to_have_text(f"{SUBSTITUTE} removed.")
    await expect(rows).to_have_count(1)
    await page.reload()
    await expect(rows).to_have_count(1)
    await expect(rows).to_contain_text(ON_FILE)
