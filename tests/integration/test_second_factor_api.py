"""The second factor at the hub's API over a real socket (real hub, real TLS broker): codes
for admins, optional for office, console enrolment, recovery codes, the audit log."""

from __future__ import annotations

import re
import time
from collections.abc import AsyncIterator

import httpx
import pyotp
import pytest

from hub.service import HubService
from provisioning import add_user, set_role
from provisioning.second_factor import clear, enrol
from provisioning.throwaway import ThrowawaySite
from roomcast.broker import MosquittoProcess
from tests.conftest import admin_login, hub_with
from transport.settings import ConfigError

pytestmark = pytest.mark.integration

PASSWORD = "correct horse battery staple"
OFFICE = {"user": "ana", "password": PASSWORD}


@pytest.fixture
async def api(hub: HubService) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=hub.api_url, timeout=30) as client:
        yield client


def _actions(hub: HubService, user: str) -> list[str]:
    return [e["action"] for e in reversed(hub.store.audit_log()) if e["user"] == user]


async def test_an_admin_needs_the_code_and_each_code_works_once(
    site: ThrowawaySite, hub: HubService, api: httpx.AsyncClient
) -> None:
    without = await api.post("/api/login", json=admin_login(site) | {"otp": None})
    assert without.status_code == 401 and without.json()["second_factor"] == "totp"
    right = admin_login(site)
    wrong = f"{(int(right['otp']) + 5) % 10**6:06d}"
    refused = await api.post("/api/login", json=right | {"otp": wrong})
    assert refused.status_code == 401 and refused.json()["error"] == "wrong code"
    assert "second_factor" not in refused.json()

    assert (await api.post("/api/login", json=right)).status_code == 200
    replayed = await api.post("/api/login", json=right)
    assert replayed.status_code == 401
    assert replayed.json()["error"] == "code already used (wait for the next one)"
    assert _actions(hub, site.admin_user) == [
        "second factor failed",
        "login (cli)",
        "second factor failed",
    ]
    failed = [e for e in hub.store.audit_log() if e["action"] == "second factor failed"]
    assert [e["detail"]["why"] for e in failed] == ["code already used", "wrong code"]
    assert right["otp"] not in str(hub.store.audit_log())  # codes are never recorded


async def test_wrong_codes_count_against_the_login_limit(
    site: ThrowawaySite, api: httpx.AsyncClient
) -> None:
    guesses = [f"{n:06d}" for n in range(6)]
    codes = [
        (await api.post("/api/login", json=admin_login(site) | {"otp": g})).status_code
        for g in guesses
    ]
    assert codes[-1] == 429 and codes.count(401) >= 4  # one guess may be the real code


async def test_office_needs_no_code_by_default(
    site: ThrowawaySite, hub: HubService, api: httpx.AsyncClient
) -> None:
    add_user(site.layout.root, "ana", "office", PASSWORD)
    assert (await api.post("/api/login", json=OFFICE)).status_code == 200
    console = await api.post("/api/login", json=OFFICE | {"kind": "console"})
    assert console.status_code == 200 and "enrol" not in console.json()


async def test_office_needs_one_when_the_site_says_so(
    site: ThrowawaySite, mosquitto: MosquittoProcess
) -> None:
    add_user(site.layout.root, "ana", "office", PASSWORD)
    async with (
        hub_with(site, totp_required_for=["admin", "office"]) as hub,
        httpx.AsyncClient(base_url=hub.api_url, timeout=30) as api,
    ):
        cli = await api.post("/api/login", json=OFFICE)
        assert cli.status_code == 403
        assert "ana must set up a second factor" in cli.json()["error"]
        assert "roomcast provision user totp ana" in cli.json()["error"]


