"""The district console in a real headless Chromium: login (a safety officer with the code
from the app, or enrolling one by QR code first), every school on one board
(schools in several states, unreachable ones impossible to miss, live updates), a
school's drill-down, the confirmation page (axe on both), and a district directive
confirmed in the browser reaching a real school hub over a real NATS cluster."""

from __future__ import annotations

import asyncio
import contextlib
import re
import socket
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pyotp
import pytest
import uvicorn
from playwright.async_api import Browser, expect
from starlette.types import ASGIApp

from district.board import DistrictBoard
from district.console.app import create_console_app
from district.store import DistrictStore
from protocol.district_accounts import DistrictRole
from protocol.srp import Action
from provisioning.district import DistrictLayout, init_district
from provisioning.district_config import NatsNode
from provisioning.district_users import add_user, users_file
from tests.browser.conftest import Console, axe_violations
from tests.district import conftest as district_fixtures
from tests.district.conftest import NatsCluster, district_client
from tests.district.console_kit import (
    PASSWORD,
    USERS,
    TotpClock,
    district_users,
    enrol_senders,
    hear,
    schools_in_several_states,
    summary,
    totp_secret,
)
from tests.district.schools import bridged, district_of
from tests.district.test_district_requests import ALL_SITES, every_room_confirms, start_all
from tests.district.test_district_service import district_service

SCHOOLS = ("adams", "grant", "lincoln", "polk", "taft")
district = district_fixtures.district
cluster = district_fixtures.cluster
"""The real district's fixtures (three nodes of nats-server), for the one test that sends."""
OFFICER = USERS[DistrictRole.SAFETY_OFFICER]


class _Server(uvicorn.Server):
    """uvicorn without its own signal handlers: pytest owns them."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


@contextlib.asynccontextmanager
async def serving(app: ASGIApp) -> AsyncIterator[str]:
    """The console's ASGI app under uvicorn on a free loopback port; its base URL."""
    listener = socket.create_server(("127.0.0.1", 0))
    server = _Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
    task = asyncio.create_task(server.serve(sockets=[listener]))
    try:  # listening already: a connection waits in the backlog until uvicorn accepts
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    finally:
        server.should_exit = server.force_exit = True  # an open live stream never ends
        await task
        listener.close()


async def open_console(browser: Browser, base: str) -> Console:
    # axe-core is injected as a script tag, which the console's CSP forbids (as it should).
    context = await browser.new_context(viewport={"width": 1280, "height": 900}, bypass_csp=True)
    return Console(context, await context.new_page(), base)


@pytest.fixture
def district_dir(tmp_path: Path) -> Path:
    node = NatsNode(name="n1", host="127.0.0.1", client_port=1, cluster_port=2, mqtt_port=3)
    layout = init_district(tmp_path / "district", "metro", [node])
    district_users(layout.root)
    enrol_senders(layout.root)
    return layout.root


def officer_secret(district_dir: Path) -> str:
    secret = totp_secret(district_dir, OFFICER)
    assert secret is not None, "the safety officer's second factor was set up by IT"
    return secret


async def test_the_board_the_drill_down_and_the_confirmation_page(
    browser: Browser, district_dir: Path, tmp_path: Path
) -> None:
    store = DistrictStore(tmp_path / "state" / "district.db")
    board = DistrictBoard(store=store, schools=SCHOOLS, clock=time.time)
    schools_in_several_states(board)
    clock = TotpClock()
    app, parts = create_console_app(
        district="metro", board=board, record=store, users_file=users_file(district_dir),
        state_dir=tmp_path / "state", sender=None, factor_clock=clock,
    )  # fmt: skip
    try:
        async with serving(app) as base:
            console = await open_console(browser, base)
            page = console.page
            await console.login(OFFICER, PASSWORD, clock.next_code(officer_secret(district_dir)))
            await expect(page.locator("#unreachable")).to_contain_text("2 schools UNREACHABLE")
            await expect(page.locator("#unreachable")).to_contain_text("taft")
            taft = page.locator("#school-taft")
            await expect(taft).to_contain_text("UNREACHABLE")
            await expect(taft).to_contain_text("Bridge down")
            lincoln = page.locator("#school-lincoln")
            await expect(lincoln).to_contain_text("LOCKDOWN")
            await expect(lincoln).to_contain_text("REAL")
            await expect(lincoln).to_contain_text("4 / 6 rooms confirmed")
            await expect(lincoln).to_contain_text("1 open panic alert")
            await expect(page.locator("#school-grant")).to_contain_text("DRILL")
            await expect(page.locator("#school-grant")).to_contain_text("Building north")
            assert await axe_violations(page) == []

            # Live: a panic at adams reaches the open board without a reload.
            hear(board, summary("adams", seq=2, alerts=1, alert_rooms=("201",)))
            await expect(page.locator("#school-adams")).to_contain_text("1 open panic alert")
            await expect(page.locator("#alerting")).to_contain_text("adams")

            await page.get_by_role("link", name="grant").click()
            await expect(page.get_by_role("heading", name="grant")).to_be_visible()
            await expect(page.locator("main")).to_contain_text("issued as #3")
            await expect(page.locator("main")).to_contain_text("n1, n2")
            await expect(page.locator("main")).to_contain_text("Read-only")

            await console.goto("/requests/new")
            await page.get_by_label("lincoln", exact=False).check()
            await page.get_by_label("grant").check()
            await page.get_by_label("EVACUATE", exact=True).check()
            await page.get_by_label("REAL - NOT A DRILL", exact=True).check()
            await page.get_by_label("Evacuate to").fill("the football field")
            await page.get_by_role("button", name="Review before sending").click()
            await expect(page.locator("#mode")).to_contain_text("REAL - NOT A DRILL")
            await expect(page.locator("#what")).to_contain_text("2 schools")
            await expect(page.locator("#what")).to_contain_text("14 rooms")
            await expect(page.locator("#schools")).to_contain_text("lincoln")
            send = page.locator("#send-request")
            await expect(send).to_be_disabled()
            await expect(send).to_contain_text("Send REAL - NOT A DRILL EVACUATE to 2 schools")
            assert await axe_violations(page) == []
            await page.get_by_label(re.compile("I have read this")).check()
            await expect(send).to_be_enabled()
            await console.context.close()
            assert console.unexpected_errors() == [], console.errors
    finally:
        parts.close()
        store.close()


