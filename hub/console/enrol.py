"""The second-factor enrolment page: after the password, before the session is usable.

A user whose role needs a second factor but who has none yet gets an ``enrol`` session at
login (hub.login). This page shows them a fresh secret as a QR code (an inline SVG, which
the Content-Security-Policy allows as a ``data:`` image) and as text; ``POST /api/enrol``
with a code from their app confirms it and turns the session into a console session.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import segno
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from hub.console.render import Renderer
from protocol.factors import otpauth_uri

if TYPE_CHECKING:
    from hub.api import Api


class EnrolPage:
    def __init__(self, api: Api, render: Renderer) -> None:
        self.api, self.render = api, render

    async def show(self, request: Request) -> Response:
        found = self.api.logins.enrolling(request)
        account = None if found is None else self.api.users.account(found[1].user)
        if found is None or account is None:
            return RedirectResponse("/login", status_code=303)
        _, principal = found
        site = self.api.hub.campus.inventory.site
        secret = self.api.logins.pending.secret(principal.session)
        uri = otpauth_uri(secret, principal.user, site)
        page = self.render.text(
            "enrol.html",
            site=site,
            user=principal.user,
            role=account.role.value,
            csrf=principal.csrf,
            qr=segno.make(uri, error="m").svg_data_uri(scale=5, border=4),
            secret_groups=" ".join(secret[i : i + 4] for i in range(0, len(secret), 4)),
        )
        response = HTMLResponse(page)
        response.headers["cache-control"] = "no-store"  # the secret must not be cached
        return response
