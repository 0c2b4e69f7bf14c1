"""The login rate limit behind a reverse proxy, over a real socket: X-Forwarded-For counts
only from a trusted proxy, so a made-up header cannot buy more guesses."""

from __future__ import annotations

import json

import httpx
import pytest

from hub.config import load_hub_config
from hub.service import HubService
from provisioning.fsutil import write_json
from provisioning.throwaway import ThrowawaySite
from roomcast.broker import MosquittoProcess
from tests.conftest import hub_with
from transport.settings import ConfigError

pytestmark = pytest.mark.integration

PROXY = "127.0.0.2"
"""The reverse proxy's address: the test's client binds to it (Linux routes 127/8 to lo)."""


def _wrong(site: ThrowawaySite) -> dict[str, str]:
    return {"user": site.admin_user, "password": "a wrong guess"}


async def _guesses(client: httpx.AsyncClient, body: dict[str, str], forwarded: str) -> list[int]:
    headers = {"X-Forwarded-For": forwarded}
    return [(await client.post("/api/login", json=body, headers=headers)).status_code]


async def test_a_spoofed_header_from_an_untrusted_address_does_not_escape_the_limit(
    site: ThrowawaySite, mosquitto: MosquittoProcess
) -> None:
    async with (
        hub_with(site, trusted_proxies=[PROXY]) as hub,
        httpx.AsyncClient(base_url=hub.api_url, timeout=30) as client,  # from 127.0.0.1
    ):
        codes = []
        for n in range(6):  # a new made-up address with every guess
            codes += await _guesses(client, _wrong(site), f"198.51.100.{n}")
        assert codes == [401] * 5 + [429]
        assert _failed_from(hub) == ["127.0.0.1"]


async def test_from_a_trusted_proxy_the_limit_is_per_forwarded_client(
    site: ThrowawaySite, mosquitto: MosquittoProcess
) -> None:
    proxy = httpx.AsyncHTTPTransport(local_address=PROXY)
    async with (
        hub_with(site, trusted_proxies=[PROXY, "10.0.0.0/8"]) as hub,
        httpx.AsyncClient(base_url=hub.api_url, transport=proxy, timeout=10) as client,
    ):
        codes = []
        for n in range(6):  # the attacker prepends a new address; the proxy appends theirs
            codes += await _guesses(client, _wrong(site), f"198.51.100.{n}, 203.0.113.5")
        assert codes == [401] * 5 + [429]
        # Another client behind the same proxy (and a second proxy) is not limited.
        other = await _guesses(client, _wrong(site), "203.0.113.6, 10.1.1.1")
        assert other == [401]
        assert _failed_from(hub) == ["203.0.113.5", "203.0.113.6"]


def _failed_from(hub: HubService) -> list[str]:
    """The client addresses the audit log gives for failed logins."""
    log = hub.store.audit_log()
    return sorted({e["detail"]["from"] for e in log if e["action"] == "login failed"})


async def test_a_bad_trusted_proxies_value_stops_the_hub_naming_the_key(
    site: ThrowawaySite,
) -> None:
    config = json.loads(site.hub.config.read_text(encoding="utf-8"))
    write_json(site.hub.config, config | {"trusted_proxies": ["10.0.0.0/8", "proxy.lan"]})
    with pytest.raises(ConfigError) as caught:
        load_hub_config(site.hub.config)
    assert str(caught.value) == (
        f"{site.hub.config}: trusted_proxies: 'proxy.lan' is not an IP address or CIDR "
        "(e.g. 127.0.0.1, 10.0.0.0/8)"
    )
