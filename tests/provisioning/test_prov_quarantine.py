"""The privileged step of a cut-off (provisioning.quarantine): the hub's request, checked."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from provisioning.devices import revoke
from provisioning.quarantine import QuarantineRequestError, apply_quarantine, read_request
from provisioning.site import SiteLayout, open_site


def _request(path: Path, devices: dict[str, float], version: int = 1) -> Path:
    body = {d: {"room": "x", "since": 0, "until": u, "messages": 1} for d, u in devices.items()}
    request = {"format": 1, "version": version, "devices": body}
    path.write_text(json.dumps(request), encoding="utf-8")
    return path


def _block(layout: SiteLayout, device_id: str) -> list[str]:
    blocks = layout.broker.acl.read_text(encoding="utf-8").split("\n\n")
    (block,) = [b for b in blocks if b.startswith(f"user {device_id}\n")]
    return block.splitlines()


def _writes(layout: SiteLayout, device_id: str) -> list[str]:
    return [line for line in _block(layout, device_id) if line.startswith("topic write")]


def test_a_cut_off_takes_only_the_devices_write_grants(
    equipped_site: SiteLayout, tmp_path: Path
) -> None:
    _, inventory = open_site(equipped_site.root)
    rogue, *others = sorted(inventory.active_devices())
    soon = time.time() + 600
    applied = apply_quarantine(equipped_site.root, _request(tmp_path / "q.json", {rogue: soon}))
    assert applied.cut_off == {rogue: soon}
    assert _writes(equipped_site, rogue) == []
    assert [line for line in _block(equipped_site, rogue) if line.startswith("topic read")]
    assert all(_writes(equipped_site, other) for other in others)


def test_a_request_can_only_take_grants_away(equipped_site: SiteLayout, tmp_path: Path) -> None:
    before = equipped_site.broker.acl.read_text(encoding="utf-8")
    request = _request(tmp_path / "q.json", {"hub": 2e9, "rc-999-made-up": 2e9, "../acl": 2e9})
    applied = apply_quarantine(equipped_site.root, request)
    assert applied.cut_off == {}
    assert applied.ignored == ["../acl", "hub", "rc-999-made-up"]
    assert equipped_site.broker.acl.read_text(encoding="utf-8") == before


def test_an_ended_cut_off_gives_the_grants_back(equipped_site: SiteLayout, tmp_path: Path) -> None:
    _, inventory = open_site(equipped_site.root)
    rogue = sorted(inventory.active_devices())[0]
    request = _request(tmp_path / "q.json", {rogue: time.time() + 600})
    apply_quarantine(equipped_site.root, request)
    apply_quarantine(equipped_site.root, request, now=lambda: time.time() + 601)
    assert _writes(equipped_site, rogue)


def test_a_revocation_meanwhile_keeps_other_cut_offs(
    equipped_site: SiteLayout, tmp_path: Path
) -> None:
    _, inventory = open_site(equipped_site.root)
    rogue, victim, *_ = sorted(inventory.active_devices())
    apply_quarantine(equipped_site.root, _request(tmp_path / "q.json", {rogue: time.time() + 600}))
    revoke(equipped_site.root, victim)
    assert _writes(equipped_site, rogue) == []


@pytest.mark.parametrize(
    "text", ["", "[]", '{"devices": {"rc-1": {"until": "soon"}}}', '{"devices": 3}', "{" * 10]
)
def test_a_broken_request_changes_nothing_and_says_which_file(tmp_path: Path, text: str) -> None:
    path = tmp_path / "q.json"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(QuarantineRequestError, match=str(path)):
        read_request(path, time.time())


def test_an_oversized_request_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "q.json"
    path.write_bytes(b" " * (1 << 20) + b"{}")
    with pytest.raises(QuarantineRequestError, match="over"):
        read_request(path, time.time())


def test_no_request_means_nothing_cut_off(tmp_path: Path) -> None:
    assert read_request(tmp_path / "none.json", time.time()).cut_off == {}


def test_the_confirmation_names_the_request_it_applied(
    equipped_site: SiteLayout, tmp_path: Path
) -> None:
    _, inventory = open_site(equipped_site.root)
    rogue = sorted(inventory.active_devices())[0]
    request = _request(tmp_path / "q.json", {rogue: time.time() + 600}, version=7)
    confirmation = tmp_path / "quarantine.applied"
    apply_quarantine(equipped_site.root, request, confirmation=confirmation)
    done = json.loads(confirmation.read_text(encoding="utf-8"))
    assert done["version"] == 7 and list(done["cut_off"]) == [rogue]
