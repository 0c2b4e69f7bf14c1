"""``POST /language`` over a real hub: the user's choice goes into the users file and the
next page is in it; a form without the session's CSRF token, a language we do not have,
or no session changes nothing; the way back is a path of ours, never another site."""

from __future__ import annotations

import json

import httpx
import pytest

from hub.service import HubService
from provisioning import add_user
from provisioning.throwaway import ThrowawaySite
from tests.conftest import login_body

pytestmark = pytest.mark.integration

PASSWORD = "correct horse battery staple"


def _language(site: ThrowawaySite, user: str) -> str | None:
    record = json.loads(site.layout.hub.users.read_text())["users"][user]
    return record.get("language")


async def test_the_language_control(hub: HubService, site: ThrowawaySite) -> None:
    add_user(site.layout.root, "luz", "viewer", PASSWORD)
    async with httpx.AsyncClient(base_url=hub.api_url, timeout=10) as client:
        nobody = await client.post("/language", data={"language": "es", "csrf": "x"})
        assert nobody.status_code == 303 and nobody.headers["location"] == "/login"
        login = await client.post(
            "/api/login", json=login_body(site, "luz", PASSWORD, kind="console")
        )
        csrf = str(login.json()["csrf"])
        board = await client.get("/board")
        assert '<html lang="en">' in board.text and ">Board</a>" in board.text

        forged = await client.post("/language", data={"language": "es", "csrf": "forged"})
        assert forged.status_code == 403 and _language(site, "luz") is None
        french = await client.post("/language", data={"language": "fr", "csrf": csrf})
        assert french.status_code == 400 and _language(site, "luz") is None

        chose = await client.post(
            "/language", data={"language": "es", "csrf": csrf, "next": "//evil.example/"}
        )
        assert chose.status_code == 303 and chose.headers["location"] == "/board"
        assert _language(site, "luz") == "es"
        board = await client.get("/board")
        assert '<html lang="es">' in board.text and ">Tablero</a>" in board.text
        back = await client.post(
            "/language", data={"language": "en", "csrf": csrf, "next": "/drills"}
        )
        assert back.headers["location"] == "/drills" and _language(site, "luz") == "en"
