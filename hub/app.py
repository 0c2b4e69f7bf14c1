"""The hub's web app: the JSON API and the console's pages, served by one Starlette app.

This module is where the two meet: each builds its routes from the same parts and the same
gate (:mod:`hub.access`), and neither imports the other. Every response carries the
security headers of :mod:`hub.console.security`.
"""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.middleware import Middleware

from hub.access import Access
from hub.api import api_routes
from hub.auth import LoginLimiter, Sessions, Users
from hub.cap_feed import cap_routes
from hub.console.routes import console_routes
from hub.console.security import SecurityHeaders
from hub.console_control import ConsoleControl
from hub.console_edits import FILE_NAME, ConsoleEdits
from hub.login import Logins
from hub.parts import HubParts
from hub.proxies import ForwardedFor


def create_app(parts: HubParts) -> Starlette:
    """Build the ASGI app around a running hub's parts: the API and the console's pages."""
    config = parts.config
    users = Users(config.users_file, ConsoleEdits(config.state_dir / FILE_NAME))
    sessions = Sessions(parts.store, users, factor_roles=config.totp_required_for)
    control = ConsoleControl(parts.store, parts.bus, lapse_s=config.control_lapse_s)
    access = Access(sessions, control)
    logins = Logins(
        config=config, store=parts.store, users=users, sessions=sessions, limiter=LoginLimiter()
    )
    return Starlette(
        routes=[
            *api_routes(parts, access, logins),
            *console_routes(parts, access, logins),
            *cap_routes(parts, access),  # /cap/...: only with a relay.toml
        ],
        middleware=[
            Middleware(ForwardedFor, trusted=config.trusted_proxies),
            Middleware(SecurityHeaders),
        ],
    )
