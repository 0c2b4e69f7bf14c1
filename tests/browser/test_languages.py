"""The console and the teacher's page in each user's language, in a real Chromium: a user
whose language is Spanish (``provision user language``) gets a Spanish board, issue form
and confirmation, alerts, drills and drill report, devices, audit log and teacher's page
with ``<html lang="es">`` and SRP's terms as the site words them; a browser that asks for
Spanish gets a Spanish login page, the hub's refusal included; the language control
switches back; an English user still sees English; axe-core finds no violation in
Spanish, at a desktop and a phone size."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.async_api import Page, expect

from hub.directives import DirectiveRequest
from hub.service import HubService
from protocol.messages import Roll
from protocol.srp import Action
from provisioning import add_user
from provisioning.staff import import_staff
from provisioning.throwaway import ThrowawaySite
from provisioning.users import set_language, set_password
from tests.browser.conftest import ROOMS, Console, OpenConsole, axe_violations
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
    # the phone's language decides before login (Accept-Language), as on the console
    await phone.context.set_extra_http_headers({"Accept-Language": "es-US,es;q=0.9"})
    await page.goto(f"{phone.base}/teacher/login")
    await expect(page.locator("html")).to_have_attribute("lang", "es")
    await expect(page).to_have_title(re.compile("^Página del docente: iniciar sesión"))
    assert await axe_violations(page) == []
    await page.get_by_label("Nombre de usuario").fill(TEACHER)
    await page.get_by_label("Contraseña").fill("not the password")
    phone.expect_refusals(401)
    await page.get_by_role("button", name="Iniciar sesión").click()
    await expect(page.locator("#login-error")).to_have_text(
        "nombre de usuario o contraseña incorrectos"  # the hub's refusal, by teacher.js
    )
    await page.get_by_label("Contraseña").fill(PASSWORD)
    await page.get_by_role("button", name="Iniciar sesión").click()
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
    await page.get_by_role("button", name="Todos presentes").click()  # teacher.js words it
    await expect(page.locator("#roll-said")).to_have_text("Enviado: Todos presentes")


def a_finished_drill(hub: HubService) -> None:
    """Drill #1: a DRILL Lockdown everywhere, then the drill's All clear."""
    for action in (Action.LOCKDOWN, Action.ALL_CLEAR):
        hub.engine.directives.issue(DirectiveRequest(action=action, drill=True), user="x")


async def spanish_login(console: Console, user: str) -> None:
    """The login page in the browser's language (Spanish), a wrong password refused in
    Spanish, then the right one."""
    page = console.page
    await console.context.set_extra_http_headers({"Accept-Language": "es-MX,es;q=0.9,en;q=0.5"})
    await console.goto("/login")
    await expect(page.locator("html")).to_have_attribute("lang", "es")
    await expect(page).to_have_title(re.compile("^Iniciar sesión"))
    await page.get_by_label("Nombre de usuario").fill(user)
    await page.get_by_label("Contraseña", exact=True).fill("not the password at all")
    console.expect_refusals(401)
    await page.get_by_role("button", name="Iniciar sesión").click()
    await expect(page.locator("#login-error")).to_have_text(
        "nombre de usuario o contraseña incorrectos"  # the hub's refusal, translated
    )
    await page.get_by_label("Contraseña", exact=True).fill(PASSWORD)
    await page.get_by_role("button", name="Iniciar sesión").click()
    await page.wait_for_url(f"{console.base}/board")