async def test_a_safety_officer_with_no_second_factor_enrols_by_qr_code_first(
    browser: Browser, district_dir: Path, tmp_path: Path
) -> None:
    add_user(district_dir, "sam-safety", DistrictRole.SAFETY_OFFICER.value, PASSWORD)
    store = DistrictStore(tmp_path / "state" / "district.db")
    board = DistrictBoard(store=store, schools=SCHOOLS, clock=time.time)
    clock = TotpClock()
    app, parts = create_console_app(
        district="metro", board=board, record=store, users_file=users_file(district_dir),
        state_dir=tmp_path / "state", sender=None, factor_clock=clock,
    )  # fmt: skip
    try:
        async with serving(app) as base:
            console = await open_console(browser, base)
            page = console.page
            await page.goto(f"{base}/login")
            await page.get_by_label("User name").fill("sam-safety")
            await page.get_by_label("Password", exact=True).fill(PASSWORD)
            await page.get_by_role("button", name="Log in").click()
            await page.wait_for_url(f"{base}/enrol")
            await expect(page.locator("main")).to_contain_text("many schools at once")
            qr = page.get_by_role("img", name="QR code of the second-factor secret for sam-safety")
            await expect(qr).to_be_visible()
            assert await axe_violations(page) == []
            await console.goto("/requests/new")  # nothing opens before the code is confirmed
            await page.wait_for_url(f"{base}/login")
            await console.goto("/enrol")
            secret = (await page.locator("#secret").inner_text()).replace(" ", "")
            await page.get_by_label("Code the app shows now").fill(pyotp.TOTP(secret).at(clock()))
            await page.get_by_role("button", name="Confirm").click()
            await expect(page.locator("#recovery-codes li")).to_have_count(10)
            await page.get_by_role("link", name="Continue to the board").click()
            await page.wait_for_url(f"{base}/board")
            await expect(page.locator(".who")).to_contain_text("sam-safety (safety-officer)")
            await console.context.close()
            assert console.unexpected_errors() == [], console.errors
    finally:
        parts.close()
        store.close()


@pytest.mark.timeout(180)
async def test_a_district_directive_confirmed_in_the_browser_reaches_a_school_hub(
    browser: Browser, tmp_path: Path, district: DistrictLayout, cluster: NatsCluster
) -> None:
    district_users(district.root)
    enrol_senders(district.root)
    async with (
        district_of(
            tmp_path, district, lambda: start_all(cluster), ("lincoln", "adams"), rooms=2
        ) as schools,
        district_client(district.service, cluster.nodes[0], name="district-desk") as desk,
        district_service(district, cluster, tmp_path) as service,
    ):  # fmt: skip
        await desk.subscribe(ALL_SITES, qos=1)
        await bridged(desk, schools)
        console = await open_console(browser, service.api_url)
        page = console.page
        code = pyotp.TOTP(officer_secret(district.root)).now()  # the service's own clock
        await console.login(OFFICER, PASSWORD, code)
        await expect(page.locator("#school-lincoln")).to_contain_text("Bridge up")
        await console.goto("/requests/new")
        await page.get_by_label("lincoln", exact=False).check()
        await page.get_by_label("SECURE", exact=True).check()
        await page.get_by_label("DRILL (a practice)").check()
        await page.get_by_role("button", name="Review before sending").click()
        await expect(page.locator("#mode")).to_contain_text("DRILL")
        await expect(page.locator("#what")).to_contain_text("1 school")
        await page.get_by_label(re.compile("I have read this")).check()
        await page.locator("#send-request").click()
        await page.wait_for_url(re.compile(r"/requests/r-"))
        request_id = page.url.rsplit("/", 1)[1]
        directive = await every_room_confirms(schools[0], request_id)
        assert directive.drill and directive.action is Action.SECURE
        assert schools[1].running_hub.engine.directives.latest_seq == 0  # adams left alone
        row = page.locator("#outcomes tr", has_text="lincoln")
        await expect(row).to_contain_text("confirmed", timeout=30_000)
        await expect(row).to_contain_text("2 / 2")
        audit = service.console.store.audit_search()
        assert any(
            e["action"] == "district directive sent" and e["user"] == OFFICER
            and e["detail"]["request"] == request_id
            for e in audit
        )  # fmt: skip
        await console.context.close()
        assert console.unexpected_errors() == [], console.errors
