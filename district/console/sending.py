"""What the console needs beyond the board to send a district action: the district's
named groups (read fresh for every preview: IT may change them with the command line
while the service runs) and the service's link and key to send with (district.requests).

The console previews in one HTTP request and sends in the next: the page posts back what
it showed, sealed with an HMAC and the time it was made (district.console.confirmation);
the send checks the seal, recomputes the preview, and is refused if the page is over two
minutes old or anything it showed changed (the schools, a school's link, rooms, what is
in force, the warnings), so what is sent is what the user read. The request id comes
from the seal: the same confirmation sent twice is one request.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from district.preview import Preview
from district.requests import send
from district.store import DistrictStore
from transport.link import Link

GroupMap = Mapping[str, Sequence[str]]


class Groups(Protocol):
    """The district's named groups of schools (district.json ``groups``), kept by
    provisioning; the command that starts the service hands them in (roomcast)."""

    def current(self) -> GroupMap:
        """Every group now; raises ValueError (its message says what to fix) if the file
        cannot be read."""
        ...

    def set(self, name: str, schools: Sequence[str]) -> tuple[str, ...]:
        """Make or replace a group; ValueError (what to fix) or OSError (not writable)."""
        ...

    def remove(self, name: str) -> None: ...


@dataclass
class NoGroups:
    """A district without a groups file to read (tests, a console without provisioning)."""

    groups: dict[str, tuple[str, ...]] = field(default_factory=dict)

    def current(self) -> GroupMap:
        return self.groups

    def set(self, name: str, schools: Sequence[str]) -> tuple[str, ...]:
        self.groups[name] = tuple(schools)
        return self.groups[name]

    def remove(self, name: str) -> None:
        self.groups.pop(name, None)


@dataclass(frozen=True)
class Sender:
    link: Link
    key: Ed25519PrivateKey
    store: DistrictStore
    district: str
    clock: Callable[[], float] = time.time

    def send(self, confirmed: Preview, *, request_id: str | None = None) -> str:
        """Sign, record and publish one request per school of the preview; its id."""
        return send(
            confirmed, link=self.link, key=self.key, store=self.store,
            district=self.district, clock=self.clock, request_id=request_id,
        )  # fmt: skip
