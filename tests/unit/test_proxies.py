"""Who the client is behind a reverse proxy: X-Forwarded-For only from trusted proxies, and
only its right end."""

from __future__ import annotations

import pytest

from hub.proxies import TrustedProxies

PROXIES = TrustedProxies.parse(["127.0.0.1", "10.0.0.0/8", "fd00::/8"])


def test_a_peer_that_is_not_a_trusted_proxy_is_the_client_whatever_it_claims() -> None:
    assert PROXIES.client("192.0.2.7", ["203.0.113.9"]) == "192.0.2.7"
    assert TrustedProxies().client("127.0.0.1", ["203.0.113.9"]) == "127.0.0.1"  # default


def test_from_a_trusted_proxy_the_right_most_untrusted_address_is_the_client() -> None:
    assert PROXIES.client("127.0.0.1", ["203.0.113.9"]) == "203.0.113.9"
    # The browser wrote "1.2.3.4" itself; the proxy appended what it saw.
    assert PROXIES.client("127.0.0.1", ["1.2.3.4, 203.0.113.9"]) == "203.0.113.9"
    # Two proxies (the second on the hub machine), and several header lines.
    assert PROXIES.client("127.0.0.1", ["1.2.3.4", "203.0.113.9, 10.1.2.3"]) == "203.0.113.9"
    assert PROXIES.client("127.0.0.1", ["[2001:db8::5]:4711, fd00::1"]) == "2001:db8::5"
    assert PROXIES.client("10.9.9.9", ["198.51.100.2:5555"]) == "198.51.100.2"


def test_no_header_garbage_or_only_proxies_fall_back_to_a_trusted_hop() -> None:
    assert PROXIES.client("127.0.0.1", []) == "127.0.0.1"
    assert PROXIES.client("127.0.0.1", ["not-an-address, 10.0.0.5"]) == "10.0.0.5"
    assert PROXIES.client("127.0.0.1", ["10.0.0.6, 10.0.0.5"]) == "10.0.0.6"


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("127.0.0.1", "must be a list of addresses or CIDRs, not str"),
        (["10.0.0.0/33"], "'10.0.0.0/33' is not an IP address or CIDR"),
        (["proxy.school"], "'proxy.school' is not an IP address or CIDR"),
        ([8080], "8080 is not an address or CIDR"),
    ],
)
def test_a_bad_setting_says_what_is_wrong(value: object, problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        TrustedProxies.parse(value)