async def test_an_unenrolled_user_enrols_in_the_console_before_the_session_is_usable(
    site: ThrowawaySite, mosquitto: MosquittoProcess
) -> None:
    add_user(site.layout.root, "ana", "office", PASSWORD)
    async with (
        hub_with(site, totp_required_for=["admin", "office"]) as hub,
        httpx.AsyncClient(base_url=hub.api_url, timeout=30) as browser,
    ):
        login = await browser.post("/api/login", json=OFFICE | {"kind": "console"})
        assert login.status_code == 200 and login.json()["enrol"] is True
        csrf = {"X-CSRF-Token": login.json()["csrf"]}
        assert (await browser.get("/api/status")).status_code == 401  # not usable yet
        assert (await browser.get("/board")).headers["location"] == "/login"

        page = await browser.get("/enrol")
        assert page.status_code == 200 and page.headers["cache-control"] == "no-store"
        assert 'src="data:image/svg+xml' in page.text
        match = re.search(r'<code id="secret">([A-Z2-7 ]+)</code>', page.text)
        assert match is not None
        secret = match.group(1).replace(" ", "")
        assert secret in (await browser.get("/enrol")).text.replace(" ", "")  # same on reload

        wrong = await browser.post("/api/enrol", json={"code": "000000"}, headers=csrf)
        assert wrong.status_code == 401
        forged = await browser.post("/api/enrol", json={"code": pyotp.TOTP(secret).now()})
        assert forged.status_code == 401  # no CSRF token
        done = await browser.post(
            "/api/enrol", json={"code": pyotp.TOTP(secret).now()}, headers=csrf
        )
        assert done.status_code == 200, done.text
        recovery = done.json()["recovery_codes"]
        assert len(recovery) == 10
        assert (await browser.get("/api/status")).status_code == 200
        assert (await browser.get("/enrol")).headers["location"] == "/login"

        async with httpx.AsyncClient(base_url=hub.api_url, timeout=30) as cli:
            asked = await cli.post("/api/login", json=OFFICE)
            assert asked.json().get("second_factor") == "totp"
            assert (await cli.post("/api/login", json=OFFICE | {"otp": recovery[3]})).is_success
            again = await cli.post("/api/login", json=OFFICE | {"otp": recovery[3]})
            assert again.status_code == 401
        assert _actions(hub, "ana") == [
            "login (second factor enrolment)",
            "second factor failed",
            "second factor enrolled (console)",
            "login (console)",
            "recovery code used",
            "login (cli)",
            "second factor failed",
        ]
        used = [e for e in hub.store.audit_log() if e["action"] == "recovery code used"]
        assert used[0]["detail"]["recovery_codes_left"] == 9
    assert recovery[3] not in site.hub.users.read_text()  # stored only as digests


async def test_it_re_enrols_or_clears_a_second_factor_and_old_sessions_end(
    site: ThrowawaySite, hub: HubService, api: httpx.AsyncClient
) -> None:
    login = await api.post("/api/login", json=admin_login(site))
    auth = {"Authorization": f"Bearer {login.json()['token']}"}
    fresh = enrol(site.layout.root, site.admin_user)  # a lost phone: IT gives a new secret
    assert (await api.get("/api/status", headers=auth)).status_code == 401
    old = await api.post("/api/login", json=admin_login(site) | {"otp": site.admin_code()})
    assert old.status_code == 401  # the old secret's codes no longer work
    # This 30-second step is used up for the admin (the replay guard is per user): the next.
    body = admin_login(site) | {"otp": pyotp.TOTP(fresh.secret).at(time.time() + 30)}
    assert (await api.post("/api/login", json=body)).status_code == 200

    clear(site.layout.root, site.admin_user)
    again = await api.post("/api/login", json=admin_login(site))
    assert again.status_code == 403 and "must set up a second factor" in again.json()["error"]
    console = await api.post("/api/login", json=admin_login(site, kind="console"))
    assert console.json()["enrol"] is True


async def test_a_bad_totp_required_for_stops_the_hub_naming_the_key(
    site: ThrowawaySite, mosquitto: MosquittoProcess
) -> None:
    with pytest.raises(ConfigError) as caught:
        async with hub_with(site, totp_required_for=["office"]):
            pass
    assert str(caught.value) == (
        f'{site.hub.config}: totp_required_for: must include "admin": admins always need one'
    )


async def test_a_session_made_without_a_code_ends_when_the_role_comes_to_need_one(
    site: ThrowawaySite, hub: HubService, api: httpx.AsyncClient
) -> None:
    add_user(site.layout.root, "ana", "office", PASSWORD)
    login = await api.post("/api/login", json=OFFICE)
    auth = {"Authorization": f"Bearer {login.json()['token']}"}
    assert (await api.get("/api/status", headers=auth)).status_code == 200
    set_role(site.layout.root, "ana", "admin")  # promoted: her password alone is not enough
    assert (await api.get("/api/status", headers=auth)).status_code == 401
    assert "session ended (second factor now required)" in _actions(hub, "ana")
