"""The hub's HTTP API as the command line uses it, with errors a person can act on."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from provisioning.fsutil import write_private
from roomcast.handle import ClientError

__all__ = [
    "ClientError",
    "HubClient",
    "SecondFactorNeeded",
    "login",
    "read_token",
    "write_secret",
]


class SecondFactorNeeded(ClientError):
    """The password was right; the account also needs a code from the authenticator app."""


@dataclass(frozen=True)
class HubClient:
    url: str
    token: str
    timeout_s: float = 10.0

    def get(self, path: str) -> Any:
        return self._request("GET", path)

    def post(self, path: str, body: dict[str, Any] | None = None) -> Any:
        return self._request("POST", path, body or {})

    def _request(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        try:
            response = httpx.request(
                method,
                self.url.rstrip("/") + path,
                json=body,
                headers={"Authorization": f"Bearer {self.token}"} if self.token else {},
                timeout=self.timeout_s,
            )
        except httpx.TransportError as error:
            raise ClientError(
                f"cannot reach the hub at {self.url} ({error.__class__.__name__}): "
                "is `roomcast demo` or the hub service running?"
            ) from None
        try:
            payload = response.json()
        except json.JSONDecodeError:
            payload = {"error": response.text[:200]}
        if response.status_code >= 400:
            message = payload.get("error") if isinstance(payload, dict) else None
            refused = f"the hub refused: {message or response.reason_phrase}"
            if isinstance(payload, dict) and payload.get("second_factor"):
                raise SecondFactorNeeded(refused)
            raise ClientError(refused)
        return payload


def read_token(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        raise ClientError(f"no session token at {path}; log in with `roomcast login`") from None


def login(url: str, user: str, password: str, otp: str | None = None) -> str:
    """A command-line session token for ``user`` at the hub.

    ``otp`` is the code from the user's authenticator app (or a recovery code); without it,
    an account that needs one raises :class:`SecondFactorNeeded`, so the caller can ask.
    """
    body = {"user": user, "password": password} | ({"otp": otp} if otp else {})
    reply = HubClient(url, "").post("/api/login", body)
    return str(reply["token"])


def write_secret(path: Path, text: str) -> None:
    """Replace ``path`` atomically with one line of ``text``, mode 0600 from the first byte."""
    path.parent.mkdir(parents=True, exist_ok=True)
    write_private(path, (text + "\n").encode())
