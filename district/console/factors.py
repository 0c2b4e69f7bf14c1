"""The district console's second factor: after the password, a TOTP code (or a recovery
code), or, for a user who must have one and has none, the school console's enrolment page.

A district safety officer's password alone could send a Lockdown to many schools, so the
roles that send (district-admin, safety-officer) need a second factor by default
(``totp_required_for`` in district.json may add viewer; leaving out a sender takes
``allow_directives_without_second_factor: true``). It is the school's own code: the same
steps after the password (hub.factor_login) and checks (hub.second_factor: a code once
per window, a recovery code once ever, wrong codes capped per user and counted against the
login limit), the same enrolment page and script (hub.console.enrol, enrol.html,
enrol.js), kept in the district's own ``second-factor.db`` (0600) in its state directory,
beside ``console.db``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from enum import StrEnum
from pathlib import Path

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from district.console.render import Pages
from district.console_store import ConsoleStore
from district.sessions import SESSION_TTL_S, DistrictPrincipal, DistrictSessions
from district.users import DistrictAccount
from hub.auth import LoginLimiter
from hub.console.enrol import enrol_page
from hub.factor_login import FactorLogin
from hub.second_factor import FILE_NAME, FactorStore, SecondFactor
from protocol.district_accounts import DistrictRole

NOT_ENROLLED = (
    "{user} must set up a second factor before using the command line: log in to the "
    "district console once (it shows a QR code to scan), or ask IT to run "
    "`roomcast provision district user totp {user}`"
)
WHY = {
    DistrictRole.ADMIN: "can send directives to many schools at once",
    DistrictRole.SAFETY_OFFICER: "can send directives to many schools at once",
    DistrictRole.VIEWER: "sees every school of the district",
}
"""What the enrolment page says the user's role can do, that a password alone must not."""


class DistrictFactors(FactorLogin[DistrictAccount, DistrictPrincipal]):
    def __init__(
        self,
        sessions: DistrictSessions,
        store: ConsoleStore,
        limiter: LoginLimiter,
        pages: Pages,
        *,
        state_dir: Path,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.factor_store = FactorStore(state_dir / FILE_NAME)
        required: frozenset[StrEnum] = frozenset(sessions.factor_roles)
        super().__init__(
            accounts=sessions.users,
            sessions=sessions,
            limiter=limiter,
            factors=SecondFactor(self.factor_store, required, clock=clock),
            audit=store,
            session_ttl_s=SESSION_TTL_S,
            not_enrolled={"cli": NOT_ENROLLED},
        )
        self.pages = pages

    def close(self) -> None:
        self.factor_store.close()

    async def page(self, request: Request) -> Response:
        """``GET /enrol``: the school console's enrolment page, for a district user."""
        found = self.enrolling(request)
        if found is None:
            return RedirectResponse("/login", status_code=303)
        _, principal = found
        return enrol_page(
            self.pages.text,
            self.pending.secret(principal.session),
            site=f"district {self.pages.district}",
            user=principal.user,
            role=principal.role.value,
            csrf=principal.csrf,
            language="en",
            why=(
                f"{principal.user}, your role ({principal.role.value}) "
                f"{WHY[principal.role]}, so every login also needs a code from an "
                "authenticator app on your phone (any TOTP app)."
            ),
        )
