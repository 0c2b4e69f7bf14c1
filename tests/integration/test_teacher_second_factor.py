"""A site that requires a second factor for teachers (``totp_required_for`` has ``teacher``):
the teacher's page has no enrolment page, so a teacher without one is refused with what
they and IT do (never a silent bounce back to the login page), an enrolment link cannot
get round the requirement (and is left unused), the console cannot add a teacher who could
never sign in, and a teacher whom IT enrolled logs in on the page with password and code."""

from __future__ import annotations

import time

import httpx
import pytest

from protocol.factors import current_code
from provisioning.second_factor import enrol
from provisioning.staff import import_staff, new_link
from provisioning.throwaway import ThrowawaySite
from provisioning.users import set_password
from roomcast.broker import MosquittoProcess
from tests.conftest import admin_login, hub_with

pytestmark = pytest.mark.integration

PASSWORD = "correct horse battery staple"
ANA = "ana@school.example"


async def test_teachers_who_need_a_second_factor_are_told_what_to_do(
    site: ThrowawaySite, mosquitto: MosquittoProcess
) -> None:
    staff = site.layout.root.parent / "staff.csv"
    staff.write_text(f"name,email,rooms\nAna Lima,{ANA},101\n", encoding="utf-8")
    import_staff(site.layout.root, staff)
    set_password(site.layout.root, ANA, PASSWORD)
    link = new_link(site.layout.root, ANA)  # a new password drops the pending link
    async with (
        hub_with(site, totp_required_for=["admin", "teacher"]) as hub,
        httpx.AsyncClient(base_url=hub.api_url, timeout=10) as phone,
        httpx.AsyncClient(base_url=hub.api_url, timeout=10) as office,
    ):
        body = {"user": ANA, "password": PASSWORD, "kind": "page"}
        refused = await phone.post("/api/login", json=body)
        assert refused.status_code == 403 and not phone.cookies
        assert f"`roomcast provision user totp {ANA}`" in refused.json()["error"]

        by_link = await phone.post("/api/teacher/enrol", json={"user": ANA, "token": link.token})
        assert by_link.status_code == 403 and not phone.cookies
        assert "/teacher/login with your password and the 6-digit code" in by_link.text
        assert hub.store._db.execute("SELECT count(*) FROM used_links").fetchone() == (0,)

        login = await office.post("/api/login", json=admin_login(site, kind="console"))
        office.headers["X-CSRF-Token"] = login.json()["csrf"]
        new = {"user": "sub", "name": "Sam Sub", "rooms": ["101"]}
        added = await office.post("/api/teachers", json=new)
        assert added.status_code == 409 and "only IT can set up" in added.json()["error"]
        relinked = await office.post(f"/api/teachers/{ANA}/link", json={})
        assert relinked.status_code == 409 and "cannot sign a phone in" in relinked.text

        enrolled = enrol(site.layout.root, ANA)  # IT: `roomcast provision user totp ana...`
        asked = await phone.post("/api/login", json=body)
        assert asked.status_code == 401 and asked.json()["second_factor"] == "totp"
        code = current_code(enrolled.secret, time.time())
        opened = await phone.post("/api/login", json=body | {"otp": code})
        assert opened.status_code == 200, opened.text
        phone.headers["X-CSRF-Token"] = opened.json()["csrf"]
        assert (await phone.get("/api/teacher/rooms/101")).status_code == 200
        # The link still cannot sign a second phone in without the code.
        again = await office.post("/api/teacher/enrol", json={"user": ANA, "token": link.token})
        assert again.status_code == 403
        actions = [e["action"] for e in hub.store.audit_log()]
        assert "login refused (second factor not set up)" in actions
        assert "enrolment link refused (second factor)" in actions
