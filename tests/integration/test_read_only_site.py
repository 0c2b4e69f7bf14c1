"""A hub installed as the shipped unit runs it: the site's ``hub/`` directory read-only to the
hub (``ReadOnlyPaths=``), its state elsewhere. The console's writes to accounts still work,
kept in the hub's state directory: an admin adds a substitute teacher through the console's
CSRF path, the teacher's phone enrols by the link and presses and reports for their rooms
only, the language control works, both survive a restart, and a revoke ends the session.
``users.json`` is never touched (byte for byte)."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from hub.directives import DirectiveRequest
from hub.queries import open_alerts
from hub.service import HubService
from protocol.srp import Action
from provisioning.fsutil import write_json
from provisioning.throwaway import ThrowawaySite
from roomcast.broker import MosquittoProcess
from tests.conftest import admin_login, hub_with

pytestmark = pytest.mark.integration

SUBSTITUTE = "sub@school.example"


def _writable(directory: Path) -> bool:
    probe = directory / ".write-probe"
    try:
        probe.write_text("x")
    except OSError:
        return False
    probe.unlink()
    return True


def _chattr(flag: str, paths: list[Path]) -> None:
    chattr = shutil.which("chattr")
    if chattr is None:
        pytest.fail("run this test as a non-root user, or install e2fsprogs (chattr)")
    subprocess.run([chattr, flag, *map(str, paths)], check=True, capture_output=True)


@contextlib.contextmanager
def read_only(directory: Path) -> Iterator[None]:
    """``directory`` and its files as ``ReadOnlyPaths=`` leaves them: readable, not
    writable. Mode 0555/0444 for a normal user; root ignores modes, so for root the files
    are made immutable (``chattr +i``) instead."""
    paths = [directory, *[p for p in directory.iterdir() if p.is_file()]]
    modes = {path: path.stat().st_mode for path in paths}
    for path in paths:
        path.chmod(0o555 if path.is_dir() else 0o444)
    immutable = os.geteuid() == 0
    if immutable:
        _chattr("+i", paths)
    try:
        assert not _writable(directory), f"{directory} is still writable"
        yield
    finally:
        if immutable:
            _chattr("-i", paths)
        for path, mode in modes.items():
            path.chmod(mode)


async def test_a_hub_with_a_read_only_site_adds_a_teacher_and_keeps_it(
    site: ThrowawaySite, mosquitto: MosquittoProcess, tmp_path: Path
) -> None:
    users_file = site.layout.hub.users
    config = json.loads(site.hub.config.read_text(encoding="utf-8"))  # state outside the site,
    write_json(site.hub.config, config | {"state_dir": str(tmp_path / "state")})  # as systemd's
    before = users_file.read_bytes()
    with read_only(site.layout.hub.dir):
        async with (
            hub_with(site) as hub,
            httpx.AsyncClient(timeout=10) as office,
            httpx.AsyncClient(timeout=10) as phone,
        ):
            await _add_and_use_a_teacher(hub, site, office, phone)
            cookies = {"office": office.cookies, "phone": phone.cookies}
            office_csrf = office.headers["X-CSRF-Token"]
        # A restart; each browser comes back with its cookie on a new connection.
        async with (
            hub_with(site) as hub,
            httpx.AsyncClient(base_url=hub.api_url, cookies=cookies["office"]) as office,
            httpx.AsyncClient(base_url=hub.api_url, cookies=cookies["phone"]) as phone,
        ):
            office.headers["X-CSRF-Token"] = office_csrf
            assert (await phone.get("/api/teacher/rooms/103")).status_code == 200
            assert '<html lang="es">' in (await phone.get("/teacher")).text
            assert '<html lang="es">' in (await office.get("/board")).text
            listed = await office.get("/teachers")
            assert (
                SUBSTITUTE in listed.text and f"Agregado aquí por {site.admin_user}" in listed.text
            )  # in her language
            revoked = await office.post(f"/api/teachers/{SUBSTITUTE}/revoke", json={})
            assert revoked.json() == {"teacher": SUBSTITUTE, "sessions_ended": 1}
            assert (await phone.get("/api/teacher/rooms/103")).status_code == 401
            actions = [e["action"] for e in hub.store.audit_log()]
            assert {"teacher added", "teacher's sessions revoked"} <= set(actions)
    assert users_file.read_bytes() == before


async def _add_and_use_a_teacher(
    hub: HubService, site: ThrowawaySite, office: httpx.AsyncClient, phone: httpx.AsyncClient
) -> None:
    url = hub.api_url
    login = await office.post(f"{url}/api/login", json=admin_login(site, kind="console"))
    assert login.status_code == 200, login.text
    new = {"user": SUBSTITUTE, "name": "Sam Sub", "rooms": ["102", "103"]}
    forged = await office.post(f"{url}/api/teachers", json=new)  # no CSRF token: refused
    assert forged.status_code in (401, 403) and SUBSTITUTE not in hub.store.audit_users()
    office.headers["X-CSRF-Token"] = login.json()["csrf"]
    added = await office.post(f"{url}/api/teachers", json=new)
    assert added.status_code == 200, added.text
    token = added.json()["url"].rpartition("token=")[2]

    opened = await phone.post(f"{url}/api/teacher/enrol", json={"user": SUBSTITUTE, "token": token})
    assert opened.status_code == 200, opened.text
    csrf = opened.json()["csrf"]
    phone.headers["X-CSRF-Token"] = csrf
    press = await phone.post(f"{url}/api/teacher/rooms/102/panic", json={"press_id": "sub-press-1"})
    assert press.status_code == 200, press.text
    assert [(a["room"], a["device_id"]) for a in open_alerts(hub.store)] == [
        ("102", f"page:{SUBSTITUTE}")
    ]
    other = await phone.post(f"{url}/api/teacher/rooms/101/panic", json={"press_id": "sub-press-2"})
    assert other.status_code == 403
    directive = hub.engine.directives.issue(
        DirectiveRequest(action=Action.LOCKDOWN, drill=True), user="office"
    )
    report = {"seq": directive.seq, "missing": 1}
    sent = await phone.post(f"{url}/api/teacher/rooms/103/roll", json=report)
    assert sent.status_code == 200 and sent.json()["by"] == SUBSTITUTE, sent.text
    assert (await phone.post(f"{url}/api/teacher/rooms/101/roll", json=report)).status_code == 403

    chose = await phone.post(f"{url}/language", data={"language": "es", "csrf": csrf})
    assert chose.status_code == 303 and chose.headers["location"] == "/teacher"
    assert '<html lang="es">' in (await phone.get(f"{url}/teacher")).text
    office_choice = {"language": "es", "csrf": login.json()["csrf"]}
    assert (await office.post(f"{url}/language", data=office_choice)).status_code == 303
    assert '<html lang="es">' in (await office.get(f"{url}/board")).text
