"""CAP in, in a real headless Chromium against a real hub and broker: an NWS Tornado
Warning from a real feed server on loopback puts a banner on the page (live, without a
reload); its button opens the usual confirmation step with Shelter for tornado filled in;
nothing is issued until the office confirms; the audit log has what was seen and dismissed.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Iterator

import pytest
from playwright.async_api import expect

from hub.service import HubService
from provisioning.throwaway import ThrowawaySite
from roomcast.broker import MosquittoProcess
from tests.browser.conftest import OpenConsole, axe_violations
from tests.conftest import hub_with
from tests.weather_feed import Alert, FeedServer, feed_server, nws_json

pytestmark = [pytest.mark.browser, pytest.mark.integration]

TORNADO = Alert(
    id="urn:oid:2.49.0.1.840.0.tornado",
    headline="Tornado Warning issued December 2 at 4:02PM CST until 4:45PM CST by NWS Austin",
)


@pytest.fixture
def feed() -> Iterator[FeedServer]:
    with feed_server() as started:
        yield started


@pytest.fixture
async def hub(
    site: ThrowawaySite, mosquitto: MosquittoProcess, feed: FeedServer
) -> AsyncIterator[HubService]:
    """The shared hub, with relay.toml's [weather] pointing at the test's feed."""
    lines = ["[weather]", f'url = "{feed.url}"', 'zones = ["TXZ192"]', "poll_s = 15"]
    (site.hub.dir / "relay.toml").write_text("\n".join(lines) + "\n", encoding="utf-8")
    async with hub_with(site) as service:
        yield service


async def test_a_tornado_warning_proposes_shelter_and_issues_nothing_by_itself(
    hub: HubService, site: ThrowawaySite, feed: FeedServer, open_console: OpenConsole
) -> None:
    assert hub.weather is not None
    console = await open_console()
    page = console.page
    await console.login_as_admin(site)
    await console.goto("/devices")
    banner = page.locator("#weather .weather-alert")
    await expect(banner).to_have_count(0)
    feed.serve(nws_json([TORNADO]))
    hub.weather.poll_now()
    await expect(banner).to_contain_text("TORNADO WARNING")  # live, no reload
    await expect(banner).to_contain_text(TORNADO.title)
    await expect(banner).to_contain_text("Expires")
    propose = page.get_by_role("link", name=re.compile(r"^Propose Shelter for tornado"))
    await propose.click()
    await page.wait_for_url(re.compile(r"/issue/confirm\?"))
    await expect(page.locator("#confirm-h")).to_have_text("Confirm: SHELTER")
    await expect(page.locator("#from-weather")).to_contain_text("Tornado Warning")
    await expect(page.locator("#mode")).to_contain_text("REAL EMERGENCY")
    await expect(page.locator("#what")).to_contain_text(re.compile("tornado", re.IGNORECASE))
    await expect(page.locator("#what")).to_contain_text("Go to the shelter area")
    assert hub.engine.directives.latest_seq == 0, "nothing is issued before the confirmation"
    seen = [e for e in hub.store.audit_log() if e["action"] == "weather alert seen"]
    assert [e["detail"]["id"] for e in seen] == [TORNADO.id]

    await page.get_by_role("button", name="Dismiss the Tornado Warning banner").click()
    await expect(banner).to_have_count(0)
    dismissed = [e for e in hub.store.audit_log() if e["action"] == "weather alert dismissed"]
    assert [(e["user"], e["detail"]["id"]) for e in dismissed] == [(site.admin_user, TORNADO.id)]
    assert hub.engine.directives.latest_seq == 0


async def test_a_failing_feed_is_shown_to_the_office(
    hub: HubService, site: ThrowawaySite, feed: FeedServer, open_console: OpenConsole
) -> None:
    assert hub.weather is not None
    console = await open_console()
    await console.login_as_admin(site)
    feed.serve(b"<html>502</html>", "text/html")
    hub.weather.poll_now()
    source = console.page.locator("#weather [data-weather-source]")
    await expect(source).to_contain_text("Weather feed FAILING")
    await expect(source).to_contain_text("not JSON")


async def test_the_banner_passes_axe(
    hub: HubService, site: ThrowawaySite, feed: FeedServer, open_console: OpenConsole
) -> None:
    """WCAG 2.1 A/AA on a page with a banner and a failing-source line."""
    assert hub.weather is not None
    feed.serve(nws_json([TORNADO]))
    hub.weather.poll_now()
    console = await open_console(axe=True)
    await console.login_as_admin(site)
    await expect(console.page.locator("#weather .weather-alert")).to_have_count(1)
    assert await axe_violations(console.page) == []
