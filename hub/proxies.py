"""Who the client really is when the console sits behind a reverse proxy.

``X-Forwarded-For`` is a list anyone can start: a browser may send
``X-Forwarded-For: 1.2.3.4`` itself, and every proxy on the way appends the address it saw.
So the header is believed only from the proxies the site lists (``trusted_proxies`` in
hub.json), and only from its right end: the right-most address that is not itself one of
those proxies is the client. Without that, anyone could escape the login rate limit by
sending a new made-up address with every guess.

uvicorn's own proxy handling is switched off (hub/service.py) and this middleware replaces
it, so one setting decides both the client address and the scheme (``X-Forwarded-Proto``,
which makes the session cookie ``Secure``), and no environment variable
(uvicorn's ``FORWARDED_ALLOW_IPS``) can widen the trust behind the site's back.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from starlette.types import ASGIApp, Receive, Scope, Send

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
_SCHEMES = {"http", "https"}


@dataclass(frozen=True)
class TrustedProxies:
    networks: tuple[Network, ...] = ()

    @classmethod
    def parse(cls, value: Any) -> TrustedProxies:
        """From the config's list of addresses and CIDRs; ValueError says which is bad."""
        if not isinstance(value, list):
            raise ValueError(f"must be a list of addresses or CIDRs, not {type(value).__name__}")
        networks = []
        for item in value:
            if not isinstance(item, str):
                raise ValueError(f"{item!r} is not an address or CIDR (a string)")
            try:
                networks.append(ipaddress.ip_network(item.strip(), strict=False))
            except ValueError:
                raise ValueError(
                    f"{item!r} is not an IP address or CIDR (e.g. 127.0.0.1, 10.0.0.0/8)"
                ) from None
        return cls(tuple(networks))

    def trusts(self, address: str) -> bool:
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return False
        return any(ip in network for network in self.networks)

    def client(self, peer: str, forwarded_for: Sequence[str]) -> str:
        """The client's address: the peer itself, unless the peer is a trusted proxy."""
        if not self.trusts(peer):
            return peer
        hops = [hop.strip() for value in forwarded_for for hop in value.split(",")]
        nearest = peer
        for hop in reversed([h for h in hops if h]):
            address = _address(hop)
            if address is None:
                # Garbage where a trusted proxy should have written its client: we cannot
                # tell who is behind, so they share the nearest trusted hop's limit.
                return nearest
            if not self.trusts(address):
                return address
            nearest = address
        return nearest  # only proxies all the way: the left-most is the best we know


def _address(hop: str) -> str | None:
    """``1.2.3.4``, ``1.2.3.4:5678``, ``[::1]:80`` or ``::1`` as a normalised address."""
    text = hop
    if text.startswith("[") and "]" in text:
        text = text[1 : text.index("]")]
    elif text.count(":") == 1:
        text = text.partition(":")[0]
    try:
        return str(ipaddress.ip_address(text))
    except ValueError:
        return None


class ForwardedFor:
    """ASGI middleware: ``scope["client"]`` and ``scope["scheme"]`` as the trusted proxy
    reports them; untouched for a request that did not come through one."""

    def __init__(self, app: ASGIApp, *, trusted: TrustedProxies) -> None:
        self.app, self.trusted = app, trusted

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        peer = scope.get("client")
        if scope["type"] == "http" and peer and self.trusted.trusts(peer[0]):
            headers: Iterable[tuple[bytes, bytes]] = scope["headers"]
            forwarded = [v.decode("latin-1") for n, v in headers if n == b"x-forwarded-for"]
            proto = [v.decode("latin-1").strip() for n, v in headers if n == b"x-forwarded-proto"]
            scope = dict(scope)
            scope["client"] = (self.trusted.client(peer[0], forwarded), 0)
            if proto and proto[-1] in _SCHEMES:
                scope["scheme"] = proto[-1]
        await self.app(scope, receive, send)
