"""``POST /language`` over a real hub: the user's choice is kept in the hub's state
directory (never the site's users.json) and the next page is in it; a form without the
session's CSRF token, a language we do not have, or no session changes nothing; the way
back is a path of ours, never another site. The choice survives a restart, and IT's later
``provision user language`` wins over it."""

from __future__ import annotations

import httpx
import pytest

from hub.service import HubService
from provisioning import add_user
from provisioning.throwaway import ThrowawaySite
from provisioning.users import set_language
from roomcast.broker import MosquittoProcess
from tests.conftest import hub_with, login_body

pytestmark = pytest.mark.integration

PASSWORD = "correct horse battery staple"


async def _lang(client: httpx.AsyncClient) -> str:
    """The language of the user's next page, as its ``<html lang>`` says."""
    page = (await client.get("/board")).text
    return page.partition('<html lang="')[2].partition('"')[0]


async def test_the_language_control(hub: HubService, site: ThrowawaySite) -> None:
    add_user(site.layout.root, "luz", "viewer", PASSWORD)
    users_file = site.layout.hub.users.read_bytes()
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
        assert forged.status_code == 403 and await _lang(client) == "en"
        french = await client.post("/language", data={"language": "fr", "csrf": csrf})
        assert french.status_code == 400 and await _lang(client) == "en"
        assert "language must be one of en, es" in french.text

        chose = await client.post(
            "/language", data={"language": "es", "csrf": csrf, "next": "//evil.example/"}
        )
        assert chose.status_code == 303 and chose.headers["location"] == "/board"
        board = await client.get("/board")
        assert '<html lang="es">' in board.text and ">Tablero</a>" in board.text
        back = await client.post(
            "/language", data={"language": "en", "csrf": csrf, "next": "/drills"}
        )
        assert back.headers["location"] == "/drills" and await _lang(client) == "en"
    assert site.layout.hub.users.read_bytes() == users_file  # IT's file, untouched


async def test_a_choice_survives_a_restart_and_it_wins_when_later(
    site: ThrowawaySite, mosquitto: MosquittoProcess
) -> None:
    add_user(site.layout.root, "luz", "viewer", PASSWORD)
    async with hub_with(site) as hub, httpx.AsyncClient(base_url=hub.api_url) as client:
        login = await client.post(
            "/api/login", json=login_body(site, "luz", PASSWORD, kind="console")
        )
        csrf = str(login.json()["csrf"])
        await client.post("/language", data={"language": "es", "csrf": csrf})
        assert await _lang(client) == "es"
        cookies = client.cookies
    # A restart; the browser comes back with its cookie on a new connection.
    async with (
        hub_with(site) as hub,
        httpx.AsyncClient(base_url=hub.api_url, cookies=cookies) as client,
    ):
        assert await _lang(client) == "es"  # kept in the hub's state directory
        set_language(site.layout.root, "luz", "en")  # IT, later: wins at once
        assert await _lang(client) == "en"
        await client.post("/language", data={"language": "es", "csrf": csrf})
        assert await _lang(client) == "es"  # the user's own, later again: wins
        set_language(site.layout.root, "luz", "es")
        set_language(site.layout.root, "luz", "en")  # the same value as before still counts
        assert await _lang(client) == "en"
