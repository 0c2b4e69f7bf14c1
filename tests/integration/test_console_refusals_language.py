"""The console's own refusals in the user's language, over a real hub: the error page a
role may not open and the issue form's refusal are Spanish for a Spanish user and the
English they always were for everyone else; the login page follows the browser's
``Accept-Language`` (no user is known before login)."""

from __future__ import annotations

import httpx
import pytest

from hub.service import HubService
from provisioning import add_user
from provisioning.throwaway import ThrowawaySite
from provisioning.users import set_language
from tests.conftest import login_body

pytestmark = pytest.mark.integration

PASSWORD = "correct horse battery staple"


async def _logged_in(client: httpx.AsyncClient, site: ThrowawaySite, user: str) -> None:
    login = await client.post("/api/login", json=login_body(site, user, PASSWORD, kind="console"))
    assert login.status_code == 200, login.text


async def test_refusals_in_each_users_language(hub: HubService, site: ThrowawaySite) -> None:
    add_user(site.layout.root, "vera", "viewer", PASSWORD)
    add_user(site.layout.root, "olga", "office", PASSWORD)
    set_language(site.layout.root, "vera", "es")
    set_language(site.layout.root, "olga", "es")
    add_user(site.layout.root, "ed", "viewer", PASSWORD)
    async with httpx.AsyncClient(base_url=hub.api_url, timeout=10) as spanish:
        await _logged_in(spanish, site, "vera")
        refused = await spanish.get("/issue")
        assert refused.status_code == 403
        assert '<html lang="es">' in refused.text and "No permitido" in refused.text
        assert "Su rol (viewer) no permite: emitir." in refused.text
    async with httpx.AsyncClient(base_url=hub.api_url, timeout=10) as office:
        await _logged_in(office, site, "olga")
        no_mode = await office.get("/issue/confirm", params={"action": "hold", "scope": "site"})
        assert no_mode.status_code == 400
        assert "elija DRILL o EMERGENCIA REAL: las pantallas dicen cuál es" in no_mode.text
    async with httpx.AsyncClient(base_url=hub.api_url, timeout=10) as english:
        await _logged_in(english, site, "ed")
        refused = await english.get("/issue")
        assert '<html lang="en">' in refused.text and "Not allowed" in refused.text
        assert "Your role (viewer) may not issue." in refused.text


async def test_the_login_page_in_the_browsers_language(hub: HubService) -> None:
    async with httpx.AsyncClient(base_url=hub.api_url, timeout=10) as client:
        spanish = await client.get("/login", headers={"accept-language": "es-ES,es;q=0.9"})
        assert '<html lang="es">' in spanish.text and ">Iniciar sesión</button>" in spanish.text
        english = await client.get("/login", headers={"accept-language": "fr,en;q=0.5"})
        assert '<html lang="en">' in english.text and ">Log in</button>" in english.text