async def spanish_record_pages(page: Page, base: str) -> None:
    """Alerts, drills and the drill report, devices, audit, the kiosk: Spanish words."""
    await page.goto(f"{base}/alerts")
    await expect(page.get_by_role("heading", name="Alertas de pánico")).to_be_visible()
    await expect(page.locator("#main")).to_contain_text("No se ha registrado ninguna alerta")
    await page.get_by_role("link", name="Simulacros", exact=True).click()
    await expect(page.get_by_role("heading", name="Simulacros", exact=True)).to_be_visible()
    await expect(page.locator("table.drills")).to_contain_text("todo despejado")
    await page.get_by_role("link", name="#1 Simulacro de Lockdown").click()
    heading = page.get_by_role("heading", name="Informe del simulacro: n.º 1 Simulacro de Lockdown")
    await expect(heading).to_be_visible()
    await expect(page.locator(".drill-banner")).to_contain_text("terminado por todo despejado")
    await expect(page.locator(".drill-banner")).to_contain_text("DRILL")
    await expect(page.get_by_role("link", name="Descargar CSV")).to_be_visible()
    await expect(page.locator("table").first).to_contain_text("LOCKDOWN")  # the site's term
    await page.goto(f"{base}/devices")
    await expect(page.get_by_role("heading", name="Estado de los dispositivos")).to_be_visible()
    await expect(page.locator("td.presence").first).to_have_text("Conectada")
    await page.goto(f"{base}/audit")
    await expect(page.get_by_role("heading", name="Registro de auditoría")).to_be_visible()
    await expect(page.get_by_role("button", name="Filtrar")).to_be_visible()
    await expect(page.get_by_label("La acción o el detalle contiene")).to_be_visible()
    await page.goto(f"{base}/kiosk")
    await expect(page.locator(".kiosk-now")).to_contain_text(f"{ROOMS} / {ROOMS} confirmadas")
    await expect(page.get_by_role("link", name="Consola")).to_be_visible()
    await page.goto(f"{base}/audit")  # where the caller's axe check looks


async def test_a_spanish_users_console_pages(
    hub: HubService, site: ThrowawaySite, nodes: list[Node], open_console: OpenConsole
) -> None:
    add_user(site.layout.root, "marta", "office", PASSWORD)
    set_language(site.layout.root, "marta", "es")
    a_finished_drill(hub)
    problems: list[str] = []
    for width, height in ((1280, 800), (390, 844)):
        console = await open_console(width=width, height=height, axe=True)
        page = console.page
        size = f"{width}x{height}"
        await console.context.set_extra_http_headers({"Accept-Language": "es"})
        await console.goto("/login")
        problems += [f"{size} login: {v}" for v in await axe_violations(page)]
        await spanish_login(console, "marta")

        await page.get_by_role("link", name="Emitir", exact=True).click()
        await expect(page.get_by_role("heading", name="Emitir una directiva")).to_be_visible()
        await expect(page.locator("html")).to_have_attribute("lang", "es")
        await page.locator('input[name="action"][value="hold"]').check()
        await page.get_by_role("radio", name=re.compile("^DRILL")).check()
        problems += [f"{size} issue: {v}" for v in await axe_violations(page)]
        await page.get_by_role("button", name="Revisar antes de emitir…").click()
        await expect(page.get_by_role("heading", name="Confirmar: HOLD")).to_be_visible()
        await expect(page.locator("#mode")).to_contain_text("DRILL: esto es una práctica.")
        await expect(page.locator("#what")).to_contain_text(
            f"{ROOMS} pantallas de salón en todo el plantel mostrarán HOLD"
        )
        issue = page.get_by_role("button", name=f"Emitir HOLD DRILL a {ROOMS} salones")
        await expect(issue).to_be_visible()
        # console.js writes its words in Spanish too (the alarm toggle's state)
        state = page.locator(".sound-state")
        await expect(state).to_have_text(re.compile("^(encendido|apagado|bloqueado: .*)$"))
        problems += [f"{size} confirm: {v}" for v in await axe_violations(page)]

        await spanish_record_pages(page, console.base)
        problems += [f"{size} audit: {v}" for v in await axe_violations(page)]
    assert problems == []

    await page.goto(f"{console.base}/drills/1")
    problems = [f"drill report: {v}" for v in await axe_violations(page)]
    await page.goto(f"{console.base}/devices")
    problems += [f"devices: {v}" for v in await axe_violations(page)]
    assert problems == []


