"""What the district console's tests share: one district user per role (written by the
provisioning code IT runs), and schools in several states fed to a real board through
the very entry point the service's MQTT link calls (``DistrictBoard.on_message``)."""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx

from district.board import DistrictBoard
from protocol.codec import encode
from protocol.district import DistrictSummary, RequestOutcome, SummaryDirective
from protocol.district_accounts import DistrictRole
from protocol.factors import STEP_S, current_code
from protocol.messages import HubState
from protocol.srp import Action
from protocol.topics import DistrictChannel, ScopeKind, Topics
from provisioning.district_users import add_user, enrol_totp, users_file

USERS = {
    DistrictRole.ADMIN: "ann-admin",
    DistrictRole.SAFETY_OFFICER: "kim-safety",
    DistrictRole.VIEWER: "val-viewer",
}
PASSWORD = "correct horse battery staple"
T_SCHOOL = 1_700_000_000.0
"""A school's clock in its summaries (the district judges links by arrival, never by it)."""


def district_users(district_dir: Path) -> dict[DistrictRole, str]:
    """One user per district role, all with :data:`PASSWORD`; role -> user name."""
    for role, name in USERS.items():
        add_user(district_dir, name, role.value, PASSWORD)
    add_user(district_dir, "kim2-safety", DistrictRole.SAFETY_OFFICER.value, PASSWORD)
    return dict(USERS)


SENDERS = ("ann-admin", "kim-safety", "kim2-safety")
"""The users whose role sends directives: each needs a second factor."""


def enrol_senders(district_dir: Path) -> None:
    """IT sets up a second factor for each sender (``provision district user totp``)."""
    for name in SENDERS:
        enrol_totp(district_dir, name)


def totp_secret(district_dir: Path, name: str) -> str | None:
    """The TOTP secret IT set up for ``name`` (what their phone holds), if any."""
    users = json.loads(users_file(district_dir).read_text(encoding="utf-8"))["users"]
    totp = users[name].get("totp")
    return None if totp is None else str(totp["secret"])


class TotpClock:
    """The second factor's clock in a test: each :meth:`next_code` moves it one 30-s step
    on, so every login has a fresh code (a code is accepted only once) without a sleep."""

    def __init__(self, start: float = T_SCHOOL) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def next_code(self, secret: str) -> str:
        self.now += STEP_S
        return current_code(secret, self.now)


def summary(site: str, seq: int = 1, **changes: Any) -> DistrictSummary:
    fields: dict[str, Any] = {
        "site": site, "seq": seq, "epoch": 1, "time": T_SCHOOL, "heartbeat_s": 10.0,
        "rooms": 6, "in_force": 0, "confirmed": 0, "alerts": 0, "offline": 0,
    }  # fmt: skip
    return DistrictSummary(**(fields | changes))


def directive(seq: int, action: Action, **changes: Any) -> SummaryDirective:
    fields: dict[str, Any] = {
        "seq": seq, "action": action, "scope": ScopeKind.SITE, "drill": False,
        "issued_at": T_SCHOOL, "confirmed": 6, "total": 6,
    }  # fmt: skip
    return SummaryDirective(**(fields | changes))


def hear(
    board: DistrictBoard, message: DistrictSummary, *, hub: bool = True, bridge: bool = True
) -> None:
    """A school's hub state, bridge state and summary, as its bridge carries them out."""
    topics = Topics(message.site)
    state = HubState(online=hub, epoch=1, heartbeat_s=5.0, time=T_SCHOOL)
    board.on_message(topics.hub_state, encode(state))
    board.on_message(topics.district(DistrictChannel.BRIDGE), b"1" if bridge else b"0")
    board.on_message(topics.district(DistrictChannel.SUMMARY), encode(message))


def schools_in_several_states(board: DistrictBoard) -> None:
    """adams: quiet; lincoln: a REAL Lockdown (4 of 6 confirmed: 103 and 104 not yet) and
    an open panic in 104;
    grant: a DRILL Secure in building north from a district request, 2 rooms offline;
    taft: its bridge said 0 (unreachable); polk (if a school): never heard from."""
    hear(board, summary("adams"))
    lockdown = directive(7, Action.LOCKDOWN, confirmed=4, pending_rooms=("103", "104"))
    hear(
        board,
        summary(
            "lincoln", rooms=6, in_force=6, confirmed=4, directives=(lockdown,),
            alerts=1, alert_rooms=("104",),
        ),
    )  # fmt: skip
    secure = directive(
        3, Action.SECURE, scope=ScopeKind.BUILDING, target="north", drill=True,
        confirmed=1, total=3, request="r-drill-1",
    )  # fmt: skip
    outcome = RequestOutcome(request_id="r-drill-1", at=T_SCHOOL, issued=True, seq=3)
    hear(
        board,
        summary(
            "grant", rooms=8, in_force=3, confirmed=1, directives=(secure,), offline=2,
            offline_rooms=("n1", "n2"), requests=(outcome,),
        ),
    )  # fmt: skip
    hear(board, summary("taft"), bridge=False)


@contextlib.asynccontextmanager
async def api_client(
    base_url: str, *, user: str = USERS[DistrictRole.VIEWER]
) -> AsyncIterator[httpx.AsyncClient]:
    """A client of the district's JSON API with a bearer token (``kind: cli``): the API is
    behind a session like the console."""
    async with httpx.AsyncClient(base_url=base_url) as client:
        login = {"user": user, "password": PASSWORD, "kind": "cli"}
        response = await client.post("/api/login", json=login)
        response.raise_for_status()
        client.headers["Authorization"] = f"Bearer {response.json()['token']}"
        yield client
