"""The console and the teacher's page in each user's language, in a real Chromium: a user
whose language is Spanish (``provision user language``) gets a Spanish board and teacher's
page with ``<html lang="es">`` and SRP's terms as the site words them; the language control
switches it back; axe-core finds no violation in Spanish, at a desktop and a phone size."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.async_api import expect

from hub.directives import DirectiveRequest
from hub.service import HubService
from protocol.srp import Action
from provisioning import add_user
from provisioning.staff import import_staff
from provisioning.throwaway import ThrowawaySite
from provisioning.users import set_language, set_password
from tests.browser.conftest import ROOMS, OpenConsole, axe_violations
from tests.conftest import Node

pytestmark = [pytest.mark.browser, pytest.mark.integration]

PASSWORD = "correct horse battery staple"
TEACHER = "ana@school.example"


async def test_a_spanish_users_board_then_back_to_english(
    hub: HubService, site: ThrowawaySite, nodes: list[Node], open_console: OpenConsole
) -> None:
    add_user(site.layout.root, "marta", "office", PASSWORD)
    set_language(site.layout.root, "marta", "es")
    hub.engine.directives.issue(DirectiveRequest(action=Action.LOCKDOWN, drill=True), user="x")
    problems: list[str] = []
    for width, height in ((1280, 800), (390, 844)):
        console = await open_console(width=width, height=height, axe=True)
        page = console.page
        await console.login("marta", PASSWORD)
        await expect(page.locator("html")).to_have_attribute("lang", "es")
        await expect(page.get_by_role("link", name="Tablero", exact=True)).to_be_visible()
        await expect(page.locator(".tile")).to_have_count(ROOMS)
        await expect(page.get_by_role("heading", name="Edificio main")).to_be_visible()
        await expect(page.locator(".latest")).to_contain_text("LOCKDOWN")  # the site's term
        await expect(page.get_by_role("button", name="Cerrar sesión")).to_be_visible()
        await expect(page.locator(".tile .presence").first).to_have_text("Conectada")
        await expect(page.locator(".tile .ack").first).to_contain_text("Confirmada en")
        await expect(page.get_by_label("Idioma")).to_have_value("es")
        problems += [f"{width}x{height}: {v}" for v in await axe_violations(page)]
    assert problems == []

    await page.get_by_label("Idioma").select_option("en")
    await page.get_by_role("button", name="Cambiar").click()
    await page.wait_for_url("**/board")
    await expect(page.locator("html")).to_have_attribute("lang", "en")
    await expect(page.get_by_role("link", name="Board", exact=True)).to_be_visible()


async def test_a_spanish_teachers_page(
    hub: HubService, site: ThrowawaySite, open_console: OpenConsole, tmp_path: Path
) -> None:
    staff = tmp_path / "staff.csv"
    staff.write_text(f"name,email,rooms\nAna Lima,{TEACHER},101\n", encoding="utf-8")
    import_staff(site.layout.root, staff)
    set_password(site.layout.root, TEACHER, PASSWORD)
    set_language(site.layout.root, TEACHER, "es")
    hub.engine.directives.issue(DirectiveRequest(action=Action.LOCKDOWN, drill=True), user="x")
    phone = await open_console(width=390, height=844, axe=True)
    page = phone.page
    await page.goto(f"{phone.base}/teacher/login")
    await page.get_by_label("User name").fill(TEACHER)
    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_role("button", name="Log in").click()
    await page.wait_for_url(f"{phone.base}/teacher")
    await expect(page.locator("html")).to_have_attribute("lang", "es")
    await expect(page.get_by_role("heading", name="Ahora en este salón")).to_be_visible()
    await expect(page.locator("#term")).to_have_text("LOCKDOWN")  # SRP's term, as worded
    await expect(page.get_by_role("button", name="Todos presentes")).to_be_visible()
    await expect(page.locator("#panic-help")).to_contain_text("Mantenga presionado")
    await page.wait_for_timeout(1500)  # the page's script has redrawn from the hub's reply
    await expect(page.locator("#roll-said")).to_have_text("Todavía sin reportar.")
    await expect(page.locator("#contact-age")).to_have_text("ahora")
    await page.get_by_role("button", name="Mantenga presionado para enviar").hover()
    await page.mouse.down()
    await expect(page.locator("#panic-count")).to_contain_text("Siga presionando")
    await page.mouse.up()
    await expect(page.locator("#panic-count")).to_have_text("Soltó: no se envió nada.")
    assert await axe_violations(page) == []
