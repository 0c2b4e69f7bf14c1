"""The second-factor enrolment page: after the password, before the session is usable.

A user whose role needs a second factor but who has none yet gets an ``enrol`` session at
login (hub.login). This page shows them a fresh secret as a QR code (an inline SVG, which
the Content-Security-Policy allows as a ``data:`` image) and as text; ``POST /api/enrol``
with a code from their app confirms it and turns the session into a console session.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import segno
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from hub.console.base import Console
from hub.login import Logins
from protocol.factors import otpauth_uri


class EnrolPage:
    def __init__(self, logins: Logins, console: Console) -> None:
        self.logins, self.console = logins, console

    async def show(self, request: Request) -> Response:
        found = self.logins.enrolling(request)
        account = None if found is None else self.logins.users.account(found[1].user)
        if found is None or account is None:
            return RedirectResponse("/login", status_code=303)
        _, principal = found
        secret = self.logins.pending.secret(principal.session)
        return enrol_page(
            self.console.render.text,
            secret,
            site=self.console.site,
            user=principal.user,
            role=account.role.value,
            csrf=principal.csrf,
            language=account.language,
        )


def enrol_page(
    render: Callable[..., str], secret: str, *, site: str, user: str, **context: Any
) -> HTMLResponse:
    """``enrol.html`` for ``secret`` (the school's console and the district's): its QR code
    names ``Roomcast <site>`` in the app; ``context`` has role, csrf, language (and, at the
    district, ``why``: what the role can do that needs a second factor)."""
    uri = otpauth_uri(secret, user, site)
    page = render(
        "enrol.html",
        site=site,
        user=user,
        qr=segno.make(uri, error="m").svg_data_uri(scale=5, border=4),
        secret_groups=" ".join(secret[i : i + 4] for i in range(0, len(secret), 4)),
        **context,
    )
    response = HTMLResponse(page)
    response.headers["cache-control"] = "no-store"  # the secret must not be cached
    return response