async def test_an_english_user_still_sees_english(
    hub: HubService, site: ThrowawaySite, open_console: OpenConsole
) -> None:
    add_user(site.layout.root, "paul", "office", PASSWORD)
    a_finished_drill(hub)
    console = await open_console()
    page = console.page
    await console.login("paul", PASSWORD)  # the login page in English: User name, Log in
    await expect(page.locator("html")).to_have_attribute("lang", "en")
    await page.get_by_role("link", name="Issue", exact=True).click()
    await expect(page.get_by_role("heading", name="Issue a directive")).to_be_visible()
    await page.get_by_role("link", name="Drills", exact=True).click()
    await page.get_by_role("link", name="#1 Lockdown drill").click()
    await expect(page.locator(".drill-banner")).to_contain_text("ended by all clear")
    await page.get_by_role("link", name="Audit log", exact=True).click()
    await expect(page.get_by_role("button", name="Filter")).to_be_visible()
    await expect(page.locator("html")).to_have_attribute("lang", "en")


async def test_a_spanish_admins_teachers_page(
    hub: HubService, site: ThrowawaySite, open_console: OpenConsole
) -> None:
    """The teachers page and what staff.js writes (from the catalog, in data-words)."""
    set_language(site.layout.root, site.admin_user, "es")
    console = await open_console(axe=True)
    page = console.page
    await console.login_as_admin(site)  # an English browser: the login page is English
    await page.get_by_role("link", name="Docentes", exact=True).click()
    await expect(page.get_by_role("heading", name="Docentes", exact=True)).to_be_visible()
    await expect(page.locator("html")).to_have_attribute("lang", "es")
    await page.get_by_label("Nombre", exact=True).fill("Ana Lima")
    await page.get_by_label("Nombre de usuario o correo electrónico").fill(TEACHER)
    await page.get_by_label("Salones (separados por ;)").fill("101")
    await page.get_by_role("button", name="Agregar docente").click()
    await expect(page.locator("#add-said")).to_have_text(f"{TEACHER} agregado.")
    await expect(
        page.get_by_role("heading", name=f"Enlace de inscripción para {TEACHER}")
    ).to_be_visible()
    assert await axe_violations(page) == []


async def test_a_spanish_office_users_roll_words_and_audit_log(
    hub: HubService, site: ThrowawaySite, open_console: OpenConsole
) -> None:
    """What the rest of the hub says in English, on a Spanish user's pages: a room's roll on
    the board and in the drill report, the audit log's actions and detail names, the drill
    chart's column subtitle, the permission a 403 page names."""
    add_user(site.layout.root, "marta", "office", PASSWORD)
    set_language(site.layout.root, "marta", "es")
    lockdown = hub.engine.directives.issue(
        DirectiveRequest(action=Action.LOCKDOWN, drill=True), user="x"
    )
    counted = Roll(missing=2, extra=None, injured=1, help=True)
    hub.engine.roll.report("101", lockdown.seq, counted, user="x")
    console = await open_console()
    page = console.page
    await console.login("marta", PASSWORD)
    said = "2 desaparecidos, 1 herido, NECESITA AYUDA"
    await expect(page.locator('[data-roll-room="101"]')).to_contain_text(f"Pase de lista: {said}")
    await console.goto("/drills/1")
    await expect(page.locator("[data-roll-timeline]")).to_contain_text(said)
    await expect(page.locator("svg.chart .col-sub").first).to_have_text("+0 s, todo el plantel")
    await console.goto("/audit")
    audit = page.locator("table.audit")
    for action in (
        "emisión de LOCKDOWN",
        "reporte del pase de lista",
        "inicio de sesión (consola)",
    ):
        await expect(audit).to_contain_text(action)
    await expect(audit).to_contain_text("simulacro: sí")  # the detail's name and yes
    stored = await page.request.get(f"{console.base}/api/audit")  # the record stays English
    assert stored.ok and "issue lockdown" in await stored.text()
    console.expect_refusals(403)
    await console.goto("/teachers")  # an office user may not manage teachers
    await expect(page.locator("#main p.banner.bad")).to_have_text(
        "Su rol (office) no permite: administrar las cuentas y sesiones de los docentes."
    )
