"""``roomcast login`` against a real hub: the password, then the code when the hub needs one
(asked for only then, or given by --otp / ROOMCAST_OTP)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from hub.service import HubService
from provisioning import add_user
from provisioning.throwaway import ThrowawaySite
from roomcast.cli import main
from roomcast.client import SecondFactorNeeded, login

pytestmark = pytest.mark.integration

PASSWORD = "correct horse battery staple"


class Prompts:
    """getpass as a person answers it: the password, then the code when asked for one."""

    def __init__(self) -> None:
        self.asked: list[str] = []
        self.answers: dict[str, str] = {}

    def __call__(self, prompt: str) -> str:
        self.asked.append(prompt)
        return self.answers["code" if "code" in prompt else "password"]

    def words(self) -> list[str]:
        return [prompt.split()[0] for prompt in self.asked]


@pytest.fixture
def prompts(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Prompts:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.delenv("ROOMCAST_OTP", raising=False)
    fake = Prompts()
    monkeypatch.setattr("getpass.getpass", fake)
    return fake


async def _roomcast(*argv: str) -> int:
    return await asyncio.to_thread(main, list(argv))  # the hub runs on this loop


async def test_login_asks_for_the_code_only_when_the_hub_needs_one(
    site: ThrowawaySite,
    hub: HubService,
    prompts: Prompts,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    add_user(site.layout.root, "ana", "office", PASSWORD)
    prompts.answers["password"] = PASSWORD
    assert await _roomcast("login", "--hub", hub.api_url, "--user", "ana") == 0
    assert prompts.words() == ["password"]  # no second factor: no second question

    prompts.answers |= {"password": site.admin_password, "code": site.admin_code()}
    assert await _roomcast("login", "--hub", hub.api_url, "--user", site.admin_user) == 0
    assert prompts.words()[1:] == ["password", "code"]
    saved = json.loads((tmp_path / "config" / "roomcast" / "session.json").read_text())
    assert saved["hub"] == hub.api_url and saved["token"].startswith("rc1.")

    monkeypatch.setenv("ROOMCAST_OTP", site.admin_recovery_codes[0])  # a script, say
    assert await _roomcast("login", "--hub", hub.api_url, "--user", site.admin_user) == 0
    assert prompts.words()[3:] == ["password"]  # the code came from the environment
    # The same recovery code again: refused, with the hub's reason and no prompt.
    assert await _roomcast("login", "--hub", hub.api_url, "--user", site.admin_user) == 2
    assert prompts.words()[4:] == ["password"]


async def test_the_client_library_says_when_a_code_is_needed(
    site: ThrowawaySite, hub: HubService
) -> None:
    with pytest.raises(SecondFactorNeeded, match="needs a second-factor code"):
        await asyncio.to_thread(login, hub.api_url, site.admin_user, site.admin_password)
    token = await asyncio.to_thread(
        login, hub.api_url, site.admin_user, site.admin_password, site.admin_code()
    )
    assert token.startswith("rc1.")
